"""procrastinate's own tables on the grader's database, and what they say about the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from grader.service.models import GradingJob

# any numbers, the same in every process: taken while the schema is written, while orphans
# are adopted
SCHEMA_LOCK = 0x67726164
ADOPT_LOCK = SCHEMA_LOCK + 1
TASK_NAME = "grade_submission"
QUEUE_NAME = "grading"


def conninfo(database_url: str) -> str:
    """libpq's form of a SQLAlchemy URL (``postgresql+psycopg://...``), as psycopg takes it."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"the procrastinate queue needs PostgreSQL, not {url.get_backend_name()}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(database_url: str) -> bool:
    """Write procrastinate's schema into the database unless it is there; whether it was written."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            # two workers starting at once: the second waits, then finds the tables
            connection.execute(sa.select(sa.func.pg_advisory_lock(SCHEMA_LOCK)))
            try:
                if sa.inspect(connection).has_table("procrastinate_jobs"):
                    return False
                app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(
                    conninfo=conninfo(database_url), min_size=1, max_size=1))
                with app.open():
                    app.schema_manager.apply_schema()
                return True
            finally:
                connection.execute(sa.select(sa.func.pg_advisory_unlock(SCHEMA_LOCK)))
                connection.commit()
    finally:
        engine.dispose()


JOBS = sa.table(
    "procrastinate_jobs", sa.column("id"), sa.column("status"), sa.column("queue_name"),
    sa.column("task_name"), sa.column("args", JSONB),
)
ARGS = JOBS.c.args


def defer_grading(app: procrastinate.App, driver_connection: Any, submission_id: int) -> None:
    """Defer the grading task of ``submission_id`` on ``driver_connection`` (psycopg's): its
    INSERT joins that connection's transaction, and commits or rolls back with it."""
    app.configure_task(TASK_NAME, queue=QUEUE_NAME, connection=driver_connection).defer(
        submission_id=submission_id
    )


def adopt_orphans(database_url: str) -> int:
    """Give a task to every grading that waits without one, and say how many.

    Gradings stored while the service graded in process (before ``GRADER_QUEUE`` became
    procrastinate) have a job but no task: no worker would ever take them.
    """
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url)))
    has_task = sa.exists().where(
        JOBS.c.task_name == TASK_NAME,
        sa.cast(JOBS.c.status, sa.Text).in_(("todo", "doing")),
        sa.cast(ARGS["submission_id"].astext, sa.Integer) == GradingJob.submission_id,
    )
    try:
        with engine.begin() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(ADOPT_LOCK)))  # one at a time
            orphans = connection.scalars(
                sa.select(GradingJob.submission_id)
                .where(GradingJob.state.in_(("queued", "running")), ~has_task)
                .order_by(GradingJob.id)
            ).all()
            if not orphans:
                return 0
            connection.execute(
                sa.update(GradingJob)
                .where(GradingJob.submission_id.in_(orphans))
                .values(state="queued", lease_owner=None, lease_expires_at=None)
            )
            for submission_id in orphans:
                defer_grading(app, connection.connection.driver_connection, submission_id)
        return len(orphans)
    finally:
        engine.dispose()


# A deadline's backlog grows faster than autovacuum analyzes (a minute apart by default).
# Meanwhile PostgreSQL plans procrastinate's fetch as for the small table it last saw, and
# sorts the whole backlog at every fetch: a fetch costs in proportion to the backlog
# (procrastinate issue #1242). Statistics taken once the backlog is there plan an index scan.
STALE_ROWS = 100  # rows beyond which a table counted as (nearly) empty is analyzed
STALE_GROWTH = 2  # times the rows last counted
COUNTED = sa.text("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'procrastinate_jobs'::regclass")
AT_LEAST = sa.text("SELECT count(*) FROM (SELECT FROM procrastinate_jobs LIMIT :rows) AS taken")


def refresh_statistics(connection: sa.Connection) -> bool:
    """ANALYZE procrastinate's jobs table where it grew well past the rows its statistics
    counted; whether it did. Counts no further than that threshold, so the look is cheap."""
    threshold = max(STALE_ROWS, STALE_GROWTH * int(connection.scalar(COUNTED) or 0))
    if connection.scalar(AT_LEAST, {"rows": threshold}) < threshold:
        return False
    connection.execute(sa.text("ANALYZE procrastinate_jobs"))
    return True


@dataclass(frozen=True)
class QueueStatus:
    """The queue as an operator sees it."""

    waiting: int  # tasks to do, scheduled ones included
    running: int
    failed: int  # gradings given up on, until an instructor regrades them
    oldest_waiting_since: datetime | None
    live_workers: int


EVENTS = sa.table("procrastinate_events", sa.column("job_id"), sa.column("type"), sa.column("at"))
WORKERS = sa.table("procrastinate_workers", sa.column("id"), sa.column("last_heartbeat"))


def queue_status(connection: sa.Connection, stalled_seconds: float) -> QueueStatus:
    """Depth, oldest waiting task and live workers, read from procrastinate's tables; the
    gradings given up on from the grader's own. Only the grading task counts: the queue's
    upkeep is no work waiting for an operator."""
    status = sa.cast(JOBS.c.status, sa.Text)  # enums of procrastinate's: compared as text
    counts = dict(
        connection.execute(
            sa.select(status, sa.func.count())
            .where(JOBS.c.queue_name == QUEUE_NAME, JOBS.c.task_name == TASK_NAME)
            .group_by(status)
        ).all()
    )
    oldest = connection.scalar(
        sa.select(sa.func.min(EVENTS.c.at))
        .select_from(JOBS.join(EVENTS, EVENTS.c.job_id == JOBS.c.id))
        .where(status == "todo", JOBS.c.task_name == TASK_NAME, sa.cast(EVENTS.c.type, sa.Text) == "deferred")
    )
    # procrastinate's failed tasks are no count of that: a regrade defers a new task and leaves
    # the old one failed, and a grading whose instance is unusable fails without its task failing
    failed = connection.scalar(sa.select(sa.func.count()).where(GradingJob.state == "failed"))
    live = connection.scalar(
        sa.select(sa.func.count()).where(
            WORKERS.c.last_heartbeat
            > sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, stalled_seconds)
        )
    )
    return QueueStatus(
        waiting=counts.get("todo", 0),
        running=counts.get("doing", 0),
        failed=failed or 0,
        oldest_waiting_since=oldest,
        live_workers=live or 0,
    )
