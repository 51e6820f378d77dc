"""``GET /api/v1/queue``: the grading queue's depth, its oldest waiting task, the live workers."""

from __future__ import annotations

from dataclasses import asdict

from spectree import Response

from grader.service import jobs
from grader.service.db import get_session
from grader.service.queue import grading_queue
from grader.web.api import bp
from grader.web.api.schemas import ErrorOut, QueueOut
from grader.web.api.spec import spec
from grader.web.auth import current_instructor


@bp.get("/queue")
@spec.validate(resp=Response(HTTP_200=QueueOut, HTTP_401=ErrorOut, HTTP_403=ErrorOut), tags=["service"])
def queue_status() -> QueueOut:
    """How the grading keeps up (instructors): as `grader queue status` prints it."""
    current_instructor()
    queue = grading_queue()
    if queue.grades_elsewhere:

        return QueueOut(queue="procrastinate", **asdict(queue.status()))
    counts = jobs.counts(get_session())
    return QueueOut(queue="local", waiting=counts.get("queued", 0), running=counts.get("running", 0),
                    failed=counts.get("failed", 0), oldest_waiting_since=None, live_workers=None)
