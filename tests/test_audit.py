"""The audit log: one writer, a MAC chain, and `veiviser audit verify` catching tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import delete, func, select, update

from app.cli import cli
from app.database import services
from models import audit
from models.audit import AuditChainHead, AuditEvent, verify
from tests.conftest import _fresh_database, build_app, is_postgres, log_in


def _events(db_session: Any, n: int) -> list[AuditEvent]:
    start = db_session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))
    for i in range(n):
        audit.record(
            db_session,
            "test.event",
            actor_user_id=None,
            object_type="thing",
            object_ref=f"ref{i}",
            field_categories=("name", "contact"),
        )
    db_session.commit()
    return list(
        db_session.scalars(
            select(AuditEvent).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
        )
    )


def test_intact_chain_verifies(db_session: Any) -> None:
    """Does an untouched log verify? Yes."""
    _events(db_session, 5)
    result = verify(db_session)
    assert result.ok, result.reason
    assert result.checked >= 5


def test_events_hold_categories_never_values(client: Any, db_session: Any, make_user: Any) -> None:
    """Does an event name field categories and references only? Yes."""
    _events(db_session, 1)
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.field_categories == "contact,name"
    assert event.object_ref == "ref0"


def test_edited_event_is_detected(db_session: Any) -> None:
    """Is an event whose action was changed detected, naming that event? Yes."""
    events = _events(db_session, 4)
    target = events[1]
    db_session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(action="x"))
    result = verify(db_session)
    assert not result.ok
    assert result.broken_seq == target.seq


def test_deleted_event_is_detected(db_session: Any) -> None:
    """Is a deleted event in the middle detected? Yes."""
    events = _events(db_session, 4)
    db_session.execute(delete(AuditEvent).where(AuditEvent.id == events[2].id))
    result = verify(db_session)
    assert not result.ok
    assert result.broken_seq == events[2].seq


def test_reordered_events_are_detected(db_session: Any) -> None:
    """Are two events swapped in order detected? Yes."""
    events = _events(db_session, 4)
    (a_id, a_seq), (b_id, b_seq) = (events[1].id, events[1].seq), (events[2].id, events[2].seq)
    parking = -1
    db_session.execute(update(AuditEvent).where(AuditEvent.id == a_id).values(seq=parking))
    db_session.execute(update(AuditEvent).where(AuditEvent.id == b_id).values(seq=a_seq))
    db_session.execute(update(AuditEvent).where(AuditEvent.id == a_id).values(seq=b_seq))
    result = verify(db_session)
    assert not result.ok
    assert result.broken_seq == a_seq


def test_truncated_tail_is_detected(db_session: Any) -> None:
    """Are the newest events cut off the end detected? Yes."""
    events = _events(db_session, 4)
    db_session.execute(delete(AuditEvent).where(AuditEvent.seq >= events[2].seq))
    result = verify(db_session)
    assert not result.ok
    assert result.broken_seq == events[2].seq


def test_truncation_with_forged_head_is_detected(db_session: Any) -> None:
    """Cutting the tail and pointing the head at the new last event: detected? Yes."""
    events = _events(db_session, 4)
    keep = events[1]
    db_session.execute(delete(AuditEvent).where(AuditEvent.seq > keep.seq))
    db_session.execute(update(AuditChainHead).values(seq=keep.seq, last_mac=keep.mac))
    result = verify(db_session)
    assert not result.ok
    assert "head" in result.reason


def test_write_and_event_commit_together(db_session: Any, make_user: Any) -> None:
    """If a change is rolled back, is its audit event gone too? Yes."""
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    audit.record(db_session, "test.rolled_back", actor_user_id=None)
    db_session.rollback()
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_admin_changes_are_audited(
    app: Flask, client: Any, db_session: Any, make_user: Any
) -> None:
    """Is an admin disabling a user recorded with actor, role and unit? Yes."""
    from tests.conftest import post_form

    admin = make_user("admin")
    target = make_user("advisor")
    log_in(client, admin, db_session)
    post_form(client, f"/admin/users/{target.ref}/disable", token_from=f"/admin/users/{target.ref}")
    event = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "user.disable")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None
    assert (event.actor_user_id, event.actor_role, event.object_ref) == (
        admin.id,
        "admin",
        target.ref,
    )
    assert event.unit_id == admin.memberships[0].unit_id
    assert event.request_id


def test_logout_is_audited(client: Any, db_session: Any, make_user: Any) -> None:
    """Is a logout recorded? Yes."""
    from tests.conftest import post_form

    user = make_user("advisor")
    log_in(client, user, db_session)
    post_form(client, "/logout", token_from="/")
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_user_id == user.id)
    ).all()
    assert "logout" in actions


def _run_verify(app: Flask) -> Any:
    return CliRunner().invoke(cli, ["audit", "verify"], obj=ScriptInfo(create_app=lambda: app))


def test_verify_command_exit_codes(app: Flask, db_session: Any) -> None:
    """Does `veiviser audit verify` exit 0 when intact and 1 naming the event when not? Yes."""
    events = _events(db_session, 3)
    ok = _run_verify(app)
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    db_session.execute(
        update(AuditEvent).where(AuditEvent.id == events[1].id).values(object_ref="forged")
    )
    db_session.commit()
    broken = _run_verify(app)
    assert broken.exit_code == 1
    assert f"event {events[1].seq}" in broken.output


@pytest.mark.skipif(is_postgres(), reason="edits the SQLite database file by hand")
def test_hand_edit_of_the_sqlite_file_is_detected(instance_dir: Path, tmp_path: Path) -> None:
    """An audit row edited with the sqlite3 tool, outside the app: does verify fail? Yes."""
    url, drop = _fresh_database(tmp_path, "handedit")
    edited_app = build_app(url)
    try:
        with edited_app.app_context(), services(edited_app).session_factory() as session:
            _events(session, 3)
        services(edited_app).engine.dispose()
        assert _run_verify(edited_app).exit_code == 0
        raw = sqlite3.connect(url.removeprefix("sqlite:///"))
        raw.execute(
            "UPDATE audit_events SET outcome = 'success', actor_role = 'admin' WHERE seq = 2"
        )
        raw.commit()
        raw.close()
        result = _run_verify(edited_app)
        assert result.exit_code == 1
        assert "event 2" in result.output
    finally:
        services(edited_app).engine.dispose()
        drop()


def test_concurrent_appends_form_one_chain(instance_dir: Path, tmp_path: Path) -> None:
    """Several threads with their own connections appending at once: one verifiable chain? Yes."""
    import threading

    url, drop = _fresh_database(tmp_path, "concurrent")
    shared_app = build_app(url)
    factory = services(shared_app).session_factory
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with factory() as session:
                    audit.record(
                        session, "test.concurrent", actor_user_id=None, object_ref=f"{n}-{i}"
                    )
                    session.commit()
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        with factory() as session:
            result = verify(session)
            assert result.ok, result.reason
            assert result.checked == 60
    finally:
        services(shared_app).engine.dispose()
        drop()
