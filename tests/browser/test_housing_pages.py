"""Housing in a real Chromium, checked by axe-core (WCAG 2.0/2.1 A and AA): the advisor
records a housing (first with an error), logs a housing note with a next action, opens
the housing and the note, sees the housing on the overview; the leader reads the page
and the housing overview.

This module seeds its own participant (in the advisor's caseload) through the models, so
it never changes the participants other modules rely on. Tests run in file order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from models.base import local_today
from tests.browser.conftest import LiveServer, screenshot, submit

pytestmark = pytest.mark.browser

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]

MIN_PAGES = 10  # every test of this module, run in full


@pytest.fixture(scope="module")
def subject(live_server: LiveServer) -> str:
    """A participant of the advisor's own, settled half a year ago, with no housing yet."""
    from models.codes import ParticipantStatus

    today = local_today()
    return live_server.new_participant(
        "Halima Boligsen",
        "1990-02-03",
        status=ParticipantStatus.ACTIVE,
        settlement_on=today - timedelta(days=180),
        arrival_on=today - timedelta(days=200),
    )


def _day(offset: int) -> str:
    return (local_today() + timedelta(days=offset)).isoformat()


def test_advisor_records_housing(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    response = page.goto(f"/participants/{subject}/housing")
    assert response is not None and response.status == 200
    check_a11y(page, "housing, empty")
    form = page.locator("#housing-form")
    form.locator("#housing_type").select_option("municipal_sublet")
    form.locator("#municipality").fill("Nordby")
    form.locator("#address").fill("Fjordveien 12, 9999 Nordby")
    form.locator("#household_size").fill("3")
    form.locator("#contract_start_on").fill(_day(-90))
    # A contract ending before it starts is refused next to the field.
    form.locator("#contract_end_on").fill(_day(-100))
    response = submit(page, "#housing-form button[type=submit]")
    assert response is not None and response.status == 400
    assert page.locator("#contract_end_on[aria-invalid=true]").count() == 1
    check_a11y(page, "housing, form with an error")
    page.locator("#housing-form #contract_end_on").fill(_day(30))
    page.locator("#housing-form #landlord").fill("Nordby boligutleie, 77 00 00 00")
    response = submit(page, "#housing-form button[type=submit]")
    assert response is not None and response.status == 200
    assert "Fjordveien 12" in page.locator("main").inner_text()
    screenshot(page, "housing-page")
    check_a11y(page, "housing, one recorded")


def test_advisor_logs_a_housing_note(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}/housing")
    form = page.locator("#housing-note-form")
    form.locator("#note-kind").select_option("home_visit")
    form.locator("#note-note").fill("Hjemmebesøk: fuktig bad, utleier varslet.")
    form.locator("#note-action1_title").fill("Følg opp reparasjon med utleier")
    form.locator("#note-action1_assignee").select_option(index=1)
    form.locator("#note-action1_due_on").fill(_day(7))
    response = submit(page, "#housing-note-form button[type=submit]")
    assert response is not None and response.status == 200
    assert page.locator("main table a[href*='/housing/notes/']").count() == 1
    check_a11y(page, "housing, note logged")


def test_advisor_opens_the_note(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}/housing")
    with page.expect_navigation():
        page.locator("main table a[href*='/housing/notes/']").first.click()
    assert "Følg opp reparasjon" in page.locator("main").inner_text()
    check_a11y(page, "housing note, advisor")


def test_advisor_opens_the_housing(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}/housing")
    with page.expect_navigation():
        page.locator("#history-caption ~ tbody a").first.click()
    assert page.locator("#housing-form #municipality").input_value() == "Nordby"
    check_a11y(page, "housing item, advisor")


def test_overview_shows_the_housing(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}")
    section = page.locator("section[aria-labelledby=housing-heading]")
    assert "Fjordveien 12" in section.inner_text()
    assert section.locator(".tag--soon").count() == 1  # the contract ends within 60 days
    check_a11y(page, "overview with housing")


def test_leader_reads_the_housing(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    response = page.goto(f"/participants/{subject}/housing")
    assert response is not None and response.status == 200
    assert page.locator("#housing-form").count() == 0
    check_a11y(page, "housing, leader")


def test_leader_reads_the_housing_overview(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    response = page.goto("/housing/")
    assert response is not None and response.status == 200
    text = page.locator("main").inner_text()
    assert "Fjordveien" not in text and "Boligsen" not in text
    screenshot(page, "housing-overview")
    check_a11y(page, "housing overview, leader")


def test_leader_reads_a_housing_item(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    page.goto(f"/participants/{subject}/housing")
    with page.expect_navigation():
        page.locator("#history-caption ~ tbody a").first.click()
    assert page.locator("#housing-form").count() == 0
    check_a11y(page, "housing item, leader")


def test_leader_reads_a_note(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    page.goto(f"/participants/{subject}/housing")
    with page.expect_navigation():
        page.locator("main table a[href*='/housing/notes/']").first.click()
    assert page.locator("#housing-note-form").count() == 0
    check_a11y(page, "housing note, leader")


def test_housing_page_on_a_phone(pages: Pages, check_a11y: Check, subject: str) -> None:
    from tests.browser.conftest import PHONE, assert_fits_width

    page = pages("advisor")
    page.set_viewport_size(PHONE)
    page.goto(f"/participants/{subject}/housing")
    assert_fits_width(page)
    check_a11y(page, "housing, phone")
