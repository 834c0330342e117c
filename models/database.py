"""Engine and session factories, shared by the web app, the CLI and the tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from models.crypto import KeyRing

SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings Veiviser relies on for its database.

    SQLite: WAL (readers never block the writer), foreign keys on, a busy timeout,
    and every transaction begun IMMEDIATE — each request appends to the audit
    chain, so taking the write lock up front avoids deadlocking upgrades from a
    read lock to a write lock.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if ":memory:" not in url and url != "sqlite://":
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                # SQLite's advice for long-lived connections: gather planner statistics where
                # they are missing or stale. Without them a 100k caseload page scanned the
                # whole unit (86 ms instead of 18 ms, bench/bench_participants.py).
                cursor.execute("PRAGMA optimize=0x10002")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine, keyring: KeyRing) -> sessionmaker[Session]:
    """Sessions carry the key ring so encrypted fields can seal and open themselves."""
    return sessionmaker(bind=engine, expire_on_commit=False, info={"keyring": keyring})
