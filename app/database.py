"""The request's database session and the per-app services (engine, key ring)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.crypto import KeyRing


@dataclass
class Services:
    engine: Engine
    keyring: KeyRing
    session_factory: sessionmaker[Session]


def services(app: Flask | None = None) -> Services:
    found = (app or current_app).extensions["veiviser"]
    assert isinstance(found, Services)
    return found


def db() -> Session:
    """The database session of the current request or CLI command, opened on first use."""
    session = g.get("_veiviser_db")
    if session is None:
        session = services().session_factory()
        g._veiviser_db = session
    assert isinstance(session, Session)
    return session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("_veiviser_db", None)
    if session is not None:
        # Anything not committed by the view is abandoned, never half-written.
        session.rollback()
        session.close()
