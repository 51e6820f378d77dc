"""The schema and the storage rules: migrations match the models, UTC times, SQLite pragmas."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grader.service import db, jobs, submissions
from grader.service.models import Base, Course, GradingJob, Submission, User, Variant
from tests.conftest import newest_revision, sqlite_only

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_build_exactly_the_models(app):
    engine = db.database(app).engine
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_database_is_at_the_newest_migration(database_url):
    assert db.current_revision(database_url) == newest_revision()


def test_upgrade_twice_is_harmless(database_url):
    db.upgrade_database(database_url)
    assert db.current_revision(database_url) == newest_revision()


def test_times_come_back_aware_in_utc(build):
    paris = timezone(timedelta(hours=1))
    when = datetime(2026, 3, 1, 12, 30, tzinfo=paris)
    with build.sessionmaker.begin() as session:
        course = Course(code="T1", title="Time", created_at=when)
        session.add(course)
        session.flush()
        course_id = course.id
    stored = build.get(Course, course_id).created_at
    assert stored.tzinfo is not None
    assert stored == when
    assert stored.utcoffset() == timedelta(0)


def test_naive_times_are_refused(build):
    naive = pytest.raises(sa.exc.StatementError, match="naive datetime")
    with naive, build.sessionmaker.begin() as session:
        session.add(Course(code="T2", title="Naive", created_at=datetime(2026, 1, 1)))


def test_default_times_are_utc(build):
    account = build.user("zoe")
    created = build.get(User, account.id).created_at
    assert created.tzinfo == UTC
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)


@sqlite_only
@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("foreign_keys", 1), ("busy_timeout", db.SQLITE_BUSY_TIMEOUT_MS)],
)
def test_sqlite_pragmas(app, pragma, expected):
    with db.database(app).engine.connect() as connection:
        assert connection.exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected


def test_foreign_keys_are_enforced(build):
    from grader.service.models import Enrolment

    with pytest.raises(sa.exc.IntegrityError), build.sessionmaker.begin() as session:
        session.add(Enrolment(course_id=999, user_id=999, role="student"))


@sqlite_only
def test_write_transactions_take_the_lock_at_begin(app):
    database = db.database(app)
    with database.sessionmaker() as first, database.sessionmaker() as second:
        first.execute(sa.select(1))  # BEGIN IMMEDIATE: first holds the write lock
        raw = database.engine.raw_connection()
        try:
            raw.execute("PRAGMA busy_timeout=0")
            with pytest.raises(Exception, match="locked"):
                raw.execute("BEGIN IMMEDIATE")
        finally:
            raw.close()
        first.rollback()
        second.execute(sa.select(1))  # and lets go at the end


@sqlite_only
def test_read_only_sessions_do_not_take_the_lock(app):
    database = db.database(app)
    with database.sessionmaker() as writer, database.read_only_sessionmaker() as reader:
        writer.execute(sa.select(1))
        assert reader.execute(sa.select(sa.func.count(User.id))).scalar() == 0


def test_an_item_has_exactly_one_parent(build):
    from grader.service.models import Item

    with pytest.raises(sa.exc.IntegrityError), build.sessionmaker.begin() as session:
        session.add(Item(kind="softmax"))


@sqlite_only
def test_writers_queue_in_the_process_and_time_out(app, monkeypatch):
    import threading

    engine = db.database(app).engine
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    outcome = {}

    def second_writer():
        try:
            with db.write_transaction(engine) as connection:
                connection.exec_driver_sql("SELECT 1")
            outcome["second"] = "wrote"
        except sa.exc.OperationalError as error:
            outcome["second"] = str(error.orig)

    with db.write_transaction(engine) as connection:
        connection.exec_driver_sql("SELECT 1")
        waiter = threading.Thread(target=second_writer)
        waiter.start()
        waiter.join()
    assert outcome["second"] == "database is busy"
    second_writer()  # once the first is done, the next goes through
    assert outcome["second"] == "wrote"


@sqlite_only
def test_the_processes_of_a_server_take_turns_on_the_lock_file(app, database_url):
    import fcntl
    import threading

    engine = db.database(app).engine
    done = threading.Event()

    def writer():
        with db.write_transaction(engine) as connection:
            connection.execute(sa.insert(Course), {"code": "W1", "title": "queued"})
        done.set()

    # another open of the lock file stands for another process of the server
    other = os.open(sa.make_url(database_url).database + db.LOCK_FILE_SUFFIX, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        thread = threading.Thread(target=writer)
        thread.start()
        assert not done.wait(0.3)  # waits its turn, without SQLite's lock taken
        with engine.connect() as reader:
            assert reader.execute(sa.select(sa.func.count(Course.id))).scalar() == 0
        fcntl.flock(other, fcntl.LOCK_UN)
        assert done.wait(5)
        thread.join()
    finally:
        os.close(other)


@sqlite_only
def test_writers_of_two_processes_all_commit(database_url):
    script = (
        "import sys, sqlalchemy as sa\n"
        "from grader.service import db\n"
        "from grader.service.models import Course\n"
        "engine = db.make_engine(sys.argv[1])\n"
        "for i in range(150):\n"
        "    with db.write_transaction(engine) as c:\n"
        "        c.execute(sa.insert(Course), {'code': f'{sys.argv[2]}{i}', 'title': 't'})\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, database_url, name], cwd=ROOT)
        for name in ("P", "Q")
    ]
    assert [writer.wait(60) for writer in writers] == [0, 0]
    engine = db.make_engine(database_url, poolclass=sa.NullPool)
    with engine.connect() as reader:
        assert reader.execute(sa.select(sa.func.count(Course.id))).scalar() == 300
    engine.dispose()


@sqlite_only
def test_writers_share_one_connection_until_a_database_error(app):
    engine = db.database(app).engine
    with db.write_transaction(engine) as connection:
        first = connection
        connection.execute(sa.insert(Course), {"code": "A1", "title": "A"})
    with pytest.raises(LookupError), db.write_transaction(engine) as connection:
        assert connection is first
        connection.execute(sa.insert(Course), {"code": "A2", "title": "B"})
        raise LookupError("refused")  # rolled back, and the connection kept
    with db.write_transaction(engine) as connection:
        assert connection is first and connection.in_transaction()
    with pytest.raises(sa.exc.IntegrityError), db.write_transaction(engine) as connection:
        connection.execute(sa.insert(Course), {"code": "A1", "title": "again"})
    with db.write_transaction(engine) as connection:
        assert connection is not first  # a fresh one after the error
        codes = connection.scalars(sa.select(Course.code)).all()
    assert codes == ["A1"]
    db.database(app).dispose()
    assert first.closed and connection.closed


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "softmax", "z": [1.0, -2.5, 3e-300]},
        {"nested": [[1, 2], [3, 4]], "none": None, "text": "é ∂S/∂z"},
        {"big": 2**70},  # beyond orjson's integers: json writes it
        {3: "an int key"},
    ],
)
def test_json_columns_read_back_what_was_written(value):
    assert db.json_loads(db.json_dumps(value)) == json.loads(json.dumps(value))


def test_json_written_by_the_standard_library_still_reads():
    assert db.json_loads('{"received": [NaN, Infinity, -Infinity]}')["received"][1] == float("inf")


@sqlite_only  # PostgreSQL never took NaN in JSON
def test_a_json_column_written_before_reads_back(build, people):
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    with build.sessionmaker.begin() as session:
        session.execute(
            sa.insert(Variant.__table__).values(
                item_id=item_id, user_id=people["alice"].id, draw_number=0,
                instance=sa.literal_column("""'{"kind": "softmax", "z": [NaN, 1.0]}'"""),
            )
        )
    with build.sessionmaker() as session:
        instance = session.scalar(sa.select(Variant.instance))
    assert instance["z"][1] == 1.0 and math.isnan(instance["z"][0])


# ---- statements run on the driver's cursor ------------------------------------------


def _stored_submission(build, people) -> tuple[int, int]:
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    with build.engine.begin() as connection:
        submission_id = submissions.PREPARED_INSERT.scalar(
            connection,
            {
                "item_id": item_id, "user_id": people["alice"].id,
                "instance": {"kind": "softmax", "z": [1.5, -2.0, 0.25]}, "answer": "[1, 2, 3]",
                "format": "json", "submitted_at": datetime(2026, 3, 1, 12, tzinfo=UTC),
                "late": True,
            },
        )
    return item_id, submission_id


def test_a_prepared_statement_reads_what_sqlalchemy_reads(build, people):
    _stored_submission(build, people)
    statement = sa.select(
        Submission.id, Submission.instance, Submission.submitted_at, Submission.late,
        Submission.score, sa.func.count().over().label("rows"),
    ).where(Submission.user_id == sa.bindparam("user_id"))
    prepared = db.Prepared(statement, ["user_id"])
    with build.engine.connect() as connection:
        expected = connection.execute(statement, {"user_id": people["alice"].id}).one()._asdict()
        row = prepared.first(connection, {"user_id": people["alice"].id})
        assert prepared.first(connection, {"user_id": people["bob"].id}) is None
    assert row == expected
    assert row["submitted_at"] == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert row["submitted_at"].tzinfo is not None and row["late"] is True
    assert row["instance"]["z"] == [1.5, -2.0, 0.25] and row["rows"] == 1


def test_prepared_updates_count_their_rows_and_write_their_types(build, people):
    _, submission_id = _stored_submission(build, people)
    graded_at = datetime(2026, 3, 1, 13, 30, tzinfo=timezone(timedelta(hours=2)))
    columns = {"verdict": {"score": 0.5}, "score": 0.5, "correct": False, "codes": ["transposed"],
               "graded_at": graded_at, "grading_ms": 1.25}
    with build.engine.begin() as connection:
        params = {"submission_id_": submission_id, **columns}
        assert jobs.PREPARED_STORE_VERDICT.rowcount(connection, params) == 1
        assert jobs.PREPARED_STORE_VERDICT.rowcount(connection, {**params, "submission_id_": -1}) == 0
    stored = build.get(Submission, submission_id)
    assert (stored.verdict, stored.codes, stored.correct) == ({"score": 0.5}, ["transposed"], False)
    assert stored.graded_at == graded_at and stored.graded_at.utcoffset() == timedelta(0)


def test_a_statement_that_needs_a_python_default_is_refused(build):
    prepared = db.Prepared(sa.insert(Variant.__table__), ["item_id", "user_id", "instance"])
    with build.engine.connect() as connection, pytest.raises(ValueError, match="created_at"):
        prepared.first(connection, {"item_id": 1, "user_id": 1, "instance": {}})


def test_a_prepared_statement_takes_exactly_its_keys(build, people):
    _, submission_id = _stored_submission(build, people)
    columns = {"verdict": {}, "score": 1.0, "correct": True, "codes": [],
               "graded_at": datetime.now(UTC), "grading_ms": 1.0}
    with build.engine.begin() as connection:
        for params in (
            {"submission_id_": submission_id, **columns, "late": False},  # would not be stored
            {"submission_id_": submission_id, "score": 1.0},
        ):
            with pytest.raises(ValueError, match="give exactly"):
                jobs.PREPARED_STORE_VERDICT.rowcount(connection, params)
    assert build.get(Submission, submission_id).score is None


def test_a_driver_error_is_raised_as_sqlalchemys(build, people):
    _, submission_id = _stored_submission(build, people)
    job = {"submission_id": submission_id, "state": "queued", "attempts": 0, "lease_owner": None,
           "lease_expires_at": None, "created_at": datetime.now(UTC)}
    with build.engine.begin() as connection:
        jobs.PREPARED_INSERT_JOB.scalar(connection, job)
    with pytest.raises(sa.exc.IntegrityError), build.engine.begin() as connection:
        jobs.PREPARED_INSERT_JOB.scalar(connection, job)  # one job per submission
    with build.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(GradingJob)) == 1


def test_the_migrations_form_one_chain():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    chain = [revision.revision for revision in script.walk_revisions()]
    files = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))
    assert len(chain) == len(files) and chain[-1] == "0001"
    assert newest_revision() == chain[0]
