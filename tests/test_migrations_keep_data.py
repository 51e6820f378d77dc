"""Every migration keeps the rows it does not mean to change, on a real SQLite file.

On SQLite, a migration that alters a table rebuilds it (Alembic's batch mode: a copy, then
the old table dropped). With foreign keys enforced, dropping the old table deletes its rows
first, and ``ON DELETE CASCADE`` takes every row that refers to them along: a whole
course's submissions, lost to an upgrade. Each step here starts from a database with a row
in every table, as the schema stood at that revision, and counts them after it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from grader.service import db

REVISIONS = [script.revision for script in
             reversed(list(ScriptDirectory.from_config(db.alembic_config("sqlite://")).walk_revisions()))]


def filler(column: sa.Column[Any]) -> Any:
    """A value of the column's type (every key 1: one row a table, each referring to the others')."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 1, 1)
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return 1.0
    if isinstance(kind, sa.LargeBinary):
        return b"x"
    return "1"


def fill(connection: sa.Connection) -> dict[str, int]:
    """A row in every table (the parents' first); how many rows each table holds."""
    metadata = sa.MetaData()
    metadata.reflect(connection)
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        row = {c.name: filler(c) for c in table.columns if not c.nullable or c.foreign_keys}
        # a row whose parents are exclusive (an item's assignment or practice set) leaves
        # out as few of its optional ones as its checks ask
        optional = [c.name for c in table.columns if c.nullable and c.foreign_keys]
        for left_out in [(), *((name,) for name in optional), tuple(optional[1:])]:
            tried = {k: v for k, v in row.items() if k not in left_out}
            try:
                with connection.begin_nested():
                    connection.execute(table.insert().values(tried))
                break
            except sa.exc.IntegrityError:
                continue
        else:
            pytest.fail(f"no row could be made for {table.name}")
    return counts(connection)


def counts(connection: sa.Connection) -> dict[str, int]:
    names = [name for name in sa.inspect(connection).get_table_names() if name != "alembic_version"]
    return {name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar() for name in names}


@pytest.mark.parametrize("before,after", list(itertools.pairwise(REVISIONS)))
def test_each_migration_keeps_every_row_on_sqlite(tmp_path, before, after):
    url = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    db.migrate(url, before)
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            held = fill(connection)
        db.migrate(url, after)
        with engine.connect() as connection:
            now = counts(connection)
    finally:
        engine.dispose()
    assert {name: now.get(name) for name in held} == held


def test_a_migration_that_breaks_a_reference_is_undone_whole(tmp_path):
    """The references are checked before the migration commits (foreign keys are off while
    tables are rebuilt): a dangling one fails the upgrade, and the database stays as it was."""
    url = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    db.migrate(url, REVISIONS[-2])
    engine = db.make_engine(url, poolclass=sa.NullPool, sqlite_foreign_keys=False)
    try:
        with engine.begin() as connection:
            fill(connection)
            connection.execute(sa.text("UPDATE submissions SET item_id = 99"))  # no such item
        with pytest.raises(db.MigrationError, match="submissions"):
            db.migrate(url, "head")
        assert db.current_revision(url) == REVISIONS[-2]
    finally:
        engine.dispose()


def test_the_database_enforces_references_again_after_a_migration(tmp_path):
    url = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    db.upgrade_database(url)
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (99, 'x', '2026-01-01')"
            ))
    finally:
        engine.dispose()
