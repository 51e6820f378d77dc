"""Accounts from the command line: ``grader db upgrade`` and ``grader user add``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grader.cli import main
from grader.service import accounts, db, tokens
from tests.conftest import newest_revision


@pytest.fixture
def configured(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("GRADER_DATABASE_URL", url)
    return url


def test_db_upgrade_builds_the_schema(configured, capsys):
    assert main(["db", "upgrade"]) == 0
    assert db.current_revision(configured) == newest_revision()
    assert "newest" in capsys.readouterr().out


def test_user_add_prints_a_working_token(configured, capsys, tmp_path):
    password = tmp_path / "password"
    password.write_text("a long enough password\n")
    assert main(["user", "add", "ines", "--role", "instructor", "--password-file",
                 str(password)]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token.splitlines()) == 1 and len(token) > 30
    engine = db.make_engine(configured)
    import sqlalchemy.orm as so

    with engine.connect() as connection:
        user = tokens.user_for(connection, token)
    assert (user.name, user.role) == ("ines", "instructor")
    with so.Session(engine) as session:
        assert accounts.authenticate(session, "ines", "a long enough password").id == user.id
    engine.dispose()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["user", "add", "ines", "--role", "student"], "taken"),
        (["user", "add", "bad name", "--role", "student"], "not allowed"),
    ],
)
def test_user_add_refuses_with_one_line(configured, capsys, argv, message):
    accounts.create_user_with_token("ines", "student", None)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_demo_course_loads_once(app):
    from grader.service import demo
    from grader.service.db import database
    from grader.service.models import Submission

    logins = demo.load_if_empty(app)
    assert {login.name for login in logins} == {"ada", "alan", "grace", "edsger"}
    assert demo.load_if_empty(app) is None
    assert demo.saved_logins(app) == logins
    with database(app).sessionmaker() as session:
        import sqlalchemy as sa

        graded = session.scalars(sa.select(Submission.correct)).all()
    assert len(graded) == len(demo.SUBMISSIONS) and None not in graded
    assert True in graded and False in graded


def test_a_token_gives_a_detached_snapshot_of_its_user(build, people):
    alice = people["alice"]
    with build.engine.connect() as connection:
        user = tokens.user_for(connection, alice.token)
        assert tokens.user_for(connection, "not-a-token") is None
    assert (user.id, user.name, user.role, user.full_name) == (
        alice.id, "alice", "student", "Alice Liddell"
    )
    assert sa.inspect(user).detached
