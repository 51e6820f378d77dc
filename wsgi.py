"""The WSGI entry point, for gunicorn with the grader's configuration and hooks::

    gunicorn -c python:grader.server.config wsgi:app

``grader serve`` runs the same. The configuration's hooks migrate the database at
start and run each worker's grading queue; under another server, run ``grader db
upgrade`` first and start the queue yourself (``grading_queue(app).start()``).
"""

from grader.web import create_app

app = create_app()
