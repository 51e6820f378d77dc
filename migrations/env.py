"""Alembic environment: migrations run on the service's own engine (grader.service.db.make_engine)."""

from __future__ import annotations

from alembic import context

from grader.service import instructor_models  # noqa: F401  (its tables join Base's metadata)
from grader.service.db import check_references, make_engine
from grader.service.lti import models as lti_models  # noqa: F401  (its tables join Base's metadata)
from grader.service.models import Base
from grader.service.settings import database_url

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # grader.service.db.upgrade_database passes its own
        _run(connection)
        return
    engine = make_engine(_url(), sqlite_foreign_keys=False)  # see grader.service.db.migrate
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or database_url()


def _run(connection) -> None:
    # batch mode lets later migrations alter tables on SQLite too
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
        check_references(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
