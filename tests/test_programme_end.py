"""The end of the programme: status, ending twice, corrections, the status 12 months later,
and the participation certificate (print page and PDF)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import decisions as ops
from models.audit import AuditEvent
from models.codes import (
    ElementStatus,
    EndGoal,
    MainActivity,
    ParticipantStatus,
    PlanElementType,
    ProgrammeEndKind,
    ProgrammeEndReason,
)
from models.decisions import AlreadyEnded, EndInput, ProgrammeEnd, element_hours
from models.errors import StaleEdit, ValidationFailed
from models.policy import Actor
from models.rules import add_months
from tests.conftest import csrf_token, log_in, post_form
from tests.test_fuzz import FUZZ, maybe_text

ENDED = date(2026, 10, 30)
TODAY = date(2026, 11, 30)


@pytest.fixture
def advisor(make_user: Any) -> Any:
    user = make_user("advisor")
    user.locale = "en"
    return user


@pytest.fixture
def participant(advisor: Any, make_participant: Any) -> Any:
    return make_participant(
        unit=advisor.memberships[0].unit,
        advisor=advisor,
        programme_start_on=date(2025, 1, 6),
        status=ParticipantStatus.ACTIVE,
    )


def _end_input(**overrides: Any) -> EndInput:
    values: dict[str, Any] = {
        "ended_on": ENDED,
        "kind": ProgrammeEndKind.COMPLETED,
        "reason": ProgrammeEndReason.WORK,
        "activity_after": MainActivity.WORK,
    }
    values.update(overrides)
    return EndInput(**values)


def _end(db_session: Any, advisor: Any, participant: Any, **overrides: Any) -> ProgrammeEnd:
    end = ops.end_programme(
        db_session, Actor(advisor), participant, _end_input(**overrides), today=TODAY
    )
    db_session.commit()
    return end


def _add_elements(db_session: Any, participant: Any) -> None:
    from models.plans import Plan, PlanElement

    plan = Plan(
        participant_id=participant.id,
        end_goal=EndGoal.WORK,
        programme_start_on=date(2025, 1, 6),
        planned_end_on=date(2026, 12, 31),
        hours_per_week_norm=37.5,
    )
    db_session.add(plan)
    db_session.flush()
    for element_type, status, start, end, hours in (
        (PlanElementType.LANGUAGE, ElementStatus.DONE, date(2025, 1, 6), date(2025, 3, 2), 15),
        (PlanElementType.WORK_PRACTICE, ElementStatus.DONE, date(2025, 3, 3), date(2025, 3, 9), 20),
        (PlanElementType.JOB_SEEKING, ElementStatus.CANCELLED, date(2025, 4, 1), None, 10),
    ):
        db_session.add(
            PlanElement(
                participant_id=participant.id,
                plan_id=plan.id,
                element_type=element_type,
                status=status,
                start_on=start,
                end_on=end,
                hours_per_week=hours,
            )
        )
    db_session.commit()


# -- ending -------------------------------------------------------------------------


def test_end_sets_status_and_date(db_session: Any, advisor: Any, participant: Any) -> None:
    """Does ending the programme set the status ENDED and the end date, with the unit? Yes."""
    end = _end(db_session, advisor, participant)
    assert participant.status is ParticipantStatus.ENDED
    assert participant.programme_end_on == ENDED
    assert end.unit_id == participant.unit_id


def test_second_end_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    """Can the programme be ended twice? No."""
    _end(db_session, advisor, participant)
    with pytest.raises(AlreadyEnded):
        _end(db_session, advisor, participant)


def test_end_before_start_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    """Can the programme end before it started? No."""
    with pytest.raises(ValidationFailed) as error:
        _end(db_session, advisor, participant, ended_on=date(2024, 12, 31))
    assert error.value.field == "ended_on"


def test_future_end_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    with pytest.raises(ValidationFailed):
        _end(db_session, advisor, participant, ended_on=TODAY + timedelta(days=1))


def test_correction_needs_a_reason_and_updates_the_record(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a correction need a reason, and move the participant's end date? Yes."""
    end = _end(db_session, advisor, participant)
    new = _end_input(ended_on=ENDED - timedelta(days=10), kind=ProgrammeEndKind.INTERRUPTED)
    with pytest.raises(ValidationFailed):
        ops.correct_end(
            db_session, Actor(advisor), participant, end, end.version, new, reason="", today=TODAY
        )
    changed = ops.correct_end(
        db_session,
        Actor(advisor),
        participant,
        end,
        end.version,
        new,
        reason="Wrong date typed at first",
        today=TODAY,
    )
    assert changed == {"ended_on", "kind"}
    assert participant.programme_end_on == ENDED - timedelta(days=10)
    assert end.correction_reason == "Wrong date typed at first"


def test_stale_correction_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    end = _end(db_session, advisor, participant)
    with pytest.raises(StaleEdit):
        ops.correct_end(
            db_session,
            Actor(advisor),
            participant,
            end,
            end.version + 1,
            _end_input(),
            reason="Some good reason here",
            today=TODAY,
        )


# -- the status 12 months later -----------------------------------------------------


def test_twelve_month_status_opens_two_weeks_before_the_anniversary(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Is the 12-month status refused the day before end + 12 months − 14 days, and
    accepted on that day? Yes."""
    end = _end(db_session, advisor, participant)
    opens = add_months(ENDED, 12) - timedelta(days=14)
    assert end.twelve_month_from == opens
    later = opens + timedelta(days=30)
    with pytest.raises(ValidationFailed) as error:
        ops.record_twelve_month_status(
            db_session,
            Actor(advisor),
            participant,
            end,
            end.version,
            activity=MainActivity.EDUCATION,
            recorded_on=opens - timedelta(days=1),
            today=later,
        )
    assert error.value.field == "recorded_on"
    ops.record_twelve_month_status(
        db_session,
        Actor(advisor),
        participant,
        end,
        end.version,
        activity=MainActivity.EDUCATION,
        recorded_on=opens,
        today=later,
    )
    assert end.activity_12m is MainActivity.EDUCATION


def test_twelve_month_status_not_in_the_future(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    end = _end(db_session, advisor, participant)
    opens = end.twelve_month_from
    with pytest.raises(ValidationFailed):
        ops.record_twelve_month_status(
            db_session,
            Actor(advisor),
            participant,
            end,
            end.version,
            activity=MainActivity.WORK,
            recorded_on=opens + timedelta(days=1),
            today=opens,
        )


# -- certificate ----------------------------------------------------------------------


def test_hours_formula() -> None:
    """Are hours the days from start to end (inclusive) ÷ 7 × hours per week? Yes."""
    assert element_hours(date(2025, 3, 3), date(2025, 3, 9), 20) == 20
    assert element_hours(date(2025, 1, 6), date(2025, 3, 2), 15) == 120
    assert element_hours(date(2025, 3, 9), date(2025, 3, 3), 20) == 0


def test_certificate_lists_done_elements(db_session: Any, advisor: Any, participant: Any) -> None:
    """Does the certificate list only the DONE elements, with their hours? Yes."""
    _add_elements(db_session, participant)
    lines = ops.completed_elements(db_session, participant)
    assert [line.element_type for line in lines] == [
        PlanElementType.LANGUAGE,
        PlanElementType.WORK_PRACTICE,
    ]
    assert sum(line.hours for line in lines) == 140


def test_certificate_is_404_before_the_end(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Is the certificate there before the programme has ended? No: 404 (page and PDF)."""
    log_in(client, advisor, db_session)
    assert client.get(f"/participants/{participant.ref}/certificate").status_code == 404
    assert client.get(f"/participants/{participant.ref}/certificate.pdf").status_code == 404


def test_certificate_print_page_in_chosen_language(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the print page show the elements and hours, labelled in the chosen language?"""
    _add_elements(db_session, participant)
    _end(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    page = client.get(f"/participants/{participant.ref}/certificate?lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Certificate of participation" in text
    assert "Work practice" in text and "140" in text
    assert participant.display_name in text
    assert 'lang="en"' in text


def test_certificate_pdf_opens_and_holds_the_text(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the PDF open and contain the name, the elements and the total hours? Yes."""
    _add_elements(db_session, participant)
    _end(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get(f"/participants/{participant.ref}/certificate.pdf?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert participant.family_name not in response.headers["Content-Disposition"]
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert participant.family_name in text
    assert "Work practice" in text
    assert "140" in text
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1


# -- pages ------------------------------------------------------------------------------


def _url(participant: Any, tail: str = "") -> str:
    return f"/participants/{participant.ref}/end{tail}"


def test_advisor_ends_through_the_form_and_cannot_end_twice(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the form end the programme, and a second POST answer 409? Yes."""
    log_in(client, advisor, db_session)
    form = {
        "ended_on": "2026-11-02",
        "kind": "completed",
        "reason": "work",
        "activity_after": "work",
    }
    assert post_form(client, _url(participant), form).status_code == 302
    db_session.refresh(participant)
    assert participant.status is ParticipantStatus.ENDED
    again = post_form(client, _url(participant), form)
    assert again.status_code == 409
    assert "already ended" in again.get_data(as_text=True)


def test_correction_form_stale_is_409(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    end = _end(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    response = post_form(
        client,
        _url(participant, "/correct"),
        {
            "ended_on": "2026-10-01",
            "kind": "completed",
            "reason": "work",
            "activity_after": "work",
            "correction_reason": "Typed the wrong month",
            "version": str(end.version + 3),
        },
    )
    assert response.status_code == 409
    assert "Typed the wrong month" in response.get_data(as_text=True)


def test_correct_and_status_pages_are_404_before_the_end(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    log_in(client, advisor, db_session)
    assert client.get(_url(participant, "/correct")).status_code == 404
    assert client.get(_url(participant, "/status")).status_code == 404


def test_leader_reads_the_end_but_may_not_end(
    client: Any, db_session: Any, make_user: Any, participant: Any
) -> None:
    """Does the leader read the end page without a form, and get 403 on POST? Yes."""
    log_in(client, make_user("leader", participant.unit), db_session)
    page = client.get(_url(participant))
    assert page.status_code == 200
    assert 'name="ended_on"' not in page.get_data(as_text=True)
    token = csrf_token(client, _url(participant))
    assert client.post(_url(participant), data={"csrf_token": token}).status_code == 403


# -- fuzz -----------------------------------------------------------------------------

dates = st.one_of(
    st.none(),
    maybe_text,
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat),
)
codes = st.one_of(
    maybe_text,
    st.sampled_from(
        [k.value for k in ProgrammeEndKind]
        + [r.value for r in ProgrammeEndReason]
        + [a.value for a in MainActivity]
    ),
)


@FUZZ
@given(ended_on=dates, kind=codes, reason=codes, activity_after=codes)
def test_end_form_never_fails(
    client: Any,
    db_session: Any,
    make_user: Any,
    make_participant: Any,
    ended_on: Any,
    kind: Any,
    reason: Any,
    activity_after: Any,
) -> None:
    """Whatever is typed: never a 5xx, and the end is saved only on a redirect."""
    user = make_user("advisor")
    target = make_participant(unit=user.memberships[0].unit, advisor=user)
    log_in(client, user, db_session)
    data = {
        k: v
        for k, v in {
            "ended_on": ended_on,
            "kind": kind,
            "reason": reason,
            "activity_after": activity_after,
        }.items()
        if v is not None
    }
    token = csrf_token(client, _url(target))
    response = client.post(_url(target), data={**data, "csrf_token": token})
    assert response.status_code in (302, 400)
    db_session.refresh(target)
    ended = db_session.scalar(
        select(func.count())
        .select_from(ProgrammeEnd)
        .where(ProgrammeEnd.participant_id == target.id)
    )
    assert ended == (1 if response.status_code == 302 else 0)
    assert (target.status is ParticipantStatus.ENDED) == (response.status_code == 302)


@FUZZ
@given(
    ended_on=dates,
    kind=codes,
    reason=codes,
    activity_after=codes,
    correction_reason=maybe_text,
    version=maybe_text,
    activity=codes,
    recorded_on=dates,
)
def test_correction_and_status_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    make_participant: Any,
    ended_on: Any,
    kind: Any,
    reason: Any,
    activity_after: Any,
    correction_reason: Any,
    version: Any,
    activity: Any,
    recorded_on: Any,
) -> None:
    """The correction and 12-month forms: never a 5xx; a refused save changes nothing."""
    user = make_user("advisor")
    target = make_participant(unit=user.memberships[0].unit, advisor=user)
    end = ops.end_programme(db_session, Actor(user), target, _end_input(), today=TODAY)
    db_session.commit()
    log_in(client, user, db_session)
    token = csrf_token(client, _url(target, "/correct"))
    data = {
        "ended_on": ended_on,
        "kind": kind,
        "reason": reason,
        "activity_after": activity_after,
        "correction_reason": correction_reason,
        "version": version,
        "activity": activity,
        "recorded_on": recorded_on,
    }
    payload = {k: v for k, v in data.items() if v is not None}
    before = end.version
    corrected = client.post(_url(target, "/correct"), data={**payload, "csrf_token": token})
    assert corrected.status_code in (302, 400, 409)
    db_session.refresh(end)
    if corrected.status_code != 302:
        assert end.version == before
    before = end.version
    status = client.post(_url(target, "/status"), data={**payload, "csrf_token": token})
    assert status.status_code in (302, 400, 409)
    db_session.refresh(end)
    if status.status_code != 302:
        assert end.version == before


def test_overview_shows_the_end_and_the_certificate_link(
    client: Any, db_session: Any, make_user: Any, advisor: Any, participant: Any
) -> None:
    """After the end, does the overview show it with a certificate link, to the leader too?"""
    _end(db_session, advisor, participant)
    leader = make_user("leader", participant.unit)
    leader.locale = "en"
    db_session.commit()
    log_in(client, leader, db_session)
    page = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert f"Programme ended {ENDED.isoformat()}" in page
    assert f"/participants/{participant.ref}/certificate" in page
    assert f"/participants/{participant.ref}/end/correct" not in page
