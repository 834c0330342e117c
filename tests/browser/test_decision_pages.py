"""Decisions, the programme end and the certificate in a real Chromium, checked by axe-core
(WCAG 2.0/2.1 A and AA): the advisor records a programme decision and an appeal, ends the
programme, records the status 12 months later is refused too early, opens the certificate;
the leader reads it all.

This module seeds its own participant (in the advisor's caseload) through the models, so
it never changes the participants other modules rely on. Tests run in file order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from app.database import services
from models.base import local_today
from tests.browser.conftest import (
    PHONE,
    SUBMIT,
    LiveServer,
    add_participant,
    assert_fits_width,
    screenshot,
    submit,
)

pytestmark = pytest.mark.browser

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]

MIN_PAGES = 14  # every test of this module, run in full


@pytest.fixture(scope="module")
def subject(live_server: LiveServer) -> str:
    """A participant of the advisor's own, in the programme, with two completed elements."""
    from models.codes import ElementStatus, EndGoal, ParticipantStatus, PlanElementType
    from models.participants import refresh_deadlines
    from models.plans import Plan, PlanElement

    today = local_today()
    advisor = live_server.seed.users["advisor"]
    with live_server.app.app_context(), services(live_server.app).session_factory() as session:
        participant = add_participant(
            session,
            live_server.seed.units["Flyktningtjenesten Nordby"],
            advisor.id,
            "Samira Vedtaksen",
            "1992-04-12",
            refresh=False,  # after the plan below
            status=ParticipantStatus.ACTIVE,
            settlement_on=today - timedelta(days=500),
            arrival_on=today - timedelta(days=530),
            programme_start_on=today - timedelta(days=400),
        )
        plan = Plan(
            participant_id=participant.id,
            end_goal=EndGoal.WORK,
            programme_start_on=today - timedelta(days=400),
            planned_end_on=today + timedelta(days=300),
            hours_per_week_norm=37.5,
        )
        session.add(plan)
        session.flush()
        for element_type, start, days, hours in (
            (PlanElementType.LANGUAGE, today - timedelta(days=400), 140, 15),
            (PlanElementType.WORK_PRACTICE, today - timedelta(days=200), 70, 20),
        ):
            session.add(
                PlanElement(
                    participant_id=participant.id,
                    plan_id=plan.id,
                    element_type=element_type,
                    status=ElementStatus.DONE,
                    start_on=start,
                    end_on=start + timedelta(days=days - 1),
                    hours_per_week=hours,
                )
            )
        refresh_deadlines(participant, today)
        session.commit()
        return participant.ref


def _days_ago(days: int) -> str:
    return (local_today() - timedelta(days=days)).isoformat()


def test_advisor_records_a_programme_decision(
    pages: Pages, check_a11y: Check, subject: str
) -> None:
    page = pages("advisor")
    response = page.goto(f"/participants/{subject}/decisions")
    assert response is not None and response.status == 200
    check_a11y(page, "decisions, empty")
    # A notice before the decision date is refused, next to the field.
    page.locator("#decision_type").select_option("programme")
    page.locator("#decided_on").fill(_days_ago(10))
    page.locator("#notified_on").fill(_days_ago(12))
    response = submit(page, SUBMIT)
    assert response is not None and response.status == 400
    assert page.locator("#notified_on[aria-invalid=true]").count() == 1
    check_a11y(page, "decisions, form with an error")
    page.locator("#notified_on").fill(_days_ago(8))
    response = submit(page, SUBMIT)
    assert response is not None and response.status == 200
    deadline = (date.fromisoformat(_days_ago(8)) + timedelta(weeks=3)).isoformat()
    assert deadline in page.locator("main table").inner_text()
    screenshot(page, "decisions-list")
    check_a11y(page, "decisions, one recorded")


def test_advisor_records_an_appeal(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}/decisions")
    with page.expect_navigation():
        page.locator("main table a[href*='/decisions/']").first.click()
    check_a11y(page, "decision detail, advisor")
    page.locator("#appeal_received_on").fill(_days_ago(2))
    page.locator("#appeal_outcome").select_option("upheld")
    response = submit(page, SUBMIT)
    assert response is not None and response.status == 200
    assert page.locator("#appeal_outcome").input_value() == "upheld"
    check_a11y(page, "decision detail, appeal recorded")


def test_overview_shows_the_decision(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}")
    assert page.locator("#decisions-heading").count() == 1
    assert page.locator(f"a[href='/participants/{subject}/end']").count() == 1
    check_a11y(page, "overview with decisions")


def test_advisor_ends_the_programme(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    response = page.goto(f"/participants/{subject}/end")
    assert response is not None and response.status == 200
    check_a11y(page, "programme end form")
    page.locator("#ended_on").fill(_days_ago(1))
    page.locator("#kind").select_option("completed")
    page.locator("#reason").select_option("work")
    page.locator("#activity_after").select_option("work")
    response = submit(page, SUBMIT)
    assert response is not None and response.status == 200
    assert page.locator("#ended_on").count() == 0
    assert page.locator(f"a[href='/participants/{subject}/certificate']").count() == 1
    screenshot(page, "programme-ended")
    check_a11y(page, "programme ended")


def test_twelve_month_status_is_refused_too_early(
    pages: Pages, check_a11y: Check, subject: str
) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}/end/status")
    check_a11y(page, "12-month status form")
    page.locator("#activity").select_option("education")
    page.locator("#recorded_on").fill(_days_ago(0))
    response = submit(page, SUBMIT)
    assert response is not None and response.status == 400
    assert page.locator("#recorded_on[aria-invalid=true]").count() == 1
    check_a11y(page, "12-month status refused")


def test_correction_form(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    response = page.goto(f"/participants/{subject}/end/correct")
    assert response is not None and response.status == 200
    check_a11y(page, "end correction form")


def test_certificate_print_and_pdf(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    response = page.goto(f"/participants/{subject}/certificate?lang=en")
    assert response is not None and response.status == 200
    assert page.locator("article.certificate[lang=en]").count() == 1
    assert "Vedtaksen" in page.locator("article").inner_text()
    assert page.locator("article tbody tr").count() == 2
    check_a11y(page, "certificate, English")
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    page.emulate_media(media="screen")
    pdf = page.request.get(f"/participants/{subject}/certificate.pdf?lang=sv")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")


def test_certificate_on_a_phone(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.set_viewport_size(PHONE)
    page.goto(f"/participants/{subject}/certificate?lang=nb")
    assert_fits_width(page)
    check_a11y(page, "certificate, phone")


def test_leader_reads(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    for path, label in (
        (f"/participants/{subject}/decisions", "decisions, leader"),
        (f"/participants/{subject}/end", "programme end, leader"),
        (f"/participants/{subject}/certificate", "certificate, leader"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200
        assert page.locator("main form.card").count() == 0
        check_a11y(page, label)
    page.goto(f"/participants/{subject}/decisions")
    with page.expect_navigation():
        page.locator("main table a[href*='/decisions/']").first.click()
    assert page.locator("#decided_on").count() == 0
    check_a11y(page, "decision detail, leader")
