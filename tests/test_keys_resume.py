"""A key rotation that crashes part-way resumes and leaves every value right.

Runs on SQLite and, with VEIVISER_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from app.cli import cli
from app.database import services
from models import keys
from models.crypto import (
    DataKey,
    Encrypted,
    KeyPurpose,
    KeyStatus,
    envelope_header,
    keyring_of,
)

BATCH = 2


class Crash(Exception):
    """Stands for the process dying (a kill, a lost connection) in the middle of a batch."""


@pytest.fixture
def keyring(app: Flask) -> Iterator[Any]:
    ring = services(app).keyring
    before = set(ring._open_keys)
    yield ring
    # The test's transaction is rolled back, keys included: the process-wide key ring
    # must not go on using (or caching material of) a key that no longer exists.
    ring.forget_active()
    for key_id in set(ring._open_keys) - before:
        ring._open_keys.pop(key_id, None)


@pytest.fixture
def people(make_user: Any, make_participant: Any) -> None:
    """Encrypted values in more than one table, more than a few batches of them."""
    advisor = make_user("advisor", mfa=True)
    for _ in range(3):
        make_user("advisor", mfa=True)
    for number in range(5):
        make_participant(advisor=advisor, given_name=f"Nadia{number}")


def _values(session: Any, keyring: Any) -> dict[tuple[str, str, int], tuple[int, Any]]:
    """Every stored encrypted value: (table, field, row id) -> (key id, plaintext)."""
    session.expire_all()
    found = {}
    for model, field in Encrypted.registry:
        sealed_column = getattr(model, field.sealed_attr)
        rows = session.execute(
            select(model.id, model.ref, sealed_column).where(sealed_column.is_not(None))
        ).all()
        for row_id, ref, sealed in rows:
            plain = keyring.open(session, sealed, field.table, field.name, ref)
            found[(field.table, field.name, row_id)] = (envelope_header(sealed)[1], plain)
    return found


def _versions(session: Any) -> dict[tuple[str, int], int]:
    """The optimistic-locking version of every row that holds an encrypted value."""
    found = {}
    for model, _field in Encrypted.registry:
        if hasattr(model, "version"):
            for row_id, version in session.execute(select(model.id, model.version)):
                found[(model.__tablename__, row_id)] = version
    return found


def _crash_in_second_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the key ring fail on the first seal after one batch has been written."""
    original = keyring_of
    seals = {"count": 0}

    class Failing:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def open(self, *args: Any) -> Any:
            return self.inner.open(*args)

        def seal(self, *args: Any) -> bytes:
            seals["count"] += 1
            if seals["count"] > BATCH:
                raise Crash
            return bytes(self.inner.seal(*args))

    monkeypatch.setattr(keys, "keyring_of", lambda session: Failing(original(session)))


@pytest.mark.usefixtures("people")
def test_rotation_crashed_mid_batch_resumes(
    db_session: Any, keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does a rotation that dies inside its second batch resume to a clean end: every value
    under the new key, readable as before, encrypted once, row versions untouched? Yes."""
    before = _values(db_session, keyring)
    versions = _versions(db_session)
    old_key = keyring.active_key_id(db_session, KeyPurpose.FIELD)
    assert len(before) > 3 * BATCH and {k for k, _ in before.values()} == {old_key}

    plan = keys.start_or_resume(db_session, keyring)
    db_session.commit()
    committed: list[int] = []
    _crash_in_second_batch(monkeypatch)
    with pytest.raises(Crash):
        keys.reencrypt(db_session, plan.retiring_key_ids, BATCH, committed.append)
    db_session.rollback()
    monkeypatch.undo()

    # The first batch is kept; the half-done second one wrote nothing.
    half = _values(db_session, keyring)
    assert committed == [BATCH]
    assert sum(1 for k, _ in half.values() if k == plan.active_key_id) == BATCH
    assert keys.pending_count(db_session, plan.retiring_key_ids) == len(before) - BATCH
    assert keys.retire_unused(db_session, plan.retiring_key_ids) == []

    resumed = keys.start_or_resume(db_session, keyring)
    db_session.commit()
    assert not resumed.started_new_key
    assert resumed.active_key_id == plan.active_key_id
    assert resumed.retiring_key_ids == (old_key,)
    assert keys.reencrypt(db_session, resumed.retiring_key_ids, BATCH) == len(before) - BATCH
    assert keys.retire_unused(db_session, resumed.retiring_key_ids) == [old_key]
    db_session.commit()

    after = _values(db_session, keyring)
    assert after.keys() == before.keys()
    # Opened once, each value is its original plaintext: none was sealed twice.
    assert {key: plain for key, (_k, plain) in after.items()} == {
        key: plain for key, (_k, plain) in before.items()
    }
    assert {k for k, _ in after.values()} == {plan.active_key_id}
    assert _versions(db_session) == versions
    retired = db_session.get(DataKey, old_key)
    assert retired.status is KeyStatus.RETIRED and retired.wrapped_key is None
    assert keys.verify_all(db_session).failed == 0


@pytest.mark.usefixtures("people")
def test_keys_rotate_command_resumes_a_crashed_rotation(
    app: Flask, db_session: Any, keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash mid-rotation, does `veiviser keys rotate --verify` say it resumes,
    finish without a third key and verify every value? Yes."""
    before = _values(db_session, keyring)
    plan = keys.start_or_resume(db_session, keyring)
    db_session.commit()
    _crash_in_second_batch(monkeypatch)
    with pytest.raises(Crash):
        keys.reencrypt(db_session, plan.retiring_key_ids, BATCH)
    db_session.rollback()
    monkeypatch.undo()

    result = CliRunner().invoke(
        cli,
        ["keys", "rotate", "--verify", "--batch-size", str(BATCH)],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0, result.output
    assert f"Resuming the rotation to key {plan.active_key_id}." in result.output
    assert " 0 failed." in result.output
    field_keys = db_session.scalars(
        select(DataKey.id).where(
            DataKey.purpose == KeyPurpose.FIELD, DataKey.status != KeyStatus.RETIRED
        )
    ).all()
    assert field_keys == [plan.active_key_id]
    after = _values(db_session, keyring)
    assert {key: plain for key, (_k, plain) in after.items()} == {
        key: plain for key, (_k, plain) in before.items()
    }
    assert {k for k, _ in after.values()} == {plan.active_key_id}


def test_the_old_key_is_kept_until_every_process_has_moved_on(
    db_session: Any, keyring: Any
) -> None:
    """Is a retiring key kept for the cache lifetime plus the longest request after the new
    key became active, so that a process still writing with it loses nothing? Yes."""
    plan = keys.start_or_resume(db_session, keyring)
    wait = keys.seconds_until_retirable(db_session, plan, 65.0)
    assert 60.0 < wait <= 65.0
    assert keys.seconds_until_retirable(db_session, plan, 0.0) == 0.0
