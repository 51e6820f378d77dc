"""The procrastinate app of the queue benchmark's floor (``bench_queue.procrastinate_floor``)
and its one task, which does nothing.

In a module of their own, which the benchmark's script imports: an app made in the script,
the main module, is one procrastinate warns of (its documentation's "top-level app"). The
connector is the benchmark's to give, with ``app.replace_connector``.
"""

from __future__ import annotations

import procrastinate

app = procrastinate.App(connector=procrastinate.PsycopgConnector())


@app.task(name="nothing", queue="floor")
def nothing(n: int) -> None:
    """Sync, as the grading task: run in a thread of the worker's."""
