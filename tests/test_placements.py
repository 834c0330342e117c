"""Work placements: recording, evaluations with a rating per goal, the outcome, adding a
placement to the plan, who reads and who writes, the overview panel, fuzzed forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models.access import Consent
from models.audit import AuditEvent
from models.base import local_today
from models.codes import EndGoal, PlanElementType
from models.errors import NotFound, StaleEdit, ValidationFailed
from models.placements import (
    ContactInput,
    EmployerInput,
    EvaluationInput,
    JobOutcome,
    Placement,
    PlacementEvaluation,
    PlacementInput,
    PlacementStatus,
    PlacementType,
    add_contact,
    add_evaluation,
    add_placement_to_plan,
    create_employer,
    create_placement,
    update_placement,
)
from models.plans import PlanElement, PlanInput, plan_of, save_plan
from models.policy import Actor
from tests.conftest import csrf_token, log_in

TODAY = local_today()
GOALS = "Lære kassesystemet\nSnakke norsk med kunder"


@pytest.fixture
def team(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    unit = make_unit()
    advisor = make_user("advisor", unit, name="Aisha Rådgiver", locale="en")
    employer = create_employer(
        db_session, Actor(advisor), unit.id, EmployerInput(name="Bakeriet AS")
    )
    supervisor = add_contact(db_session, Actor(advisor), employer, ContactInput(name="Per Veil"))
    db_session.commit()

    class Team:
        pass

    t = Team()
    t.unit = unit  # type: ignore[attr-defined]
    t.advisor = advisor  # type: ignore[attr-defined]
    t.leader = make_user("leader", unit)  # type: ignore[attr-defined]
    t.colleague = make_user("advisor", unit)  # type: ignore[attr-defined]
    t.teacher = make_user("teacher", unit)  # type: ignore[attr-defined]
    t.admin = make_user("admin", unit)  # type: ignore[attr-defined]
    t.partner_unit = make_unit()  # type: ignore[attr-defined]
    t.partner = make_user("partner", t.partner_unit)  # type: ignore[attr-defined]
    t.participant = make_participant(unit=unit, advisor=advisor)  # type: ignore[attr-defined]
    t.employer = employer  # type: ignore[attr-defined]
    t.supervisor = supervisor  # type: ignore[attr-defined]
    return t


def _input(team: Any, **changes: Any) -> PlacementInput:
    values: dict[str, Any] = {
        "employer_ref": team.employer.ref,
        "supervisor_ref": team.supervisor.ref,
        "placement_type": PlacementType.LANGUAGE_PRACTICE,
        "start_on": TODAY - timedelta(days=30),
        "end_on": TODAY + timedelta(days=60),
        "days_per_week": 3,
        "hours_per_week": 12.5,
        "goals": GOALS,
        "status": PlacementStatus.ONGOING,
        "outcome": JobOutcome.UNKNOWN,
    }
    values.update(changes)
    return PlacementInput(**values)


def _place(db_session: Any, team: Any, **changes: Any) -> Placement:
    placement = create_placement(
        db_session, Actor(team.advisor), team.participant, _input(team, **changes), today=TODAY
    )
    db_session.commit()
    return placement


def _plan(db_session: Any, team: Any) -> None:
    save_plan(
        db_session,
        Actor(team.advisor),
        team.participant,
        0,
        PlanInput(
            end_goal=EndGoal.WORK,
            programme_start_on=TODAY - timedelta(days=60),
            planned_end_on=TODAY + timedelta(days=600),
            hours_per_week_norm=37.5,
        ),
        reason="First plan",
        today=TODAY,
    )
    db_session.commit()


# -- the model ---------------------------------------------------------------------------


def test_goals_are_sealed_and_supervisor_linked(db_session: Any, team: Any) -> None:
    placement = _place(db_session, team)
    assert placement.goals_sealed and b"kasse" not in placement.goals_sealed
    assert placement.goal_list == GOALS.splitlines()
    assert placement.supervisor is not None and placement.supervisor.name == "Per Veil"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"employer_ref": "nope"}, "employer"),
        ({"supervisor_ref": "nope"}, "supervisor"),
        ({"placement_type": None}, "placement_type"),
        ({"start_on": None}, "start_on"),
        ({"end_on": TODAY - timedelta(days=400)}, "end_on"),
        ({"days_per_week": 0}, "days_per_week"),
        ({"days_per_week": 8}, "days_per_week"),
        ({"hours_per_week": 0}, "hours_per_week"),
        ({"hours_per_week": 61}, "hours_per_week"),
        ({"goals": "\n".join(f"goal {i}" for i in range(9))}, "goals"),
        ({"goals": "x" * 301}, "goals"),
        ({"status": PlacementStatus.PLANNED, "outcome": JobOutcome.YES}, "outcome"),
    ],
)
def test_validation(db_session: Any, team: Any, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _place(db_session, team, **changes)
    assert exc.value.field == field


def test_employer_of_another_unit_is_refused(db_session: Any, team: Any, make_user: Any) -> None:
    other = make_user("advisor")
    foreign = create_employer(
        db_session, Actor(other), other.memberships[0].unit_id, EmployerInput(name="Far AS")
    )
    with pytest.raises(ValidationFailed):
        _place(db_session, team, employer_ref=foreign.ref, supervisor_ref="")


def test_only_the_assigned_advisor_writes(db_session: Any, team: Any) -> None:
    with pytest.raises(NotFound):
        create_placement(
            db_session, Actor(team.colleague), team.participant, _input(team), today=TODAY
        )


def test_stale_update_is_refused(db_session: Any, team: Any) -> None:
    placement = _place(db_session, team)
    with pytest.raises(StaleEdit):
        update_placement(
            db_session,
            Actor(team.advisor),
            team.participant,
            placement,
            placement.version + 1,
            _input(team),
            today=TODAY,
        )


def test_evaluation_rates_each_goal(db_session: Any, team: Any) -> None:
    placement = _place(db_session, team)
    evaluation = add_evaluation(
        db_session,
        Actor(team.advisor),
        team.participant,
        placement,
        EvaluationInput(TODAY, "Går bra", [3, None], "Mer kassetrening"),
        today=TODAY,
    )
    db_session.commit()
    assert evaluation.rating_list == [3, 0]
    assert evaluation.summary_sealed and b"bra" not in evaluation.summary_sealed
    for bad in ([5, 1], [1, 2, 3]):
        with pytest.raises(ValidationFailed):
            add_evaluation(
                db_session,
                Actor(team.advisor),
                team.participant,
                placement,
                EvaluationInput(TODAY, "x", bad),
                today=TODAY,
            )


def test_evaluation_dates(db_session: Any, team: Any) -> None:
    placement = _place(db_session, team)
    for when in (TODAY + timedelta(days=1), placement.start_on - timedelta(days=1)):
        with pytest.raises(ValidationFailed) as exc:
            add_evaluation(
                db_session,
                Actor(team.advisor),
                team.participant,
                placement,
                EvaluationInput(when, "x"),
                today=TODAY,
            )
        assert exc.value.field == "evaluated_on"


def test_add_to_plan_creates_the_element_with_the_hours(db_session: Any, team: Any) -> None:
    """Does adding the placement to the plan create the element with its hours? Yes."""
    placement = _place(db_session, team)
    _plan(db_session, team)
    add_placement_to_plan(
        db_session, Actor(team.advisor), team.participant, placement, placement.version, today=TODAY
    )
    db_session.commit()
    element = db_session.get(PlanElement, placement.plan_element_id)
    assert element is not None
    assert element.element_type is PlanElementType.LANGUAGE_PRACTICE
    assert element.hours_per_week == 12.5
    assert (element.start_on, element.end_on) == (placement.start_on, placement.end_on)
    with pytest.raises(ValidationFailed):
        add_placement_to_plan(
            db_session,
            Actor(team.advisor),
            team.participant,
            placement,
            placement.version,
            today=TODAY,
        )


def test_add_to_plan_without_a_plan_says_so(db_session: Any, team: Any) -> None:
    placement = _place(db_session, team)
    with pytest.raises(ValidationFailed) as exc:
        add_placement_to_plan(
            db_session,
            Actor(team.advisor),
            team.participant,
            placement,
            placement.version,
            today=TODAY,
        )
    assert "no plan" in exc.value.message


# -- the pages ---------------------------------------------------------------------------


def _form_data(team: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "employer": team.employer.ref,
        "supervisor": team.supervisor.ref,
        "placement_type": "work_practice",
        "start_on": (TODAY - timedelta(days=10)).isoformat(),
        "end_on": "",
        "days_per_week": "4",
        "hours_per_week": "20",
        "goals": GOALS,
        "status": "ongoing",
        "outcome": "unknown",
    }
    data.update(changes)
    return data


def test_record_evaluate_and_plan_through_the_forms(
    client: Any, db_session: Any, team: Any
) -> None:
    _plan(db_session, team)
    log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/placements"
    token = csrf_token(client, url)
    response = client.post(url, data={**_form_data(team), "csrf_token": token})
    assert response.status_code == 302
    placement = db_session.scalars(select(Placement)).one()
    item = f"{url}/{placement.ref}"
    response = client.post(
        f"{item}/evaluations/new",
        data={
            "csrf_token": token,
            "evaluated_on": TODAY.isoformat(),
            "summary": "Stødig innsats",
            "ratings-0": "4",
            "ratings-1": "",
            "next_steps": "Søke jobb",
        },
    )
    assert response.status_code == 302
    evaluation = db_session.scalars(select(PlacementEvaluation)).one()
    assert evaluation.rating_list == [4, 0]
    response = client.post(
        f"{item}/plan", data={"csrf_token": token, "version": str(placement.version)}
    )
    assert response.status_code == 302
    db_session.refresh(placement)
    element = db_session.get(PlanElement, placement.plan_element_id)
    assert element is not None and element.hours_per_week == 20
    assert element.element_type is PlanElementType.WORK_PRACTICE
    page = client.get(item).get_data(as_text=True)
    assert "Stødig innsats" in page and "Per Veil" in page
    overview = client.get(f"/participants/{team.participant.ref}").get_data(as_text=True)
    assert "Bakeriet AS" in overview


def test_add_to_plan_without_plan_flashes_the_reason(
    client: Any, db_session: Any, team: Any
) -> None:
    placement = _place(db_session, team)
    log_in(client, team.advisor, db_session)
    item = f"/participants/{team.participant.ref}/placements/{placement.ref}"
    token = csrf_token(client, item)
    response = client.post(
        f"{item}/plan", data={"csrf_token": token, "version": str(placement.version)}
    )
    assert response.status_code == 302
    assert "no plan yet" in client.get(item).get_data(as_text=True)
    assert plan_of(db_session, team.participant) is None


def test_form_error_keeps_input_and_stale_is_409(client: Any, db_session: Any, team: Any) -> None:
    log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/placements"
    token = csrf_token(client, url)
    response = client.post(
        url, data={**_form_data(team, days_per_week="9", goals="Unik mål"), "csrf_token": token}
    )
    assert response.status_code == 400
    assert "Unik mål" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Placement)) == 0
    placement = _place(db_session, team)
    response = client.post(
        f"{url}/{placement.ref}",
        data={
            **_form_data(team, goals="Ny tekst"),
            "version": str(placement.version + 3),
            "csrf_token": token,
        },
    )
    assert response.status_code == 409
    assert "Ny tekst" in response.get_data(as_text=True)


def test_leader_reads_but_does_not_write(client: Any, db_session: Any, team: Any) -> None:
    placement = _place(db_session, team)
    log_in(client, team.leader, db_session)
    url = f"/participants/{team.participant.ref}/placements"
    page = client.get(url)
    assert page.status_code == 200 and "Record the placement" not in page.get_data(as_text=True)
    assert client.get(f"{url}/{placement.ref}").status_code == 200
    token = csrf_token(client, url)
    assert client.post(url, data={**_form_data(team), "csrf_token": token}).status_code == 403
    assert client.get(f"{url}/{placement.ref}/evaluations/new").status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Placement)) == 1


@pytest.mark.parametrize(("who", "status"), [("teacher", 404), ("colleague", 404), ("admin", 403)])
def test_others_see_nothing(client: Any, db_session: Any, team: Any, who: str, status: int) -> None:
    """Do a teacher and an out-of-scope advisor get 404 on placement pages? Yes."""
    placement = _place(db_session, team)
    log_in(client, getattr(team, who), db_session)
    url = f"/participants/{team.participant.ref}/placements"
    assert client.get(url).status_code == status
    assert client.get(f"{url}/{placement.ref}").status_code == status


def test_out_of_unit_advisor_gets_404(
    client: Any, db_session: Any, team: Any, make_user: Any
) -> None:
    placement = _place(db_session, team)
    log_in(client, make_user("advisor"), db_session)
    url = f"/participants/{team.participant.ref}/placements"
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/{placement.ref}").status_code == 404


def test_partner_sees_only_the_consented_section(client: Any, db_session: Any, team: Any) -> None:
    placement = _place(db_session, team)
    consent = Consent(
        participant_id=team.participant.id,
        partner_unit_id=team.partner_unit.id,
        sections="housing",
        valid_from=TODAY - timedelta(days=1),
    )
    db_session.add(consent)
    db_session.commit()
    log_in(client, team.partner, db_session)
    url = f"/participants/{team.participant.ref}/placements"
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/{placement.ref}").status_code == 404
    consent.sections = "placements"
    db_session.commit()
    page = client.get(url)
    assert page.status_code == 200 and "Record the placement" not in page.get_data(as_text=True)
    assert client.get(f"{url}/{placement.ref}").status_code == 200
    assert client.get("/employers/").status_code == 403
    assert client.get(f"/participants/{team.participant.ref}/plan").status_code == 404


def test_reading_writes_one_event(client: Any, db_session: Any, team: Any) -> None:
    log_in(client, team.leader, db_session)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    client.get(f"/participants/{team.participant.ref}/placements")
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_ref) == ("placement.list", team.participant.ref)


def test_placement_of_another_participant_is_404(
    client: Any, db_session: Any, team: Any, make_participant: Any
) -> None:
    placement = _place(db_session, team)
    other = make_participant(unit=team.unit, advisor=team.advisor)
    log_in(client, team.advisor, db_session)
    assert client.get(f"/participants/{other.ref}/placements/{placement.ref}").status_code == 404


# -- fuzzing -----------------------------------------------------------------------------

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.sampled_from(
        ["", " ", "\x00", "a" * 9000, "2026-02-30", "1", "-1", "7.5", "1e309", "nan", "ongoing"]
    ),
)


@FUZZ
@given(
    employer=st.one_of(text, st.just("EMPLOYER")),
    supervisor=text,
    kind=st.one_of(text, st.just("work_practice")),
    start=st.one_of(text, st.just(TODAY.isoformat())),
    end=text,
    days=text,
    hours=text,
    goals=text,
    status=text,
    outcome=text,
    version=text,
)
def test_placement_forms_never_fail(
    client: Any,
    db_session: Any,
    team: Any,
    employer: Any,
    supervisor: Any,
    kind: Any,
    start: Any,
    end: Any,
    days: Any,
    hours: Any,
    goals: Any,
    status: Any,
    outcome: Any,
    version: Any,
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/placements"
    data = {
        "employer": team.employer.ref if employer == "EMPLOYER" else employer,
        "supervisor": supervisor,
        "placement_type": kind,
        "start_on": start,
        "end_on": end,
        "days_per_week": days,
        "hours_per_week": hours,
        "goals": goals,
        "status": status,
        "outcome": outcome,
        "version": version,
    }
    data = {k: v for k, v in data.items() if v is not None}
    before = db_session.scalar(select(func.count()).select_from(Placement))
    token = csrf_token(client, url)
    response = client.post(url, data={**data, "csrf_token": token})
    assert response.status_code < 500
    after = db_session.scalar(select(func.count()).select_from(Placement))
    assert after == before + (1 if response.status_code == 302 else 0)
    placement = db_session.scalars(select(Placement)).first()
    if placement is not None:
        response = client.post(f"{url}/{placement.ref}", data={**data, "csrf_token": token})
        assert response.status_code < 500


@FUZZ
@given(when=text, summary=text, r0=text, r1=text, r9=text, steps=text, version=text)
def test_evaluation_and_plan_forms_never_fail(
    client: Any,
    db_session: Any,
    team: Any,
    when: Any,
    summary: Any,
    r0: Any,
    r1: Any,
    r9: Any,
    steps: Any,
    version: Any,
) -> None:
    placement = db_session.scalars(select(Placement)).first() or _place(db_session, team)
    if not client.get_cookie("veiviser_session"):
        log_in(client, team.advisor, db_session)
    item = f"/participants/{team.participant.ref}/placements/{placement.ref}"
    token = csrf_token(client, item)
    data = {
        "evaluated_on": when,
        "summary": summary,
        "ratings-0": r0,
        "ratings-1": r1,
        "ratings-9": r9,
        "next_steps": steps,
    }
    before = db_session.scalar(select(func.count()).select_from(PlacementEvaluation))
    response = client.post(
        f"{item}/evaluations/new",
        data={**{k: v for k, v in data.items() if v is not None}, "csrf_token": token},
    )
    assert response.status_code < 500
    after = db_session.scalar(select(func.count()).select_from(PlacementEvaluation))
    assert after == before + (1 if response.status_code == 302 else 0)
    response = client.post(
        f"{item}/plan", data={"csrf_token": token, **({"version": version} if version else {})}
    )
    assert response.status_code < 500
    assert db_session.scalar(select(func.count()).select_from(PlanElement)) == 0
