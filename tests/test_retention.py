"""Retention: anonymise after the programme, with a dry run and a deletion log."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from app.cli import cli
from models.access import Consent
from models.codes import ParticipantStatus
from models.participants import Participant
from models.retention import DeletionLog


def invoke(app: Flask, args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: app))


def _ended(make_participant: Any, db_session: Any, ended: date, **kw: Any) -> Participant:
    participant = make_participant(status=ParticipantStatus.ENDED, programme_end_on=ended, **kw)
    participant.national_id = "17059012345"
    participant.address = "Storgata 1"
    participant.notes = "Sensitive note"
    db_session.commit()
    return participant


def test_dry_run_changes_nothing(
    app: Flask, db_session: Any, make_participant: Any, connection: Any
) -> None:
    """Does the dry run list the old record by reference and leave it untouched? Yes."""
    old = _ended(make_participant, db_session, date(2010, 3, 1))
    result = invoke(app, ["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert old.ref in result.output and "1 participant(s) would be anonymised" in result.output
    assert old.given_name not in result.output
    db_session.expire_all()
    assert db_session.get(Participant, old.id).anonymised_at is None


def test_run_anonymises_only_what_is_due(
    app: Flask,
    db_session: Any,
    make_user: Any,
    make_unit: Any,
    make_participant: Any,
    connection: Any,
) -> None:
    """Only records past the period lose their personal data; statistics fields stay."""
    partner_unit = make_unit()
    old = _ended(make_participant, db_session, date(2010, 3, 1))
    recent = _ended(make_participant, db_session, date(2024, 3, 1))
    active = make_participant(programme_end_on=None)
    consent = Consent(
        participant_id=old.id,
        partner_unit_id=partner_unit.id,
        sections="plan",
        valid_from=date(2009, 1, 1),
    )
    consent.purpose = "Job training with NAV"
    db_session.add(consent)
    db_session.commit()
    result = invoke(app, ["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "Anonymised 1 participant(s)" in result.output
    db_session.expire_all()
    gone = db_session.get(Participant, old.id)
    assert gone.anonymised_at is not None
    assert gone.given_name is None and gone.national_id is None and gone.notes is None
    assert gone.national_id_index is None and gone.birth_date is None
    assert gone.anonymised_birth_year == 1990
    assert gone.status is ParticipantStatus.ENDED and gone.programme_end_on == date(2010, 3, 1)
    assert gone.permit_category is not None and gone.unit_id == old.unit_id
    assert db_session.get(Consent, consent.id).purpose is None
    assert db_session.get(Participant, recent.id).given_name is not None
    assert db_session.get(Participant, active.id).given_name is not None
    log = db_session.scalars(select(DeletionLog)).all()
    assert [(entry.participant_ref, entry.retention_years) for entry in log] == [(old.ref, 10)]


def test_years_option_overrides_the_rule_set(
    app: Flask, db_session: Any, make_participant: Any, connection: Any
) -> None:
    """With --years 1, is a record ended two years ago due? Yes."""
    recent = _ended(make_participant, db_session, date(2024, 3, 1))
    result = invoke(app, ["retention", "run", "--years", "1"])
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert db_session.get(Participant, recent.id).anonymised_at is not None


def test_anonymised_records_leave_lists_and_search(
    app: Flask, client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """After anonymisation, does the record still appear in the caseload? No."""
    from tests.conftest import log_in

    advisor = make_user("advisor")
    old = _ended(
        make_participant,
        db_session,
        date(2010, 3, 1),
        unit=advisor.memberships[0].unit,
        advisor=advisor,
    )
    log_in(client, advisor, db_session)
    assert old.ref in client.get("/participants/").get_data(as_text=True)
    invoke(app, ["retention", "run"])
    assert old.ref not in client.get("/participants/").get_data(as_text=True)


# Registers that belong to a unit, not to one participant: kept as they are. Export files
# (ExportJob) hold many participants and are deleted 24 hours after they were made
# (`veiviser exports purge`; tests/test_exports.py), long before any retention period.
UNIT_REGISTERS = {
    "User",
    "Employer",
    "EmployerContact",
    "EmployerAgreement",
    "EmployerNote",
    "ExportJob",
}


def test_every_sealed_record_is_reached_by_retention() -> None:
    """Does retention know every table that holds sealed values about a participant? Yes:
    each such model has a participant_id, so a new module cannot be forgotten."""
    from models.crypto import Encrypted
    from models.retention import participant_sealed_columns

    reached = set(participant_sealed_columns()) | {Participant}
    owners = {owner for owner, _field in Encrypted.registry}
    missed = {o.__name__ for o in owners - reached} - UNIT_REGISTERS
    assert missed == set()


def test_case_work_loses_its_free_text(
    app: Flask, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Are follow-up summaries, task titles and decision notes blanked too? Yes; codes stay."""
    from datetime import datetime

    from models.codes import DecisionType, FollowUpKind
    from models.decisions import Decision
    from models.followups import FollowUp
    from models.tasks import Task

    advisor = make_user("advisor")
    old = _ended(make_participant, db_session, date(2010, 3, 1), advisor=advisor)
    follow_up = FollowUp(
        participant_id=old.id,
        occurred_at=datetime(2009, 5, 4, 10, tzinfo=UTC),
        kind=FollowUpKind.MEETING,
    )
    follow_up.summary = "Talked about the family's health"
    task = Task(participant_id=old.id, assignee_id=advisor.id, due_on=date(2009, 6, 1))
    task.title = "Call the doctor about the son"
    decision = Decision(
        participant_id=old.id,
        decision_type=DecisionType.LEAVE,
        decided_on=date(2009, 1, 5),
        appeal_due_on=date(2009, 1, 26),
        rule_set="NO-2021-01-01",
    )
    decision.note = "Leave for medical treatment"
    db_session.add_all([follow_up, task, decision])
    db_session.commit()
    assert invoke(app, ["retention", "run"]).exit_code == 0
    db_session.expire_all()
    assert db_session.get(FollowUp, follow_up.id).summary is None
    assert db_session.get(Task, task.id).title is None
    kept = db_session.get(Decision, decision.id)
    assert kept.note is None and kept.decision_type is DecisionType.LEAVE
