"""Data-key rotation: a new key for writes, resumable batch re-encryption, retirement.

A rotation is resumable by construction: progress is the data itself. Values
still sealed under a *retiring* key are found by the key id in their envelope
header, re-sealed under the active key batch by batch (each batch its own
commit), and the retiring key is retired — its material erased — only when
no value uses it any more.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.crypto import (
    DataKey,
    Encrypted,
    KeyPurpose,
    KeyRing,
    KeyStatus,
    envelope_header,
    keyring_of,
)

DEFAULT_BATCH = 500


@dataclass(frozen=True)
class RotationPlan:
    active_key_id: int
    retiring_key_ids: tuple[int, ...]
    started_new_key: bool


def _key_id_bytes(key_id: int) -> bytes:
    return struct.pack(">I", key_id)


def _uses_keys(column: Any, key_ids: tuple[int, ...]) -> Any:
    # Bytes 2-5 of the envelope hold the key id (SQL substr is 1-based).
    return or_(*(func.substr(column, 2, 4) == _key_id_bytes(k) for k in key_ids))


def start_or_resume(session: Session, keyring: KeyRing) -> RotationPlan:
    """Resume an unfinished rotation, or demote the active field key and create a new one."""
    retiring = tuple(
        session.scalars(
            select(DataKey.id).where(
                DataKey.purpose == KeyPurpose.FIELD, DataKey.status == KeyStatus.RETIRING
            )
        )
    )
    if retiring:
        return RotationPlan(
            keyring.active_key_id(session, KeyPurpose.FIELD), retiring, started_new_key=False
        )
    current = session.scalar(
        select(DataKey)
        .where(DataKey.purpose == KeyPurpose.FIELD, DataKey.status == KeyStatus.ACTIVE)
        .with_for_update()
    )
    if current is None:
        raise RuntimeError("no active field key: run `veiviser db upgrade` first")
    current.status = KeyStatus.RETIRING
    session.flush()  # the partial unique index allows one active key per purpose
    new_key = keyring.create_data_key(session, KeyPurpose.FIELD)
    keyring.forget_active()
    return RotationPlan(new_key.id, (current.id,), started_new_key=True)


def pending_count(session: Session, key_ids: tuple[int, ...]) -> int:
    """How many stored values are still sealed under one of `key_ids`."""
    if not key_ids:
        return 0
    total = 0
    for model, field in Encrypted.registry:
        column = getattr(model, field.sealed_attr)
        total += int(
            session.scalar(
                select(func.count()).select_from(model).where(_uses_keys(column, key_ids))
            )
            or 0
        )
    return total


def _batches(session: Session, model: Any, condition: Any, batch_size: int) -> Iterator[list[Any]]:
    """Rows of `model` matching `condition` in id order, one batch at a time.

    Keyset pagination (id > last) so a batch rewritten by the caller is never read twice.
    """
    last_id = 0
    while True:
        rows = list(
            session.scalars(
                select(model)
                .where(model.id > last_id, condition)
                .order_by(model.id)
                .limit(batch_size)
            )
        )
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


def reencrypt(
    session: Session,
    key_ids: tuple[int, ...],
    batch_size: int = DEFAULT_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Re-seal every value under `key_ids` with the active key, committing per batch.

    Reads only (id, ref, sealed value) and writes with one executemany per batch, so
    the rows' optimistic-locking versions stay as they are (an open form is not made
    stale by a rotation). Each UPDATE also matches the value it read: a value a user
    changed meanwhile is left alone, never overwritten with the old plaintext; if it
    still uses a retiring key, the next run picks it up.
    """
    keyring = keyring_of(session)
    done = 0
    for model, field in Encrypted.registry:
        attribute = getattr(model, field.sealed_attr)
        column = attribute.property.columns[0]
        table = model.__table__
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"), column == bindparam("b_old", type_=column.type))
            .values({column.name: bindparam("b_new", type_=column.type)})
        )
        last_id = 0
        while True:
            rows = session.execute(
                select(model.id, model.ref, attribute)
                .where(model.id > last_id, _uses_keys(attribute, key_ids))
                .order_by(model.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            params = [
                {
                    "b_id": row_id,
                    "b_old": sealed,
                    "b_new": keyring.seal(
                        session,
                        keyring.open(session, sealed, field.table, field.name, ref),
                        field.table,
                        field.name,
                        ref,
                    ),
                }
                for row_id, ref, sealed in rows
            ]
            session.connection().execute(stmt, params)
            session.commit()
            done += len(rows)
            last_id = rows[-1][0]
            if on_progress:
                on_progress(len(rows))
    return done


def seconds_until_retirable(session: Session, plan: RotationPlan, grace_seconds: float) -> float:
    """How long to wait before the retiring keys may be erased (0 when already safe).

    Every process trusts its cached idea of the active key for a few seconds, and a
    request may write a value some time after it looked the key up; until both have run
    out since the new key became active, a value can still be sealed under the old key
    after the last batch, and erasing the key then would make it unreadable (seen under
    load: bench/load.py --ci, 2 values lost). `grace_seconds` is the cache lifetime plus
    the longest request.
    """
    key = session.get(DataKey, plan.active_key_id)
    if key is None:
        return 0.0
    safe_at = key.created_at + timedelta(seconds=grace_seconds)
    return max((safe_at - utcnow()).total_seconds(), 0.0)


def retire_unused(session: Session, key_ids: tuple[int, ...]) -> list[int]:
    """Retire (erase) each retiring key no value uses any more; returns the ids retired."""
    retired = []
    for key_id in key_ids:
        if pending_count(session, (key_id,)) == 0:
            key = session.get(DataKey, key_id)
            if key is not None and key.status is KeyStatus.RETIRING:
                key.status = KeyStatus.RETIRED
                key.wrapped_key = None
                key.retired_at = utcnow()
                retired.append(key_id)
    return retired


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    failed: int
    by_key: dict[int, int]


def _all_sealed(session: Session, batch_size: int) -> Iterator[tuple[Any, Encrypted]]:
    for model, field in Encrypted.registry:
        column = getattr(model, field.sealed_attr)
        for rows in _batches(session, model, column.is_not(None), batch_size):
            for row in rows:
                yield row, field
            session.expunge_all()


def verify_all(session: Session, batch_size: int = DEFAULT_BATCH) -> VerifyReport:
    """Open every encrypted value; count the ones that fail and the values per key."""
    checked = failed = 0
    by_key: dict[int, int] = {}
    for row, field in _all_sealed(session, batch_size):
        sealed = getattr(row, field.sealed_attr)
        try:
            _version, key_id = envelope_header(sealed)
            by_key[key_id] = by_key.get(key_id, 0) + 1
            field.__get__(row)
        except Exception:
            failed += 1
        checked += 1
    return VerifyReport(checked, failed, by_key)
