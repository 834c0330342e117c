"""The teacher's pages in a real Chromium, checked by axe-core (WCAG 2.0/2.1 A and AA):
the teacher opens their classes, takes attendance, records an estimate, a test result
and leave; the advisor sees the effect (chart, deadline) on the overview.

This module seeds its own class and participant through the models. Tests run in file
order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
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

MIN_PAGES = 10


@pytest.fixture(scope="module")
def school(live_server: LiveServer) -> dict[str, Any]:
    """A class of the seeded teacher, meeting every day, with one participant of the
    advisor's caseload enrolled."""
    from models import language as ops
    from models.codes import CefrLevel, ParticipantStatus
    from models.participants import refresh_deadlines
    from models.policy import Actor

    today = local_today()
    seed = live_server.seed
    with live_server.app.app_context(), services(live_server.app).session_factory() as session:
        from models.accounts import User

        teacher = session.get(User, seed.users["teacher"].id)
        assert teacher is not None
        participant = add_participant(
            session,
            seed.units["Flyktningtjenesten Nordby"],
            seed.users["advisor"].id,
            "Leyla Språksen",
            "1993-02-11",
            refresh=False,  # after the enrolment, which moves the language deadline
            status=ParticipantStatus.ACTIVE,
            settlement_on=today - timedelta(days=300),
            arrival_on=today - timedelta(days=320),
        )
        item = ops.create_class(
            session,
            Actor(teacher),
            ops.ClassInput(
                name="Norsk A2 formiddag",
                unit_id=seed.units["Nordby voksenopplæring"],
                level=CefrLevel.A2,
                weekdays=list(range(7)),
                lesson_minutes=45,
                lessons_per_day=4,
                starts_on=today - timedelta(days=90),
                ends_on=today + timedelta(days=200),
                room="101",
                teacher_ids=[teacher.id],
            ),
        )
        ops.enrol(session, Actor(teacher), item, participant, today - timedelta(days=60), today)
        refresh_deadlines(participant, today)
        session.commit()
        return {"ref": participant.ref, "number": item.id}


def test_teacher_home(pages: Pages, check_a11y: Check, school: dict[str, Any]) -> None:
    page = pages("teacher")
    response = page.goto("/classes/")
    assert response is not None and response.status == 200
    assert page.locator("nav.site-nav a[href='/classes/']").count() == 1
    assert "Norsk A2 formiddag" in page.locator("main").inner_text()
    check_a11y(page, "my classes")


def test_class_page(pages: Pages, check_a11y: Check, school: dict[str, Any]) -> None:
    page = pages("teacher")
    response = page.goto(f"/classes/{school['number']}")
    assert response is not None and response.status == 200
    assert "Språksen" in page.locator("main table").inner_text()
    check_a11y(page, "class page")
    # An unknown number is refused next to the field.
    page.locator("#identifier").fill("12345")
    response = submit(page, SUBMIT)
    assert response is not None and response.status == 400
    check_a11y(page, "class page, enrolment refused")


def test_attendance_register(pages: Pages, check_a11y: Check, school: dict[str, Any]) -> None:
    page = pages("teacher")
    today = local_today().isoformat()
    response = page.goto(f"/classes/{school['number']}/attendance?on={today}")
    assert response is not None and response.status == 200
    check_a11y(page, "attendance register")
    # Excused without a reason is refused, the input is kept.
    page.locator("#entries-0-status").select_option("excused")
    response = submit(page, "main form button[type=submit]")
    assert response is not None and response.status == 400
    assert page.locator("#entries-0-status").input_value() == "excused"
    check_a11y(page, "attendance register with an error")
    page.locator("#entries-0-status").select_option("unexcused")
    response = submit(page, "main form button[type=submit]")
    assert response is not None and response.status == 200
    assert page.locator("#entries-0-status").input_value() == "unexcused"
    screenshot(page, "attendance-register")


def test_register_on_a_phone(pages: Pages, check_a11y: Check, school: dict[str, Any]) -> None:
    page = pages("teacher")
    page.set_viewport_size(PHONE)
    page.goto(f"/classes/{school['number']}/attendance")
    assert_fits_width(page)
    check_a11y(page, "attendance register, phone")


def test_teacher_records_progress(pages: Pages, check_a11y: Check, school: dict[str, Any]) -> None:
    page = pages("teacher")
    response = page.goto(f"/participants/{school['ref']}/language")
    assert response is not None and response.status == 200
    check_a11y(page, "language page, teacher")
    for days_ago, level in ((40, "A1"), (10, "A2")):
        page.locator("#e-skill").select_option("oral")
        page.locator("#e-level").select_option(level)
        page.locator("#e-assessed_on").fill((local_today() - timedelta(days=days_ago)).isoformat())
        response = submit(page, "form[action$='/estimates'] button[type=submit]")
        assert response is not None and response.status == 200
    page.locator("#t-kind").select_option("social_studies")
    page.locator("#t-score").fill("26")
    response = submit(page, "form[action$='/tests'] button[type=submit]")
    assert response is not None and response.status == 200
    page.locator("#l-leave_type").select_option("parental")
    page.locator("#l-starts_on").fill(local_today().isoformat())
    page.locator("#l-ends_on").fill((local_today() + timedelta(days=13)).isoformat())
    response = submit(page, "form[action$='/leave'] button[type=submit]")
    assert response is not None and response.status == 200
    assert page.locator("svg[role=img] title").count() == 1
    screenshot(page, "language-page")
    check_a11y(page, "language page with chart")


def test_teacher_overview_shows_language_only(
    pages: Pages, check_a11y: Check, school: dict[str, Any]
) -> None:
    page = pages("teacher")
    response = page.goto(f"/participants/{school['ref']}")
    assert response is not None and response.status == 200
    assert page.locator("#language-heading").count() == 1
    assert page.locator("#plan-heading, #decisions-heading").count() == 0
    check_a11y(page, "overview, teacher")


def test_advisor_sees_the_effect(pages: Pages, check_a11y: Check, school: dict[str, Any]) -> None:
    page = pages("advisor")
    response = page.goto(f"/participants/{school['ref']}")
    assert response is not None and response.status == 200
    section = page.locator("section[aria-labelledby=language-heading]")
    assert section.locator("svg title").count() == 1
    assert "14" in section.inner_text()  # the leave's days extend the deadline
    check_a11y(page, "overview, advisor with language section")
