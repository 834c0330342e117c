"""Decisions (vedtak): the appeal deadline, its effects on the record, the pages, the access."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import decisions as ops
from models.access import Consent
from models.audit import AuditEvent
from models.base import local_today
from models.codes import AppealOutcome, DecisionType
from models.deadlines import DueStatus, deadlines_for
from models.decisions import AppealStatus, Decision, DecisionInput
from models.errors import Forbidden, NotFound, StaleEdit, ValidationFailed
from models.policy import Actor
from models.rules import DeadlineKind
from tests.conftest import csrf_token, log_in, post_form
from tests.test_fuzz import FUZZ, maybe_text

DECIDED = date(2026, 9, 1)
NOTIFIED = date(2026, 9, 3)
TODAY = date(2026, 11, 30)


@pytest.fixture
def advisor(make_user: Any) -> Any:
    user = make_user("advisor")
    user.locale = "en"
    return user


@pytest.fixture
def participant(advisor: Any, make_participant: Any) -> Any:
    return make_participant(unit=advisor.memberships[0].unit, advisor=advisor)


def _record(db_session: Any, advisor: Any, participant: Any, **fields: Any) -> Decision:
    data = DecisionInput(
        decision_type=fields.pop("decision_type", DecisionType.PLAN),
        decided_on=fields.pop("decided_on", DECIDED),
        **fields,
    )
    decision = ops.record_decision(
        db_session, Actor(advisor), participant, data, today=fields.get("today", TODAY)
    )
    db_session.commit()
    return decision


def _appeals(db_session: Any, participant: Any, today: date) -> list[Any]:
    return [
        d for d in deadlines_for(db_session, participant, today) if d.kind is DeadlineKind.APPEAL
    ]


# -- the appeal deadline -------------------------------------------------------------


def test_appeal_deadline_is_three_weeks_from_notice(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Is the appeal deadline the notice date + 3 weeks, from the rule set? Yes."""
    decision = _record(db_session, advisor, participant, notified_on=NOTIFIED)
    assert decision.appeal_due_on == NOTIFIED + timedelta(weeks=3)
    assert decision.rule_set.startswith("NO-")


def test_appeal_deadline_counts_from_decision_until_notice(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Without a notice date, does the deadline count from the decision date? Yes."""
    decision = _record(db_session, advisor, participant)
    assert decision.appeal_due_on == DECIDED + timedelta(weeks=3)


def test_appeal_deadline_boundary(db_session: Any, advisor: Any, participant: Any) -> None:
    """Is the appeal period open on the deadline day and expired (left out) the day after?"""
    decision = _record(db_session, advisor, participant, notified_on=NOTIFIED)
    due = NOTIFIED + timedelta(weeks=3)
    on_day = _appeals(db_session, participant, due)
    assert len(on_day) == 1
    assert on_day[0].due_on == due and on_day[0].met_on is None
    assert on_day[0].status(due) is DueStatus.DUE_SOON
    assert on_day[0].rule_id == "NO-2021/appeal-deadline"
    assert on_day[0].params["weeks"] == 3
    assert on_day[0].source_ref == decision.ref
    assert decision.appeal_status(due) == AppealStatus.OPEN
    assert _appeals(db_session, participant, due + timedelta(days=1)) == []
    assert decision.appeal_status(due + timedelta(days=1)) == AppealStatus.EXPIRED


def test_appeal_received_meets_the_deadline(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Once an appeal is received, is the deadline met (and still listed later)? Yes."""
    received = NOTIFIED + timedelta(days=10)
    _record(db_session, advisor, participant, notified_on=NOTIFIED, appeal_received_on=received)
    later = _appeals(db_session, participant, TODAY)
    assert [d.met_on for d in later] == [received]


def test_outcome_without_appeal_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    """Can an outcome be recorded when no appeal was received? No."""
    with pytest.raises(ValidationFailed) as error:
        _record(db_session, advisor, participant, appeal_outcome=AppealOutcome.UPHELD)
    assert error.value.field == "appeal_outcome"


def test_notice_before_decision_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    """Can the participant be told before the decision date? No."""
    with pytest.raises(ValidationFailed) as error:
        _record(db_session, advisor, participant, notified_on=DECIDED - timedelta(days=1))
    assert error.value.field == "notified_on"


def test_future_decision_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    """Can a decision be dated after today? No."""
    with pytest.raises(ValidationFailed):
        _record(db_session, advisor, participant, decided_on=TODAY + timedelta(days=1))


# -- effects on the record -------------------------------------------------------------


def test_programme_decision_meets_the_legal_deadline(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a programme decision fill the programme decision date and meet that deadline?"""
    assert participant.programme_decision_on is None
    _record(db_session, advisor, participant, decision_type=DecisionType.PROGRAMME)
    assert participant.programme_decision_on == DECIDED
    legal = [
        d
        for d in deadlines_for(db_session, participant, TODAY)
        if d.kind is DeadlineKind.PROGRAMME_DECISION
    ]
    assert legal and all(d.met_on == DECIDED for d in legal)


def test_second_programme_decision_keeps_the_first_date(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a later programme decision overwrite the first one's date? No."""
    _record(db_session, advisor, participant, decision_type=DecisionType.PROGRAMME)
    _record(
        db_session,
        advisor,
        participant,
        decision_type=DecisionType.PROGRAMME,
        decided_on=DECIDED + timedelta(days=20),
    )
    assert participant.programme_decision_on == DECIDED


def test_correcting_the_programme_decision_date_follows(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """When the programme decision's date is corrected, does the record follow? Yes."""
    decision = _record(db_session, advisor, participant, decision_type=DecisionType.PROGRAMME)
    ops.update_decision(
        db_session,
        Actor(advisor),
        participant,
        decision,
        decision.version,
        DecisionInput(decision_type=DecisionType.PROGRAMME, decided_on=DECIDED + timedelta(1)),
        today=TODAY,
    )
    assert participant.programme_decision_on == DECIDED + timedelta(1)


def test_stale_update_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    """Is a save against an older version refused? Yes."""
    decision = _record(db_session, advisor, participant)
    with pytest.raises(StaleEdit):
        ops.update_decision(
            db_session,
            Actor(advisor),
            participant,
            decision,
            decision.version - 1,
            DecisionInput(decision_type=DecisionType.PLAN, decided_on=DECIDED),
            today=TODAY,
        )


def test_note_is_sealed_and_audited_by_category(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Is the note stored encrypted and the audit event free of it? Yes."""
    decision = _record(db_session, advisor, participant, note="Hemmelig merknad")
    assert b"Hemmelig" not in (decision.note_sealed or b"")
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.object_ref == decision.ref)
    ).one()
    assert event.action == "decision.create"
    assert "Hemmelig" not in repr(event.__dict__)


def test_leader_may_not_record(db_session: Any, make_user: Any, participant: Any) -> None:
    """Can the unit's leader record a decision? No."""
    leader = make_user("leader", participant.unit)
    with pytest.raises(Forbidden):
        _record(db_session, leader, participant)


def test_other_advisor_may_not_record(db_session: Any, make_user: Any, participant: Any) -> None:
    """Can an advisor of the same unit who is not assigned record one? No (404)."""
    other = make_user("advisor", participant.unit)
    with pytest.raises(NotFound):
        _record(db_session, other, participant)


# -- pages ---------------------------------------------------------------------------


def _url(participant: Any, tail: str = "") -> str:
    return f"/participants/{participant.ref}/decisions{tail}"


def test_advisor_records_a_decision_through_the_form(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the form record a decision and list it with its appeal deadline? Yes."""
    log_in(client, advisor, db_session)
    response = post_form(
        client,
        _url(participant),
        {"decision_type": "programme", "decided_on": "2026-11-20", "notified_on": "2026-11-23"},
    )
    assert response.status_code == 302
    page = client.get(_url(participant)).get_data(as_text=True)
    assert "2026-12-14" in page
    assert "Appeal period open" in page or "appeal" in page.lower()


def test_form_refuses_notice_before_decision(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the form say so when the notice date is before the decision date? Yes, 400."""
    log_in(client, advisor, db_session)
    response = post_form(
        client,
        _url(participant),
        {"decision_type": "plan", "decided_on": "2026-11-20", "notified_on": "2026-11-19"},
    )
    assert response.status_code == 400
    assert "before the decision was made" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Decision)) == 0


def test_form_refuses_outcome_without_appeal(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the edit form refuse an outcome without an appeal date? Yes, 400."""
    decision = _record(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    response = post_form(
        client,
        _url(participant, f"/{decision.ref}"),
        {
            "decision_type": "plan",
            "decided_on": DECIDED.isoformat(),
            "appeal_outcome": "upheld",
            "version": str(decision.version),
        },
    )
    assert response.status_code == 400
    assert "only when an appeal was received" in response.get_data(as_text=True)


def test_appeal_recorded_through_the_form(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the edit form record an appeal and its outcome? Yes."""
    decision = _record(db_session, advisor, participant, notified_on=NOTIFIED)
    log_in(client, advisor, db_session)
    response = post_form(
        client,
        _url(participant, f"/{decision.ref}"),
        {
            "decision_type": "plan",
            "decided_on": DECIDED.isoformat(),
            "notified_on": NOTIFIED.isoformat(),
            "appeal_received_on": "2026-09-10",
            "appeal_outcome": "upheld",
            "version": str(decision.version),
        },
    )
    assert response.status_code == 302
    db_session.refresh(decision)
    assert decision.appeal_outcome is AppealOutcome.UPHELD


def test_stale_form_is_409_and_keeps_input(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a stale edit answer 409 and keep what was typed? Yes."""
    decision = _record(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    response = post_form(
        client,
        _url(participant, f"/{decision.ref}"),
        {
            "decision_type": "plan",
            "decided_on": DECIDED.isoformat(),
            "note": "My unsaved words",
            "version": str(decision.version - 1),
        },
    )
    assert response.status_code == 409
    assert "My unsaved words" in response.get_data(as_text=True)


def test_leader_reads_but_has_no_form(
    client: Any, db_session: Any, make_user: Any, advisor: Any, participant: Any
) -> None:
    """Does the leader see the decisions without a form, and get 403 on POST? Yes."""
    decision = _record(db_session, advisor, participant, note="Notat")
    leader = make_user("leader", participant.unit)
    log_in(client, leader, db_session)
    page = client.get(_url(participant, f"/{decision.ref}"))
    assert page.status_code == 200
    assert "Notat" in page.get_data(as_text=True)
    assert 'name="decided_on"' not in page.get_data(as_text=True)
    token = csrf_token(client, _url(participant))
    posted = client.post(_url(participant), data={"csrf_token": token, "decision_type": "plan"})
    assert posted.status_code == 403


def test_teacher_gets_404_and_admin_403(
    client: Any, db_session: Any, make_user: Any, participant: Any
) -> None:
    """Do a teacher and an admin of the unit see the decisions? No: 404 and 403."""
    log_in(client, make_user("teacher", participant.unit), db_session)
    assert client.get(_url(participant)).status_code == 404
    log_in(client, make_user("admin", participant.unit), db_session)
    assert client.get(_url(participant)).status_code == 403


def test_partner_needs_consent_to_decisions(
    client: Any, db_session: Any, make_user: Any, make_unit: Any, participant: Any
) -> None:
    """Does a partner read decisions only with consent to that section? Yes."""
    partner_unit = make_unit()
    partner = make_user("partner", partner_unit)
    consent = Consent(
        participant_id=participant.id,
        partner_unit_id=partner_unit.id,
        sections="plan",
        valid_from=local_today(),
    )
    db_session.add(consent)
    db_session.commit()
    log_in(client, partner, db_session)
    assert client.get(_url(participant)).status_code == 404
    consent.sections = "plan,decisions"
    db_session.commit()
    assert client.get(_url(participant)).status_code == 200


def test_reading_writes_one_event(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does opening the list write exactly one audit event? Yes."""
    log_in(client, advisor, db_session)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    assert client.get(_url(participant)).status_code == 200
    after = db_session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == before + 1


def test_overview_panel_lists_decisions(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the overview show the decisions, newest first? Yes."""
    _record(db_session, advisor, participant, decision_type=DecisionType.LEAVE)
    _record(
        db_session,
        advisor,
        participant,
        decision_type=DecisionType.PROGRAMME,
        decided_on=DECIDED + timedelta(days=5),
    )
    log_in(client, advisor, db_session)
    page = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert page.index("Participation in the programme") < page.index("Leave")


def test_unknown_decision_is_404(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    log_in(client, advisor, db_session)
    assert client.get(_url(participant, "/nothing-here")).status_code == 404


# -- fuzz ------------------------------------------------------------------------------

dates = st.one_of(
    st.none(),
    maybe_text,
    st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat),
)
codes = st.one_of(
    maybe_text, st.sampled_from([t.value for t in DecisionType] + [o.value for o in AppealOutcome])
)


@FUZZ
@given(
    decision_type=codes,
    decided_on=dates,
    notified_on=dates,
    appeal_received_on=dates,
    appeal_outcome=codes,
    note=maybe_text,
    version=maybe_text,
)
def test_decision_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    make_participant: Any,
    decision_type: Any,
    decided_on: Any,
    notified_on: Any,
    appeal_received_on: Any,
    appeal_outcome: Any,
    note: Any,
    version: Any,
) -> None:
    """Whatever is typed: never a 5xx, and a decision is saved only on a redirect."""
    user = make_user("advisor")
    target = make_participant(unit=user.memberships[0].unit, advisor=user)
    log_in(client, user, db_session)
    existing = _record(db_session, user, target)
    data = {
        k: v
        for k, v in {
            "decision_type": decision_type,
            "decided_on": decided_on,
            "notified_on": notified_on,
            "appeal_received_on": appeal_received_on,
            "appeal_outcome": appeal_outcome,
            "note": note,
            "version": version,
        }.items()
        if v is not None
    }
    token = csrf_token(client, _url(target))
    created = client.post(_url(target), data={**data, "csrf_token": token})
    assert created.status_code in (302, 400)
    count = db_session.scalar(
        select(func.count()).select_from(Decision).where(Decision.participant_id == target.id)
    )
    assert count == (2 if created.status_code == 302 else 1)
    before = existing.version
    edited = client.post(_url(target, f"/{existing.ref}"), data={**data, "csrf_token": token})
    assert edited.status_code in (302, 400, 409)
    db_session.refresh(existing)
    if edited.status_code != 302:
        assert existing.version == before


def test_extension_forces_a_plan_review(db_session: Any, advisor: Any, participant: Any) -> None:
    """Does an extension decision make the plan's review due? Yes, on the day it is recorded."""
    from models.codes import EndGoal
    from models.plans import Plan

    plan = Plan(
        participant_id=participant.id,
        end_goal=EndGoal.WORK,
        programme_start_on=date(2025, 1, 6),
        planned_end_on=date(2027, 1, 5),
        hours_per_week_norm=37.5,
        review_due_on=date(2027, 6, 1),
    )
    db_session.add(plan)
    db_session.commit()
    _record(db_session, advisor, participant, decision_type=DecisionType.EXTENSION)
    db_session.refresh(plan)
    assert plan.review_due_on == TODAY
