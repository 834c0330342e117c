"""Server-side login sessions, stored in the database so every app process shares them.

The browser holds only a random token; the table stores its SHA-256, so a copy
of the database does not hand out live sessions. Ending a user's sessions is a
DELETE, effective on that user's next request in every process.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, Text, delete, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime

TOKEN_BYTES = 32
# Writing last_seen_at on every request would turn every read into a write;
# this granularity keeps the idle timeout accurate to within a minute.
TOUCH_INTERVAL = timedelta(seconds=60)


class ServerSession(Base):
    __tablename__ = "server_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[str] = mapped_column(Text, default="{}")


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    data: dict[str, Any]
    user_id: int | None
    created_at: datetime
    last_seen_at: datetime


def load(session: Session, token: str, now: datetime, timeouts: Timeouts) -> LiveSession | None:
    """The live session for `token`, or None when unknown, idle too long or too old.

    Plain Core statements throughout: a session revoked by another request or
    process must be seen as gone, never resurrected from an identity map.
    """
    table = ServerSession.__table__
    row = session.execute(
        select(table.c.data, table.c.user_id, table.c.created_at, table.c.last_seen_at).where(
            table.c.token_hash == hash_token(token)
        )
    ).first()
    if row is None:
        return None
    if now - row.last_seen_at > timeouts.idle or now - row.created_at > timeouts.absolute:
        end(session, token)
        return None
    return LiveSession(_decode(row.data), row.user_id, row.created_at, row.last_seen_at)


def _decode(raw: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _encode(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str)


def create(
    session: Session, token: str, data: dict[str, Any], user_id: int | None, now: datetime
) -> None:
    session.execute(
        insert(ServerSession).values(
            token_hash=hash_token(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            data=_encode(data),
        )
    )


def save(
    session: Session, token: str, data: dict[str, Any], user_id: int | None, now: datetime
) -> bool:
    """Write the session back; False when it was ended meanwhile (it stays ended)."""
    result = session.execute(
        update(ServerSession)
        .where(ServerSession.token_hash == hash_token(token))
        .values(data=_encode(data), user_id=user_id, last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def needs_touch(live: LiveSession, now: datetime) -> bool:
    return now - live.last_seen_at >= TOUCH_INTERVAL


def end(session: Session, token: str) -> None:
    session.execute(
        delete(ServerSession)
        .where(ServerSession.token_hash == hash_token(token))
        .execution_options(synchronize_session=False)
    )


def end_all_for_user(session: Session, user_id: int) -> int:
    """End every session of a user (logout, password change, disable, role change)."""
    result = session.execute(
        delete(ServerSession)
        .where(ServerSession.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_for_user(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(ServerSession).where(ServerSession.user_id == user_id)
        )
        or 0
    )


def purge_expired(session: Session, now: datetime, timeouts: Timeouts) -> int:
    result = session.execute(
        delete(ServerSession)
        .where(
            (ServerSession.last_seen_at < now - timeouts.idle)
            | (ServerSession.created_at < now - timeouts.absolute)
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
