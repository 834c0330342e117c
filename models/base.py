"""Declarative base, shared column types and mixins for every Veiviser model.

Nothing here imports Flask: the models are used from the web app, the CLI, the
tests and batch jobs alike.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Enum, Integer, MetaData, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

# Alembic needs deterministic constraint names to drop or alter them later,
# on SQLite (batch mode) as well as on PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

REF_BYTES = 12  # 96 random bits: unguessable, and short enough for a URL


def new_ref() -> str:
    """A random public reference for URLs and audit events; never derived from personal data."""
    return secrets.token_urlsafe(REF_BYTES)


def utcnow() -> datetime:
    """The one clock of the domain, timezone-aware UTC (tests freeze it with time-machine)."""
    return datetime.now(UTC)


# Both programme countries keep the same civil time; "today" and times shown are in it.
LOCAL_ZONE = ZoneInfo("Europe/Oslo")


def local_today(now: datetime | None = None) -> date:
    """Today where the users work: a deadline due today is not overdue at 00:30 local time."""
    return (now or utcnow()).astimezone(LOCAL_ZONE).date()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite has no timezone type and hands back naive values; PostgreSQL returns
    aware ones. Normalising here means the domain never compares naive with aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; use models.base.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __repr__(self) -> str:
        # Never show column values: they may be personal data.
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} id={ident}>"


class Versioned:
    """Optimistic locking: every UPDATE checks and bumps `version`.

    An edit form carries the version it was rendered with; a save against a
    newer version is refused (see `models.errors.StaleEdit`), never silently
    overwritten.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def code_enum(cls: type[enum.Enum], length: int) -> Enum:
    """A code list stored as its values in a VARCHAR(`length`), not a native database enum:
    adding a code then needs no ALTER TYPE, and SQLite and PostgreSQL store the same text.
    `length` is part of the schema: changing it needs a migration."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


def tune_for_unit_report(session: Session) -> None:
    """Settings for a leader's read over one unit (dashboard, outcome figures, NIR), this
    transaction only.

    The reads probe a unit's few thousand rows by index. With the default cost of a random
    read (4, a spinning disk) PostgreSQL hashed whole tables instead, so the page grew with
    the database rather than with the unit; and the summed estimates of many small probes
    start the JIT compiler, which took 16 s of a 16.3 s figure query. And psycopg prepares
    a statement run five times on a connection, after which PostgreSQL may switch to a
    generic plan made without the unit and the dates: the absence sums then read every
    unit's rows (28 ms became 150 ms from the tenth request on). LOCAL: the settings end
    with the transaction, so pooled connections are left as they were.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL random_page_cost = 1.1"))
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
