"""Export jobs: purpose, unit scope, audit, file contents, progress, expiry."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.database import services
from models import exports as ops
from models.accounts import Role
from models.audit import AuditEvent
from models.base import utcnow
from models.exports import ExportFormat, ExportJob, ExportKind, ExportStatus
from models.policy import Actor
from tests.conftest import _fresh_database, build_app, log_in, post_form

PURPOSE = "Quarterly check of the register against the municipality list"


def _jobs(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(ExportJob)) or 0


def _request(client: FlaskClient, unit_id: int, **data: Any) -> Any:
    form = {"kind": "participant_list", "unit": str(unit_id), "format": "csv", "purpose": PURPOSE}
    form.update(data)
    return post_form(client, "/unit/exports/", form)


@pytest.fixture
def setup(make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    unit_a, unit_b = make_unit("Enhet A"), make_unit("Enhet B")
    leader = make_user(Role.LEADER, unit_a, name="Lea Leder", locale="en")
    advisor = make_user(Role.ADVISOR, unit_a, name="Rolf Rådgiver")
    ours = [
        make_participant(unit=unit_a, advisor=advisor, given_name="Amina", family_name="Ødegård"),
        make_participant(unit=unit_a, advisor=advisor, given_name="=HYPERLINK(1)"),
        make_participant(unit=unit_a, given_name="Hidden", is_restricted=True),
    ]
    theirs = make_participant(unit=unit_b, given_name="Fremmed", family_name="Person")
    return unit_a, unit_b, leader, advisor, ours, theirs


def test_purpose_is_required(client: FlaskClient, db_session: Session, setup: Any) -> None:
    """Is a request without a (long enough) purpose refused with a message, and no job written?"""
    unit_a, _b, leader, *_ = setup
    log_in(client, leader, db_session)
    before = _jobs(db_session)
    for purpose in ("", "too short"):
        response = _request(client, unit_a.id, purpose=purpose)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "Describe" in page
    assert _jobs(db_session) == before


def test_leader_cannot_request_for_another_unit(
    client: FlaskClient, db_session: Session, setup: Any
) -> None:
    _unit_a, unit_b, leader, *_ = setup
    log_in(client, leader, db_session)
    before = _jobs(db_session)
    response = _request(client, unit_b.id)
    assert response.status_code == 400
    assert _jobs(db_session) == before


@pytest.mark.parametrize("role", ["advisor", "teacher", "admin"])
def test_other_roles_are_refused(
    client: FlaskClient, db_session: Session, make_user: Any, setup: Any, role: str
) -> None:
    unit_a, *_ = setup
    log_in(client, make_user(role, unit_a), db_session)
    assert client.get("/unit/exports/").status_code == 403


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def test_csv_export_end_to_end(client: FlaskClient, db_session: Session, setup: Any) -> None:
    """Request → status page → download: the file carries the reference and only unit A's
    visible rows, decrypted; both steps are audited with the export reference."""
    unit_a, _b, leader, _advisor, ours, theirs = setup
    log_in(client, leader, db_session)
    response = _request(client, unit_a.id)
    assert response.status_code == 302
    ref = response.headers["Location"].rsplit("/", 1)[1]
    job = db_session.scalar(select(ExportJob).where(ExportJob.ref == ref))
    assert job is not None and job.status is ExportStatus.DONE
    assert job.rows_done == job.rows_total == 2
    assert job.purpose == PURPOSE
    status = client.get(f"/unit/exports/{ref}").get_data(as_text=True)
    assert "2 of 2 rows" in status and "http-equiv" not in status
    download = client.get(f"/unit/exports/{ref}/download")
    assert download.status_code == 200
    assert ref in download.headers["Content-Disposition"]
    rows = _csv_rows(download.data)
    assert rows[0] == ["export_reference", ref]
    assert rows[1] == ops.PARTICIPANT_LIST_HEADERS
    by_ref = {row[0]: row for row in rows[2:]}
    assert set(by_ref) == {ours[0].ref, ours[1].ref}  # no restricted record, no unit B
    assert by_ref[ours[0].ref][2:5] == ["Amina", "Ødegård", "1990-05-17"]
    assert by_ref[ours[0].ref][6] == "Rolf Rådgiver"
    assert by_ref[ours[1].ref][2] == "'=HYPERLINK(1)"  # never a formula
    assert theirs.ref not in download.get_data(as_text=True)
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.object_ref == ref)).all()
    assert {e.action for e in events} == {"export.request", "export.download"}
    assert all(e.unit_id == unit_a.id and e.actor_user_id == leader.id for e in events)
    assert PURPOSE not in " ".join(str(e.field_categories) for e in events)


def test_xlsx_export_carries_the_reference(
    client: FlaskClient, db_session: Session, setup: Any
) -> None:
    unit_a, _b, leader, _advisor, ours, _theirs = setup
    log_in(client, leader, db_session)
    response = _request(client, unit_a.id, format="xlsx")
    ref = response.headers["Location"].rsplit("/", 1)[1]
    download = client.get(f"/unit/exports/{ref}/download")
    book = load_workbook(io.BytesIO(download.data))
    assert book.properties.identifier == ref
    assert book.sheetnames == ["Export", "Data"]
    about = {row[0]: row[1] for row in book["Export"].iter_rows(values_only=True)}
    assert about["export_reference"] == ref
    assert about["unit"] == "Enhet A" and about["purpose"] == PURPOSE
    data = list(book["Data"].iter_rows(values_only=True))
    assert list(data[0]) == ops.PARTICIPANT_LIST_HEADERS
    assert {row[0] for row in data[1:]} == {ours[0].ref, ours[1].ref}


def test_other_leader_gets_404(
    client: FlaskClient, db_session: Session, make_user: Any, setup: Any
) -> None:
    """Does a leader of unit B see or download unit A's job? No: 404, and it is not listed."""
    unit_a, unit_b, leader, *_ = setup
    log_in(client, leader, db_session)
    ref = _request(client, unit_a.id).headers["Location"].rsplit("/", 1)[1]
    log_in(client, make_user(Role.LEADER, unit_b), db_session)
    assert client.get(f"/unit/exports/{ref}").status_code == 404
    assert client.get(f"/unit/exports/{ref}/download").status_code == 404
    assert ref not in client.get("/unit/exports/").get_data(as_text=True)


def test_progress_is_committed_in_steps(
    app: Flask,
    db_session: Session,
    make_unit: Any,
    make_user: Any,
    make_participant: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Does run_export report rows_done while it works, and reach the total? Yes."""
    unit = make_unit()
    leader = make_user(Role.LEADER, unit, locale="en")
    for _ in range(7):
        make_participant(unit=unit)
    monkeypatch.setattr(ops, "PROGRESS_EVERY", 3)
    seen: list[int] = []
    flush = ops._Progress.flush

    def spy(self: Any) -> None:
        flush(self)
        with services(app).session_factory() as other:
            seen.append(other.get_one(ExportJob, self.job_id).rows_done)

    monkeypatch.setattr(ops._Progress, "flush", spy)
    job = ops.request_export(
        db_session, Actor(leader), unit, ExportKind.PARTICIPANT_LIST, ExportFormat.XLSX, PURPOSE
    )
    db_session.commit()
    assert ops.run_export(services(app).session_factory, job.id) is ExportStatus.DONE
    assert ops.run_export(services(app).session_factory, job.id) is None  # claimed once only
    db_session.refresh(job)
    assert seen == [3, 6]
    assert (job.rows_done, job.rows_total, job.status) == (7, 7, ExportStatus.DONE)


def test_failure_marks_the_job_failed(
    app: Flask,
    db_session: Session,
    make_unit: Any,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unit = make_unit()
    leader = make_user(Role.LEADER, unit, locale="en")
    job = ops.request_export(
        db_session, Actor(leader), unit, ExportKind.PARTICIPANT_LIST, ExportFormat.CSV, PURPOSE
    )
    db_session.commit()

    def broken(*_args: Any) -> Any:
        raise RuntimeError("Amina Ødegård 01019012345")

    monkeypatch.setattr(ops, "participant_list_table", broken)
    assert ops.run_export(services(app).session_factory, job.id) is ExportStatus.FAILED
    db_session.refresh(job)
    assert job.status is ExportStatus.FAILED and job.file_sealed is None


def test_stale_running_job_is_shown_interrupted(
    client: FlaskClient, db_session: Session, setup: Any
) -> None:
    unit_a, _b, leader, *_ = setup
    job = ops.request_export(
        db_session, Actor(leader), unit_a, ExportKind.PARTICIPANT_LIST, ExportFormat.CSV, PURPOSE
    )
    job.status = ExportStatus.RUNNING
    job.updated_at = utcnow() - timedelta(minutes=6)
    db_session.commit()
    log_in(client, leader, db_session)
    page = client.get(f"/unit/exports/{job.ref}").get_data(as_text=True)
    assert "Interrupted" in page and "Request again" in page
    assert "http-equiv" not in page
    job.updated_at = utcnow()
    db_session.commit()
    page = client.get(f"/unit/exports/{job.ref}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert re.search(r"<progress[^>]*value=\"0\"", page)


def test_expired_jobs_are_purged(db_session: Session, setup: Any) -> None:
    unit_a, _b, leader, *_ = setup
    job = ops.request_export(
        db_session, Actor(leader), unit_a, ExportKind.PARTICIPANT_LIST, ExportFormat.CSV, PURPOSE
    )
    keep = ops.request_export(
        db_session, Actor(leader), unit_a, ExportKind.PARTICIPANT_LIST, ExportFormat.CSV, PURPOSE
    )
    job.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert ops.purge_expired(db_session, utcnow()) == 1
    db_session.commit()
    assert db_session.scalar(select(ExportJob.id).where(ExportJob.ref == job.ref)) is None
    assert db_session.scalar(select(ExportJob.id).where(ExportJob.ref == keep.ref)) is not None


def test_nir_export_needs_a_year(client: FlaskClient, db_session: Session, setup: Any) -> None:
    unit_a, _b, leader, *_ = setup
    log_in(client, leader, db_session)
    before = _jobs(db_session)
    response = _request(client, unit_a.id, kind="nir_report", year="")
    assert response.status_code == 400
    assert _jobs(db_session) == before
    prefilled = client.get("/unit/exports/?kind=nir_report&year=2025").get_data(as_text=True)
    assert 'value="2025"' in prefilled


def test_nir_report_runs_through_the_machinery(
    client: FlaskClient, db_session: Session, setup: Any
) -> None:
    """Does a national register report come out as a CSV with the reference and the
    report's own header row? Yes (the rows themselves are tested in test_nir.py)."""
    nir = pytest.importorskip("models.nir")
    unit_a, _b, leader, *_ = setup
    log_in(client, leader, db_session)
    response = _request(client, unit_a.id, kind="nir_report", year="2026")
    assert response.status_code == 302
    ref = response.headers["Location"].rsplit("/", 1)[1]
    rows = _csv_rows(client.get(f"/unit/exports/{ref}/download").data)
    assert rows[0] == ["export_reference", ref]
    assert rows[1] == list(nir.REPORT_HEADERS)
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.object_ref == ref, AuditEvent.action == "export.request"
        )
    )
    assert event is not None and "kind:nir_report" in (event.field_categories or "")


def test_background_thread_finishes_the_job(tmp_path: Path, instance_dir: Path) -> None:
    """With the default EXPORT_IN_BACKGROUND, does the POST answer at once and a thread
    finish the job, seen by polling the status page? Yes (an app and database of its own:
    the shared test connection cannot be used from another thread)."""
    from models.accounts import Membership, Unit, User, hash_password
    from models.participants import Participant
    from models.sessions import create, new_token

    url, drop = _fresh_database(tmp_path, "background")
    app = build_app(url, EXPORT_IN_BACKGROUND=True)
    try:
        with services(app).session_factory() as session:
            unit = Unit(name="Bakgrunn")
            leader = User(
                email="lead@example.org",
                display_name="L",
                password_hash=hash_password("x"),
                locale="en",
            )
            session.add_all([unit, leader])
            session.flush()
            leader.memberships.append(Membership(unit_id=unit.id, role=Role.LEADER))
            for number in range(3):
                person = Participant(unit_id=unit.id)
                person.given_name, person.family_name = "Navn", f"Nummer{number}"
                session.add(person)
            token = new_token()
            create(
                session, token, {"_user_id": str(leader.id), "_fresh": True}, leader.id, utcnow()
            )
            session.commit()
            unit_id = unit.id
        client = app.test_client()
        client.set_cookie("veiviser_session", token)
        response = _request(client, unit_id)
        assert response.status_code == 302
        status_url = response.headers["Location"]
        deadline = time.monotonic() + 30
        page = client.get(status_url).get_data(as_text=True)
        while "/download" not in page and time.monotonic() < deadline:
            time.sleep(0.2)
            page = client.get(status_url).get_data(as_text=True)
        assert "3 of 3 rows" in page
        rows = _csv_rows(client.get(status_url + "/download").data)
        assert len(rows) == 2 + 3
    finally:
        services(app).engine.dispose()
        drop()
