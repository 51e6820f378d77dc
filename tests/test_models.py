"""The schema and the storage rules: migrations match the models, UTC times, SQLite pragmas."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grader.service import db, jobs
from grader.service.models import Assignment, Base, Course, GradingJob, Item, Submission, User, Variant
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
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=200)
def test_a_writer_waits_for_the_lock_then_gives_up(app):
    database = db.database(app)
    with database.sessionmaker() as first:
        first.execute(sa.select(1))  # BEGIN IMMEDIATE: first holds the write lock
        with pytest.raises(sa.exc.OperationalError, match="locked"), database.sessionmaker() as second:
            second.execute(sa.select(1))
        first.add(Course(code="W1", title="first"))
        first.commit()
    with database.sessionmaker.begin() as second:  # once the first is done, the next goes through
        second.add(Course(code="W2", title="second"))
    with database.sessionmaker() as reader:
        assert sorted(reader.scalars(sa.select(Course.code))) == ["W1", "W2"]


@sqlite_only
def test_writers_of_two_processes_all_commit(database_url):
    # BEGIN IMMEDIATE and the busy timeout: the writers of other processes queue, none fails
    script = (
        "import sys, sqlalchemy as sa, sqlalchemy.orm as so\n"
        "from grader.service import db\n"
        "from grader.service.models import Course\n"
        "sessions = so.sessionmaker(db.make_engine(sys.argv[1]))\n"
        "for i in range(150):\n"
        "    with sessions.begin() as session:\n"
        "        session.add(Course(code=f'{sys.argv[2]}{i}', title='t'))\n"
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


# procrastinate defers its task on the psycopg connection of the submission's transaction
# (or of the adoption of task-less gradings), which SQLAlchemy has already begun (its
# documented "external connection"): the one use of the driver's connection, and it
# executes nothing outside SQLAlchemy's transaction
JOINS_THE_TRANSACTION = {"grader/service/remote/web.py: driver_connection",
                         "grader/service/remote/database.py: driver_connection"}


def test_no_private_sqlalchemy_name_is_used():
    private = ("_bind_processors", "_cached_result_processor", "._returning", "driver_connection",
               "Prepared(", "write_transaction")
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "grader").rglob("*.py"))
        for name in private
        if name in path.read_text()
    ]
    assert set(found) - JOINS_THE_TRANSACTION == set()


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


# ---- Core statements of the grading path, through the session ------------------------


def _stored_submission(build, people) -> int:
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    with build.sessionmaker.begin() as session:
        submission = Submission(
            item_id=item_id, user_id=people["alice"].id,
            instance={"kind": "softmax", "z": [1.5, -2.0, 0.25]}, answer="[1, 2, 3]",
            format="json", submitted_at=datetime(2026, 3, 1, 12, tzinfo=UTC), late=True,
        )
        session.add(submission)
        session.flush()
        return submission.id


def test_the_verdict_update_counts_its_rows_and_writes_its_types(build, people):
    submission_id = _stored_submission(build, people)
    graded_at = datetime(2026, 3, 1, 13, 30, tzinfo=timezone(timedelta(hours=2)))
    columns = {"verdict": {"score": 0.5}, "score": 0.5, "correct": False, "codes": ["transposed"],
               "graded_at": graded_at, "grading_ms": 1.25}
    with build.sessionmaker.begin() as session:
        params = {"submission_id_": submission_id, **columns}
        assert session.execute(jobs.STORE_VERDICT, params).rowcount == 1
        assert session.execute(jobs.STORE_VERDICT, {**params, "submission_id_": -1}).rowcount == 0
    stored = build.get(Submission, submission_id)
    assert (stored.verdict, stored.codes, stored.correct) == ({"score": 0.5}, ["transposed"], False)
    assert stored.graded_at == graded_at and stored.graded_at.utcoffset() == timedelta(0)
    assert stored.submitted_at == datetime(2026, 3, 1, 12, tzinfo=UTC) and stored.late is True


def test_a_submission_has_one_job(build, people):
    submission_id = _stored_submission(build, people)
    with build.sessionmaker.begin() as session:
        session.add(GradingJob(submission_id=submission_id))
    with pytest.raises(sa.exc.IntegrityError), build.sessionmaker.begin() as session:
        session.add(GradingJob(submission_id=submission_id))
    with build.sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(GradingJob)) == 1


def test_the_migrations_form_one_chain():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    chain = [revision.revision for revision in script.walk_revisions()]
    files = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))
    assert len(chain) == len(files) and chain[-1] == "0001"
    assert newest_revision() == chain[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> str:
    """A database with no tables yet: a SQLite file, or one on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grader.sqlite'}"
    server = request.getfixturevalue("postgres")
    name = f"grader_migration_{uuid.uuid4().hex[:12]}"
    server.admin(f"CREATE DATABASE {name}")
    request.addfinalizer(lambda: server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    return server.url(name)


#: the re-draws' table as 0011 made it (the model's has grown since)
REDRAWS_0011 = sa.table(
    "redraws", *(sa.column(name, sa.Integer()) for name in
                 ("id", "item_id", "user_id", "draw_number", "attempts_used", "attempts_given_back")),
    sa.column("gave_back", sa.Boolean()), sa.column("created_at", sa.DateTime(timezone=True)),
)


def test_the_redraws_migration_adds_its_table_and_takes_it_away(empty_database):
    """0011 on a database in use: what was stored stays, re-draws are recorded, going back
    drops them only, and the newest schema is the models' on this database too."""
    url = empty_database
    db.migrate(url, "0010")
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        with so.Session(engine) as session, session.begin():
            student = User(name="ivy", full_name="Ivy", role="student")
            course = Course(code="M1", title="Migrations")
            course.assignments = [Assignment(title="Quiz", seed=1, items=[Item(kind="softmax", K=3)])]
            session.add_all([student, course])
            session.flush()
            student_id = student.id
        assert "redraws" not in sa.inspect(engine).get_table_names()
        db.migrate(url, "0011")
        with so.Session(engine) as session, session.begin():
            item_id = session.scalar(sa.select(Item.id))
            session.execute(REDRAWS_0011.insert().values(
                item_id=item_id, user_id=student_id, draw_number=1, attempts_used=3, attempts_given_back=3,
                gave_back=True, created_at=datetime(2026, 1, 1, tzinfo=UTC),
            ))
        with so.Session(engine) as session:
            assert session.scalar(sa.select(REDRAWS_0011.c.attempts_given_back)) == 3
        db.migrate(url, "0010", down=True)
        assert "redraws" not in sa.inspect(engine).get_table_names()
        with so.Session(engine) as session:
            assert session.scalars(sa.select(User.name)).all() == ["ivy"]
            assert session.scalar(sa.select(sa.func.count(Item.id))) == 1
        db.migrate(url, "head")
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_re_draws_made_before_0013_keep_the_submissions_made_before_them(empty_database):
    """0013: each re-draw already made is given the newest of the student's submissions to the
    item stored by then (the attempts it gave back), and going back keeps every re-draw."""
    from grader.service.instructor_models import Redraw

    url = empty_database
    db.migrate(url, "0012")
    engine = db.make_engine(url, poolclass=sa.NullPool)
    redrawn_at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    try:
        with so.Session(engine) as session, session.begin():
            student = User(name="ivy", full_name="Ivy", role="student")
            course = Course(code="M1", title="Migrations")
            items = [Item(kind="softmax", K=3, position=0), Item(kind="softmax", K=3, position=1)]
            course.assignments = [Assignment(title="Quiz", seed=1, items=items)]
            session.add_all([student, course])
            session.flush()
            answered = [
                Submission(item_id=items[0].id, user_id=student.id, instance={}, answer="[1]", format="json",
                           submitted_at=redrawn_at + timedelta(minutes=minutes))
                for minutes in (-2, -1, 1)  # two before the re-draw, one after
            ]
            session.add_all(answered)
            session.flush()
            for item in items:  # the second item, never answered, re-drawn all the same
                session.execute(REDRAWS_0011.insert().values(
                    item_id=item.id, user_id=student.id, draw_number=1, attempts_used=2,
                    attempts_given_back=2, gave_back=True, created_at=redrawn_at,
                ))
            before = answered[1].id
        db.migrate(url, "0013")
        with so.Session(engine) as session:
            kept = session.scalars(sa.select(Redraw.last_submission_id).order_by(Redraw.item_id)).all()
            assert kept == [before, 0]
        db.migrate(url, "0012", down=True)
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(REDRAWS_0011)) == 2
    finally:
        engine.dispose()
