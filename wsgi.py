"""The WSGI entry point for any WSGI server, e.g. ``waitress-serve wsgi:app``.

``grader serve`` does the same with waitress, in one process per core; either way the
database is migrated and the grading jobs an earlier process left unfinished are graded.
"""

from grader.server import start_job_runner
from grader.web import create_app

app = create_app()
start_job_runner(app)
