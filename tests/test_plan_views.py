"""The plan's pages: the advisor's flow, who may read and write, stale forms, validation,
print and PDF, and hypothesis on every form (never a 5xx, nothing half-saved)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import plans as ops
from models.access import Consent
from models.audit import AuditEvent
from models.base import local_today
from models.codes import PlanElementType
from models.policy import Actor
from tests.conftest import csrf_token, log_in, post_form

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.sampled_from(["", " ", "\x00", "<script>", "a" * 5000, "%(x)s", "nan", "-1", "1e309"]),
)
date_text = st.one_of(
    text, st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)).map(str)
)


@pytest.fixture
def case(db_session: Any, make_user: Any, make_unit: Any, make_participant: Any) -> Any:
    unit = make_unit()
    advisor = make_user("advisor", unit, name="Ada Advisor")
    advisor.locale = "en"  # the assertions below read English messages
    db_session.commit()
    participant = make_participant(unit=unit, advisor=advisor)

    class Case:
        pass

    c = Case()
    c.unit, c.advisor, c.participant = unit, advisor, participant  # type: ignore[attr-defined]
    c.url = f"/participants/{participant.ref}"  # type: ignore[attr-defined]
    return c


def plan_data(**changes: Any) -> dict[str, Any]:
    data = {
        "version": "0",
        "end_goal": "work",
        "long_term_goal": "Work as an electrician",
        "goal_listening": "B1",
        "goal_reading": "A2",
        "goal_writing": "",
        "goal_oral": "B1",
        "programme_start_on": "2026-01-01",
        "planned_end_on": "2027-12-31",
        "hours_per_week_norm": "37.5",
        "contract_text": "We meet every month.",
        "reason": "First plan",
    }
    data.update(changes)
    return data


def write_plan(client: Any, case: Any, **changes: Any) -> Any:
    return post_form(client, f"{case.url}/plan/edit", plan_data(**changes))


def current_plan(db_session: Any, case: Any) -> ops.Plan:
    db_session.expire_all()
    plan = ops.plan_of(db_session, case.participant)
    assert plan is not None
    return plan


def add_element(client: Any, case: Any, db_session: Any, kind: str, hours: str = "10") -> Any:
    plan = current_plan(db_session, case)
    return post_form(
        client,
        f"{case.url}/plan/elements/new",
        {
            "version": str(plan.version),
            "element_type": kind,
            "provider_unit": str(case.unit.id),
            "start_on": "2026-01-01",
            "end_on": "2027-12-31",
            "hours_per_week": hours,
            "status": "planned",
            "note": f"Note for {kind}",
            "reason": f"Add {kind}",
        },
    )


def test_advisor_writes_a_plan_and_sees_warnings(client: Any, db_session: Any, case: Any) -> None:
    log_in(client, case.advisor, db_session)
    page = client.get(f"{case.url}/plan")
    assert page.status_code == 200 and "Write the plan" in page.get_data(as_text=True)
    response = write_plan(client, case)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{case.url}/plan")
    body = client.get(f"{case.url}/plan").get_data(as_text=True)
    assert "Work as an electrician" in body
    assert "NO-2021/plan-mandatory-elements" in body
    assert "NO-2021/plan-hours-week" in body
    overview = client.get(case.url).get_data(as_text=True)
    assert "Open the plan" in overview


def test_every_read_writes_one_audit_event(client: Any, db_session: Any, case: Any) -> None:
    log_in(client, case.advisor, db_session)
    write_plan(client, case)
    for path in ("/plan", "/plan/history", "/plan/diff", "/mapping", "/plan/print"):
        before = db_session.scalar(select(func.count()).select_from(AuditEvent))
        assert client.get(case.url + path).status_code == 200
        after = db_session.scalar(select(func.count()).select_from(AuditEvent))
        assert after == before + 1, path


def test_elements_history_diff_and_agreement(client: Any, db_session: Any, case: Any) -> None:
    log_in(client, case.advisor, db_session)
    write_plan(client, case)
    assert add_element(client, case, db_session, "language", "20").status_code == 302
    assert add_element(client, case, db_session, "work_practice").status_code == 302
    history = client.get(f"{case.url}/plan/history").get_data(as_text=True)
    assert "Add work_practice" in history and "First plan" in history
    diff = client.get(f"{case.url}/plan/diff?a=2&b=3").get_data(as_text=True)
    assert "Work practice" in diff and "Added" in diff
    plan = current_plan(db_session, case)
    practice = next(e for e in plan.elements if e.element_type is PlanElementType.WORK_PRACTICE)
    response = post_form(
        client,
        f"{case.url}/plan/elements/{practice.ref}",
        {
            "version": str(practice.version),
            "element_type": "work_practice",
            "provider_unit": "",
            "start_on": "2026-01-01",
            "end_on": "2027-12-31",
            "hours_per_week": "12.5",
            "status": "ongoing",
            "note": "Note for work_practice",
            "reason": "More hours",
        },
    )
    assert response.status_code == 302
    diff = client.get(f"{case.url}/plan/diff").get_data(as_text=True)
    assert "12.5" in diff and "Ongoing" in diff
    agree = post_form(
        client,
        f"{case.url}/plan/versions/4/agree",
        {"agreed_on": local_today().isoformat(), "interpreter_used": "y", "language": "ar"},
    )
    assert agree.status_code == 302
    version = client.get(f"{case.url}/plan/versions/4").get_data(as_text=True)
    assert "Agreed with the participant" in version
    plan = current_plan(db_session, case)
    practice = next(e for e in plan.elements if e.element_type is PlanElementType.WORK_PRACTICE)
    removed = post_form(
        client,
        f"{case.url}/plan/elements/{practice.ref}/remove",
        {"remove-version": str(practice.version), "remove-reason": "Mistake"},
        token_from=f"{case.url}/plan/elements/{practice.ref}",
    )
    assert removed.status_code == 302
    assert current_plan(db_session, case).current_version == 5
    assert ops.latest_agreed(db_session, current_plan(db_session, case)).number == 4  # type: ignore[union-attr]


def test_stale_plan_form_is_409_and_keeps_the_input(
    client: Any, db_session: Any, case: Any
) -> None:
    log_in(client, case.advisor, db_session)
    write_plan(client, case)
    response = write_plan(client, case, version="1", long_term_goal="My unsaved words")
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Someone else saved" in body and "My unsaved words" in body
    assert current_plan(db_session, case).current_version == 1


def test_validation_messages(client: Any, db_session: Any, case: Any) -> None:
    log_in(client, case.advisor, db_session)
    response = write_plan(client, case, reason="", planned_end_on="2025-01-01")
    assert response.status_code == 400
    assert "Say briefly why the plan is changed." in response.get_data(as_text=True)
    response = write_plan(client, case, planned_end_on="2025-01-01")
    assert response.status_code == 400
    assert "The planned end must come after the start." in response.get_data(as_text=True)
    assert ops.plan_of(db_session, case.participant) is None


def test_mapping_and_guidance(client: Any, db_session: Any, case: Any) -> None:
    log_in(client, case.advisor, db_session)
    response = post_form(
        client,
        f"{case.url}/mapping/edit",
        {
            "revision": "0",
            "mapped_on": "2026-06-15",
            "education_level": "none",
            "education_years": "3",
            "education_country": "Eritrea",
            "occupation": "Carpenter",
            "work_years": "8",
            "language_1": "ti",
            "level_1": "C1",
            "literacy": "other_script",
            "digital_skills": "basic",
            "other_competence": "Driving licence",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert case.participant.competence_mapping_on == date(2026, 6, 15)
    body = client.get(f"{case.url}/mapping").get_data(as_text=True)
    assert "Carpenter" in body and "Driving licence" in body
    response = post_form(
        client,
        f"{case.url}/guidance/new",
        {"given_on": "2026-07-01", "provider": "Career centre", "recommendation": "work"},
    )
    assert response.status_code == 302
    assert "Career centre" in client.get(f"{case.url}/mapping").get_data(as_text=True)


@pytest.mark.parametrize("role", ["leader", "partner_with_consent"])
def test_readers_see_the_plan_but_cannot_write(
    client: Any, db_session: Any, case: Any, make_user: Any, make_unit: Any, role: str
) -> None:
    ops.save_plan(
        db_session,
        Actor(case.advisor),
        case.participant,
        0,
        ops.PlanInput(
            end_goal=ops.EndGoal.WORK,
            long_term_goal="Shared goal",
            programme_start_on=date(2026, 1, 1),
            planned_end_on=date(2027, 12, 31),
            hours_per_week_norm=37.5,
        ),
        reason="First",
        today=date(2026, 3, 1),
    )
    db_session.commit()
    if role == "leader":
        reader = make_user("leader", case.unit)
        reader.locale = "en"
    else:
        partner_unit = make_unit()
        reader = make_user("partner", partner_unit)
        reader.locale = "en"
        db_session.add(
            Consent(
                participant_id=case.participant.id,
                partner_unit_id=partner_unit.id,
                sections="plan",
                valid_from=local_today(),
            )
        )
        db_session.commit()
    log_in(client, reader, db_session)
    body = client.get(f"{case.url}/plan").get_data(as_text=True)
    assert "Shared goal" in body and "Change the plan" not in body
    assert client.get(f"{case.url}/plan/print").status_code == 200
    assert client.get(f"{case.url}/plan/edit").status_code == 403


def test_partner_without_plan_consent_gets_404(
    client: Any, db_session: Any, case: Any, make_user: Any, make_unit: Any
) -> None:
    partner_unit = make_unit()
    partner = make_user("partner", partner_unit)
    db_session.add(
        Consent(
            participant_id=case.participant.id,
            partner_unit_id=partner_unit.id,
            sections="housing",
            valid_from=local_today(),
        )
    )
    db_session.commit()
    log_in(client, partner, db_session)
    assert client.get(f"{case.url}/plan").status_code == 404
    assert client.get(f"{case.url}/mapping").status_code == 404


def test_print_and_pdf_with_every_element_type(client: Any, db_session: Any, case: Any) -> None:
    log_in(client, case.advisor, db_session)
    write_plan(client, case, long_term_goal="Bli elektriker i Bodø")
    for kind in PlanElementType:
        assert add_element(client, case, db_session, kind.value, "3").status_code == 302
    for lang in ("nb", "sv", "en"):
        page = client.get(f"{case.url}/plan/print?lang={lang}")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        # Labels in the chosen language (the whole page is rendered in it), free text as written.
        assert f'<html lang="{lang}">' in body
        assert "Bli elektriker i Bodø" in body
        if lang == "en":
            assert "Job seeking" in body
    response = client.get(f"{case.url}/plan.pdf?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    extracted = " ".join(page.extract_text() for page in reader.pages)
    assert "Bli elektriker i Bodø" in extracted
    assert "Work" in extracted and "Job seeking" in extracted
    assert client.get(f"{case.url}/plan.pdf?lang=xx").status_code == 200


# -- hypothesis on every form ---------------------------------------------------------------


def _counts(db_session: Any) -> tuple[int, ...]:
    return tuple(
        db_session.scalar(select(func.count()).select_from(model))
        for model in (
            ops.Plan,
            ops.PlanVersion,
            ops.PlanElement,
            ops.PlanReview,
            ops.CompetenceMapping,
            ops.CareerGuidance,
        )
    )


def _post(client: Any, path: str, data: dict[str, Any]) -> Any:
    payload = {k: v for k, v in data.items() if v is not None}
    payload["csrf_token"] = csrf_token(client, "/login")
    return client.post(path, data=payload)


def _check(response: Any, db_session: Any, before: tuple[int, ...]) -> None:
    assert response.status_code < 500
    if response.status_code != 302:
        db_session.expire_all()
        assert _counts(db_session) == before


@FUZZ
@given(
    end_goal=text,
    goal=text,
    start=date_text,
    end=date_text,
    norm=st.one_of(text, st.sampled_from(["37.5", "30", "40"])),
    reason=text,
    version=text,
)
def test_plan_form_never_fails(
    client: Any,
    db_session: Any,
    case: Any,
    end_goal: Any,
    goal: Any,
    start: Any,
    end: Any,
    norm: Any,
    reason: Any,
    version: Any,
) -> None:
    log_in(client, case.advisor, db_session)
    before = _counts(db_session)
    response = _post(
        client,
        f"{case.url}/plan/edit",
        plan_data(
            end_goal=end_goal,
            long_term_goal=goal,
            programme_start_on=start,
            planned_end_on=end,
            hours_per_week_norm=norm,
            reason=reason,
            version=version,
        ),
    )
    _check(response, db_session, before)


@FUZZ
@given(
    kind=st.one_of(text, st.sampled_from([k.value for k in PlanElementType])),
    provider=text,
    start=date_text,
    end=date_text,
    hours=st.one_of(text, st.floats(allow_nan=True).map(str)),
    status=text,
    note=text,
    reason=text,
)
def test_element_form_never_fails(
    client: Any,
    db_session: Any,
    case: Any,
    kind: Any,
    provider: Any,
    start: Any,
    end: Any,
    hours: Any,
    status: Any,
    note: Any,
    reason: Any,
) -> None:
    log_in(client, case.advisor, db_session)
    if ops.plan_of(db_session, case.participant) is None:
        write_plan(client, case)
    plan = current_plan(db_session, case)
    before = _counts(db_session)
    response = _post(
        client,
        f"{case.url}/plan/elements/new",
        {
            "version": str(plan.version),
            "element_type": kind,
            "provider_unit": provider,
            "start_on": start,
            "end_on": end,
            "hours_per_week": hours,
            "status": status or "planned",
            "note": note,
            "reason": reason,
        },
    )
    _check(response, db_session, before)


@FUZZ
@given(
    mapped_on=date_text,
    level=text,
    years=text,
    country=text,
    language=text,
    cefr=text,
    literacy=text,
    other=text,
)
def test_mapping_form_never_fails(
    client: Any,
    db_session: Any,
    case: Any,
    mapped_on: Any,
    level: Any,
    years: Any,
    country: Any,
    language: Any,
    cefr: Any,
    literacy: Any,
    other: Any,
) -> None:
    log_in(client, case.advisor, db_session)
    current = ops.current_mapping(db_session, case.participant)
    before = _counts(db_session)
    response = _post(
        client,
        f"{case.url}/mapping/edit",
        {
            "revision": str(current.revision if current else 0),
            "mapped_on": mapped_on,
            "education_level": level or "unknown",
            "education_years": years,
            "education_country": country,
            "language_1": language,
            "level_1": cefr,
            "literacy": literacy or "unknown",
            "digital_skills": "basic",
            "other_competence": other,
        },
    )
    _check(response, db_session, before)


@FUZZ
@given(given_on=date_text, provider=text, recommendation=text, summary=text)
def test_guidance_form_never_fails(
    client: Any,
    db_session: Any,
    case: Any,
    given_on: Any,
    provider: Any,
    recommendation: Any,
    summary: Any,
) -> None:
    log_in(client, case.advisor, db_session)
    before = _counts(db_session)
    response = _post(
        client,
        f"{case.url}/guidance/new",
        {
            "given_on": given_on,
            "provider": provider,
            "recommendation": recommendation,
            "summary": summary,
        },
    )
    _check(response, db_session, before)


@FUZZ
@given(reviewed_on=date_text, note=text, agreed_on=date_text, language=text, version=text)
def test_review_and_agree_forms_never_fail(
    client: Any,
    db_session: Any,
    case: Any,
    reviewed_on: Any,
    note: Any,
    agreed_on: Any,
    language: Any,
    version: Any,
) -> None:
    log_in(client, case.advisor, db_session)
    if ops.plan_of(db_session, case.participant) is None:
        write_plan(client, case)
    plan = current_plan(db_session, case)
    before = _counts(db_session)
    response = _post(
        client,
        f"{case.url}/plan/review",
        {"version": version or str(plan.version), "reviewed_on": reviewed_on, "note": note},
    )
    _check(response, db_session, before)
    response = _post(
        client,
        f"{case.url}/plan/versions/1/agree",
        {"agreed_on": agreed_on, "language": language, "interpreter_used": note},
    )
    assert response.status_code < 500


def test_stale_element_form_is_409_and_keeps_the_input(
    client: Any, db_session: Any, case: Any
) -> None:
    log_in(client, case.advisor, db_session)
    write_plan(client, case)
    add_element(client, case, db_session, "language", "20")
    plan = current_plan(db_session, case)
    element = plan.elements[0]
    data = {
        "version": str(element.version),
        "element_type": "language",
        "provider_unit": "",
        "hours_per_week": "25",
        "status": "ongoing",
        "note": "First edit",
        "reason": "More hours",
    }
    path = f"{case.url}/plan/elements/{element.ref}"
    assert post_form(client, path, data).status_code == 302
    data.update(note="My second words", hours_per_week="30")
    response = post_form(client, path, data)
    assert response.status_code == 409
    assert "My second words" in response.get_data(as_text=True)
    assert current_plan(db_session, case).elements[0].hours_per_week == 25


def test_leader_sees_the_overview_panel_without_write_links(
    client: Any, db_session: Any, case: Any, make_user: Any
) -> None:
    log_in(client, case.advisor, db_session)
    write_plan(client, case)
    leader = make_user("leader", case.unit)
    leader.locale = "en"
    db_session.commit()
    log_in(client, leader, db_session)
    body = client.get(case.url).get_data(as_text=True)
    assert f"{case.url}/plan" in body and f"{case.url}/plan/edit" not in body
    assert "Not yet" in body  # no version agreed with the participant
