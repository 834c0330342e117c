"""Follow-ups: logging with next actions that become tasks, corrections under optimistic
locking, who reads and who writes, the overview panel, and fuzzed forms."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models.access import Consent
from models.audit import AuditEvent
from models.base import local_today
from models.codes import FollowUpKind
from models.errors import Forbidden, NotFound, StaleEdit, ValidationFailed
from models.followups import (
    FollowUp,
    FollowUpInput,
    correct_follow_up,
    log_follow_up,
)
from models.policy import Actor
from models.tasks import NextAction, Task
from tests.conftest import csrf_token, log_in

SUMMARY = "Snakket om norskkurs på kveldstid.\nHar fått barnehageplass."


@pytest.fixture
def team(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    class Team:
        unit = make_unit()
        advisor = make_user("advisor", unit, name="Aisha Rådgiver")
        leader = make_user("leader", unit, name="Lene Leder")
        colleague = make_user("advisor", unit, name="Kari Kollega")
        teacher = make_user("teacher", unit)
        admin = make_user("admin", unit)
        partner_unit = make_unit()
        partner = make_user("partner", partner_unit)
        participant = make_participant(unit=unit, advisor=advisor)

    return Team


def _input(team: Any, **changes: Any) -> FollowUpInput:
    values: dict[str, Any] = {
        "occurred_on": local_today(),
        "occurred_time": time(9, 30),
        "kind": FollowUpKind.MEETING,
        "interpreter_used": True,
        "interpreter_language": "ar",
        "attendees": [team.advisor, team.leader],
        "externals": "Søsteren Fatima",
        "summary": SUMMARY,
        "next_actions": [],
    }
    values.update(changes)
    return FollowUpInput(**values)


def _log(db_session: Any, team: Any, **changes: Any) -> FollowUp:
    follow_up = log_follow_up(
        db_session,
        Actor(team.advisor),
        team.participant,
        _input(team, **changes),
        today=local_today(),
    )
    db_session.commit()
    return follow_up


# -- the model ------------------------------------------------------------------------


def test_next_actions_become_tasks(db_session: Any, team: Any) -> None:
    due = local_today() + timedelta(days=3)
    follow_up = _log(
        db_session,
        team,
        next_actions=[
            NextAction("Søk barnehageplass", team.advisor, True, due),
            NextAction(),  # an empty row is skipped
            NextAction("Avtal møte med NAV", team.leader, True, due + timedelta(days=1)),
        ],
    )
    tasks = db_session.scalars(select(Task).order_by(Task.due_on)).all()
    assert [(t.title, t.assignee_id, t.follow_up_id) for t in tasks] == [
        ("Søk barnehageplass", team.advisor.id, follow_up.id),
        ("Avtal møte med NAV", team.leader.id, follow_up.id),
    ]
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "follow_up.create"
    assert "tasks" in event.field_categories and "Fatima" not in event.field_categories


def test_summary_and_externals_are_sealed(db_session: Any, team: Any) -> None:
    follow_up = _log(db_session, team)
    row = db_session.execute(
        select(FollowUp.summary_sealed, FollowUp.externals_sealed).where(
            FollowUp.id == follow_up.id
        )
    ).one()
    assert b"norskkurs" not in row[0] and b"Fatima" not in row[1]
    assert follow_up.summary == SUMMARY
    assert follow_up.summary_first_line == "Snakket om norskkurs på kveldstid."


def test_partly_filled_next_action_is_refused_and_nothing_saved(db_session: Any, team: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        log_follow_up(
            db_session,
            Actor(team.advisor),
            team.participant,
            _input(team, next_actions=[NextAction("Ring", None, False, None)]),
            today=local_today(),
        )
    assert caught.value.field == "action1_assignee"
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_next_action_for_someone_unseen_is_refused(db_session: Any, team: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        log_follow_up(
            db_session,
            Actor(team.advisor),
            team.participant,
            _input(
                team,
                next_actions=[NextAction("Ring", team.colleague, True, local_today())],
            ),
            today=local_today(),
        )
    assert caught.value.field == "action1_assignee"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"summary": "  "}, "summary"),
        ({"summary": "x" * 8001}, "summary"),
        ({"occurred_on": None}, "occurred_on"),
        ({"occurred_time": None}, "occurred_time"),
        ({"kind": None}, "kind"),
        ({"interpreter_language": "xx1"}, "interpreter_language"),
        ({"interpreter_used": False}, "interpreter_language"),
        ({"externals": "x" * 501}, "externals"),
        ({"attendees_valid": False}, "attendees"),
    ],
)
def test_validation(db_session: Any, team: Any, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        log_follow_up(
            db_session,
            Actor(team.advisor),
            team.participant,
            _input(team, **changes),
            today=local_today(),
        )
    assert caught.value.field == field


def test_future_date_is_refused(db_session: Any, team: Any) -> None:
    with pytest.raises(ValidationFailed):
        _log(db_session, team, occurred_on=local_today() + timedelta(days=1))


def test_attendee_who_cannot_see_the_participant_is_refused(db_session: Any, team: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _log(db_session, team, attendees=[team.colleague])
    assert caught.value.field == "attendees"


@pytest.mark.parametrize("who", ["leader", "colleague", "partner"])
def test_only_the_assigned_advisor_logs(db_session: Any, team: Any, who: str) -> None:
    with pytest.raises((Forbidden, NotFound)):
        log_follow_up(
            db_session,
            Actor(getattr(team, who)),
            team.participant,
            _input(team),
            today=local_today(),
        )


def test_correction_and_stale_version(db_session: Any, team: Any) -> None:
    follow_up = _log(db_session, team)
    version = follow_up.version
    changed = correct_follow_up(
        db_session,
        Actor(team.advisor),
        follow_up,
        team.participant,
        version,
        _input(team, summary="Rettet sammendrag", kind=FollowUpKind.PHONE),
    )
    db_session.commit()
    assert changed == {"summary", "kind"}
    with pytest.raises(StaleEdit):
        correct_follow_up(
            db_session,
            Actor(team.advisor),
            follow_up,
            team.participant,
            version,
            _input(team),
        )


# -- views ---------------------------------------------------------------------------


def _form_data(team: Any, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "occurred_on": local_today().isoformat(),
        "occurred_time": "09:30",
        "kind": "meeting",
        "interpreter_used": "y",
        "interpreter_language": "ar",
        "attendees": [str(team.advisor.id)],
        "externals": "Søsteren Fatima",
        "summary": SUMMARY,
        "action1_title": "Søk barnehageplass",
        "action1_assignee": str(team.advisor.id),
        "action1_due_on": (local_today() + timedelta(days=2)).isoformat(),
    }
    data.update(changes)
    return data


def test_log_through_the_form(client: Any, db_session: Any, team: Any) -> None:
    log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, data={**_form_data(team), "csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    follow_up = db_session.scalars(select(FollowUp)).one()
    assert follow_up.summary == SUMMARY and [u.id for u in follow_up.attendees] == [team.advisor.id]
    assert db_session.scalars(select(Task)).one().follow_up_id == follow_up.id
    listing = client.get(url).get_data(as_text=True)
    assert "Snakket om norskkurs" in listing and "Søk barnehageplass" in listing
    detail = client.get(f"{url}/{follow_up.ref}")
    assert detail.status_code == 200 and "Fatima" in detail.get_data(as_text=True)
    overview = client.get(f"/participants/{team.participant.ref}").get_data(as_text=True)
    assert "Snakket om norskkurs" in overview and "Søk barnehageplass" in overview


def test_form_error_keeps_input_and_saves_nothing(client: Any, db_session: Any, team: Any) -> None:
    log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    response = client.post(
        url,
        data={
            **_form_data(team, action1_assignee=""),
            "csrf_token": csrf_token(client, url),
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Snakket om norskkurs" in page  # the summary is still in the form
    assert db_session.scalar(select(func.count()).select_from(FollowUp)) == 0
    assert db_session.scalar(select(func.count()).select_from(Task)) == 0


def test_stale_correction_is_409_and_keeps_input(client: Any, db_session: Any, team: Any) -> None:
    follow_up = _log(db_session, team)
    log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/followups/{follow_up.ref}"
    token = csrf_token(client, url)
    fresh = client.post(
        url,
        data={
            **_form_data(team, summary="Første rettelse"),
            "version": str(follow_up.version),
            "csrf_token": token,
        },
    )
    assert fresh.status_code == 302
    stale = client.post(
        url,
        data={
            **_form_data(team, summary="Andre rettelse"),
            "version": str(follow_up.version),
            "csrf_token": token,
        },
    )
    assert stale.status_code == 409
    assert "Andre rettelse" in stale.get_data(as_text=True)
    db_session.refresh(follow_up)
    assert follow_up.summary == "Første rettelse"


def test_leader_reads_but_does_not_write(client: Any, db_session: Any, team: Any) -> None:
    follow_up = _log(db_session, team)
    log_in(client, team.leader, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    page = client.get(url)
    assert page.status_code == 200
    assert 'id="follow-up-form"' not in page.get_data(as_text=True)
    assert client.get(f"{url}/{follow_up.ref}").status_code == 200
    token = csrf_token(client, url)
    response = client.post(url, data={**_form_data(team), "csrf_token": token})
    assert response.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(FollowUp)) == 1


@pytest.mark.parametrize(("who", "status"), [("teacher", 404), ("admin", 403), ("colleague", 404)])
def test_others_see_nothing(client: Any, db_session: Any, team: Any, who: str, status: int) -> None:
    log_in(client, getattr(team, who), db_session)
    assert client.get(f"/participants/{team.participant.ref}/followups").status_code == status


def test_partner_reads_only_with_consent(client: Any, db_session: Any, team: Any) -> None:
    follow_up = _log(db_session, team)
    consent = Consent(
        participant_id=team.participant.id,
        partner_unit_id=team.partner_unit.id,
        sections="plan",
        valid_from=local_today() - timedelta(days=1),
    )
    db_session.add(consent)
    db_session.commit()
    log_in(client, team.partner, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    assert client.get(url).status_code == 404
    consent.sections = "follow_ups,plan"
    db_session.commit()
    page = client.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="follow-up-form"' not in text and 'id="task-form"' not in text
    assert client.get(f"{url}/{follow_up.ref}").status_code == 200


def test_reading_writes_one_event(client: Any, db_session: Any, team: Any) -> None:
    log_in(client, team.leader, db_session)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    client.get(f"/participants/{team.participant.ref}/followups")
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_ref) == ("follow_up.list", team.participant.ref)


def test_follow_up_of_another_participant_is_404(
    client: Any, db_session: Any, team: Any, make_participant: Any
) -> None:
    follow_up = _log(db_session, team)
    other = make_participant(unit=team.unit, advisor=team.advisor)
    log_in(client, team.advisor, db_session)
    assert client.get(f"/participants/{other.ref}/followups/{follow_up.ref}").status_code == 404


# -- fuzzing ---------------------------------------------------------------------------

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.sampled_from(
        ["", " ", "\x00", "a" * 9000, "2026-02-30", "25:61", "meeting", "1", "-1", "ar", "y"]
    ),
)


@FUZZ
@given(
    occurred_on=text,
    occurred_time=text,
    kind=text,
    interpreter_used=text,
    interpreter_language=text,
    attendees=st.one_of(st.none(), text, st.lists(st.integers().map(str), max_size=3)),
    externals=text,
    summary=text,
    title=text,
    assignee=text,
    due_on=text,
    version=text,
)
def test_follow_up_forms_never_fail(
    client: Any,
    db_session: Any,
    team: Any,
    occurred_on: Any,
    occurred_time: Any,
    kind: Any,
    interpreter_used: Any,
    interpreter_language: Any,
    attendees: Any,
    externals: Any,
    summary: Any,
    title: Any,
    assignee: Any,
    due_on: Any,
    version: Any,
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    data = {
        "occurred_on": occurred_on,
        "occurred_time": occurred_time,
        "kind": kind,
        "interpreter_used": interpreter_used,
        "interpreter_language": interpreter_language,
        "attendees": attendees,
        "externals": externals,
        "summary": summary,
        "action1_title": title,
        "action1_assignee": assignee,
        "action1_due_on": due_on,
        "version": version,
    }
    data = {k: v for k, v in data.items() if v is not None}
    data["csrf_token"] = csrf_token(client, url)
    before = (
        db_session.scalar(select(func.count()).select_from(FollowUp)),
        db_session.scalar(select(func.count()).select_from(Task)),
    )
    created = client.post(url, data=data)
    assert created.status_code in (302, 400)
    after = (
        db_session.scalar(select(func.count()).select_from(FollowUp)),
        db_session.scalar(select(func.count()).select_from(Task)),
    )
    if created.status_code == 302:
        assert after[0] == before[0] + 1
    else:
        assert after == before
    existing = db_session.scalars(select(FollowUp)).first()
    if existing is None:
        return
    corrected = client.post(f"{url}/{existing.ref}", data=data)
    assert corrected.status_code in (302, 400, 409)
