"""The append-only, hash-chained audit log (DESIGN §4).

Everything that touches personal data or administers the system calls
`record()`. Events are queued on the database session and appended to the chain
just before that session commits, so a write and its event commit together and
the chain head is locked only for the moment of the append.

Each event's MAC is HMAC-SHA256 (audit data key) over its own fields and the
previous event's MAC; the chain head row carries the last position and MAC,
MAC'd itself, so editing, deleting, reordering or cutting off the tail of the
log is detected by `verify()`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.accounts import User
from models.base import Base, UTCDateTime, utcnow
from models.crypto import DecryptionFailed, KeyMaterialError, KeyPurpose, keyring_of
from models.errors import N_

GENESIS_MAC = bytes(32)
HEAD_ID = 1
VERIFY_BATCH = 2_000


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


OUTCOME_LABELS: dict[str, str] = {
    Outcome.SUCCESS.value: N_("Success"),
    Outcome.DENIED.value: N_("Denied"),
    Outcome.FAILED.value: N_("Failed"),
}


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    field_categories: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(40))
    # e.g. "break_glass": shown to the unit leader for review
    flags: Mapped[str | None] = mapped_column(String(40), index=True)
    key_id: Mapped[int] = mapped_column(Integer)
    mac: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditChainHead(Base):
    """The single row that serialises appends (row-locked on PostgreSQL)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    last_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_id: Mapped[int | None] = mapped_column(Integer)
    head_mac: Mapped[bytes | None] = mapped_column(LargeBinary(32))


@dataclass(frozen=True)
class PendingEvent:
    action: str
    outcome: Outcome
    occurred_at: datetime
    actor_user_id: int | None = None
    actor_role: str | None = None
    unit_id: int | None = None
    object_type: str | None = None
    object_ref: str | None = None
    field_categories: tuple[str, ...] = field(default_factory=tuple)
    request_id: str | None = None
    flags: str | None = None


def record(
    session: Session,
    action: str,
    *,
    actor_user_id: int | None,
    actor_role: str | None = None,
    unit_id: int | None = None,
    object_type: str | None = None,
    object_ref: str | None = None,
    field_categories: Iterable[str] = (),
    outcome: Outcome = Outcome.SUCCESS,
    request_id: str | None = None,
    flags: str | None = None,
) -> None:
    """Queue an audit event; it is appended to the chain when `session` commits.

    Callers pass references and categories of fields, never values.
    """
    pending: list[PendingEvent] = session.info.setdefault("audit_pending", [])
    pending.append(
        PendingEvent(
            action=action,
            outcome=outcome,
            occurred_at=utcnow(),
            actor_user_id=actor_user_id,
            actor_role=actor_role,
            unit_id=unit_id,
            object_type=object_type,
            object_ref=object_ref,
            field_categories=tuple(sorted(set(field_categories))),
            request_id=request_id,
            flags=flags,
        )
    )


def _canonical(seq: int, ev: Any, key_id: int) -> bytes:
    categories = ev.field_categories
    if isinstance(categories, str) or categories is None:
        categories_text: str | None = categories or None
    else:
        categories_text = ",".join(categories) or None
    body = {
        "seq": seq,
        "at": ev.occurred_at.isoformat(timespec="microseconds"),
        "actor": ev.actor_user_id,
        "role": ev.actor_role,
        "unit": ev.unit_id,
        "action": ev.action,
        "type": ev.object_type,
        "ref": ev.object_ref,
        "fields": categories_text or None,
        "outcome": str(ev.outcome),
        "request": ev.request_id,
        "key": key_id,
    }
    if getattr(ev, "flags", None):
        # Only when set, so events written before the column existed still verify.
        body["flags"] = ev.flags
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _event_mac(session: Session, key_id: int, prev_mac: bytes, message: bytes) -> bytes:
    return keyring_of(session).mac(session, key_id, b"event\x00" + prev_mac + message)


def _head_mac(session: Session, key_id: int, seq: int, last_mac: bytes) -> bytes:
    return keyring_of(session).mac(session, key_id, b"head\x00%d\x00" % seq + last_mac)


def ensure_chain_head(session: Session) -> None:
    """Create the chain's head row if missing (done once, by `veiviser db upgrade`)."""
    if session.get(AuditChainHead, HEAD_ID) is None:
        key_id = keyring_of(session).active_key_id(session, KeyPurpose.AUDIT)
        session.add(
            AuditChainHead(
                id=HEAD_ID,
                seq=0,
                last_mac=GENESIS_MAC,
                key_id=key_id,
                head_mac=_head_mac(session, key_id, 0, GENESIS_MAC),
            )
        )
        session.flush()


def _append(session: Session, events: list[PendingEvent]) -> None:
    # The chain head is the last lock a committing transaction takes. Its own changes are
    # written first, and the events' actors are locked FOR KEY SHARE (as the insert's
    # foreign-key check would) before the head: taken after it, a transaction holding the
    # head waited for a user row held by another that was waiting for the head, and
    # PostgreSQL broke the deadlock with a 500 (the CI load run: a login of one account
    # while the same account's other session read a page).
    session.flush()
    actors = sorted({e.actor_user_id for e in events if e.actor_user_id is not None})
    if actors:
        session.execute(
            select(User.id)
            .where(User.id.in_(actors))
            .order_by(User.id)
            .with_for_update(read=True, key_share=True)
        )
    head = session.scalar(
        select(AuditChainHead).where(AuditChainHead.id == HEAD_ID).with_for_update()
    )
    if head is None:
        raise RuntimeError("audit chain head missing: run `veiviser db upgrade`")
    key_id = keyring_of(session).active_key_id(session, KeyPurpose.AUDIT)
    seq, prev = head.seq, head.last_mac
    for pending in events:
        seq += 1
        mac = _event_mac(session, key_id, prev, _canonical(seq, pending, key_id))
        session.add(
            AuditEvent(
                seq=seq,
                occurred_at=pending.occurred_at,
                actor_user_id=pending.actor_user_id,
                actor_role=pending.actor_role,
                unit_id=pending.unit_id,
                action=pending.action,
                object_type=pending.object_type,
                object_ref=pending.object_ref,
                field_categories=",".join(pending.field_categories) or None,
                outcome=pending.outcome.value,
                request_id=pending.request_id,
                flags=pending.flags,
                key_id=key_id,
                mac=mac,
            )
        )
        prev = mac
    head.seq, head.last_mac, head.key_id = seq, prev, key_id
    head.head_mac = _head_mac(session, key_id, seq, prev)


@event.listens_for(Session, "before_commit")
def _flush_audit_events(session: Session) -> None:
    pending: list[PendingEvent] = session.info.pop("audit_pending", [])
    if pending:
        _append(session, pending)


@event.listens_for(Session, "after_rollback")
def _drop_audit_events(session: Session) -> None:
    # An event must never outlive the change it describes.
    session.info.pop("audit_pending", None)


def discard_pending(session: Session) -> None:
    session.info.pop("audit_pending", None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_event_id: int | None = None
    reason: str = ""


def _events(session: Session) -> Iterator[Any]:
    """Stream events as plain rows in chain order, without filling the identity map."""
    table = AuditEvent.__table__
    last_seq = 0
    while True:
        batch = session.execute(
            select(table).where(table.c.seq > last_seq).order_by(table.c.seq).limit(VERIFY_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        last_seq = batch[-1].seq


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the first event; report the first event that does not verify."""
    prev = GENESIS_MAC
    checked = 0
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None:
        return VerifyResult(False, 0, reason="the chain head row is missing")
    head_seq, head_last_mac, head_key, head_head_mac = (
        head.seq,
        head.last_mac,
        head.key_id,
        head.head_mac,
    )
    for expected_seq, ev in enumerate(_events(session), start=1):
        if ev.seq != expected_seq:
            return VerifyResult(
                False, checked, expected_seq, ev.id, f"event {expected_seq} is missing"
            )
        try:
            mac = _event_mac(session, ev.key_id, prev, _canonical(ev.seq, ev, ev.key_id))
        except (DecryptionFailed, KeyMaterialError):  # a forged key id is tampering too
            mac = b""
        if mac != ev.mac:
            return VerifyResult(
                False, checked, ev.seq, ev.id, f"event {ev.seq} was altered or moved"
            )
        prev = ev.mac
        checked += 1
    try:
        expected_head = (
            _head_mac(session, head_key, head_seq, head_last_mac) if head_key is not None else b""
        )
    except (DecryptionFailed, KeyMaterialError):
        expected_head = b""
    if expected_head != head_head_mac:
        return VerifyResult(False, checked, None, None, "the chain head was altered")
    if head_seq != checked or head_last_mac != prev:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            None,
            f"the chain ends at event {checked} but the head says {head_seq}: events were removed",
        )
    return VerifyResult(True, checked)
