"""Alembic environment: runs on a connection handed in by `app.migrate`, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import models
from models.base import Base

assert models  # importing the package registers every table on Base.metadata

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise SystemExit("run migrations with `veiviser db upgrade`")
_run(connection)
