"""The unit leader's pages in a real Chromium, checked by axe-core (WCAG 2.0/2.1 A and
AA): the dashboard, reassigning a participant (first with an error) and the audit search
(first with an error).

This module seeds its own participant, without a primary advisor, through the models;
the leader gives it to the advisor, as other modules add participants to that caseload.
Tests run in file order.
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

MIN_PAGES = 9  # every test of this module, run in full


@pytest.fixture(scope="module")
def subject(live_server: LiveServer) -> str:
    """A participant of the refugee service with nobody as primary advisor."""
    from models.codes import ParticipantStatus

    today = local_today()
    return live_server.new_participant(
        "Omar Uten-Rådgiver",
        "1988-04-05",
        advisor=None,
        status=ParticipantStatus.REGISTERED,
        settlement_on=today - timedelta(days=20),
        arrival_on=today - timedelta(days=30),
    )


def test_leader_reads_the_dashboard(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    response = page.goto("/unit/")
    assert response is not None and response.status == 200
    text = page.locator("main").inner_text()
    assert "Aisha Rådgiver" in text
    assert "Uten-Rådgiver" not in text  # figures only, no participant's name
    screenshot(page, "unit-dashboard")
    check_a11y(page, "unit dashboard")


def test_dashboard_on_a_phone(pages: Pages, check_a11y: Check, subject: str) -> None:
    from tests.browser.conftest import PHONE, assert_fits_width

    page = pages("leader")
    page.set_viewport_size(PHONE)
    page.goto("/unit/")
    assert_fits_width(page)
    check_a11y(page, "unit dashboard, phone")


def test_leader_opens_those_without_an_advisor(
    pages: Pages, check_a11y: Check, subject: str
) -> None:
    page = pages("leader")
    page.goto("/unit/")
    with page.expect_navigation():
        page.locator("tr[data-advisor=none] a").first.click()
    assert page.locator(f"#p-{subject}").count() == 1
    check_a11y(page, "reassign, participants without an advisor")


def test_reassign_without_a_choice_is_refused(
    pages: Pages, check_a11y: Check, subject: str
) -> None:
    page = pages("leader")
    page.goto("/unit/reassign?advisor=0")
    response = submit(page, "#reassign-form button[type=submit]")
    assert response is not None and response.status == 400
    assert page.locator(".error-summary").count() == 1
    check_a11y(page, "reassign, with errors")


def test_leader_reassigns_the_participant(
    pages: Pages, check_a11y: Check, live_server: LiveServer, subject: str
) -> None:
    page = pages("leader")
    page.goto("/unit/reassign?advisor=0")
    page.locator(f"#p-{subject}").check()
    page.locator("#primary_advisor").select_option(str(live_server.seed.users["advisor"].id))
    response = submit(page, "#reassign-form button[type=submit]")
    assert response is not None and response.status == 200
    assert page.locator(f"#p-{subject}").count() == 0  # no longer without an advisor
    screenshot(page, "unit-reassign")
    check_a11y(page, "reassign, done")


def test_the_advisor_has_the_participant_now(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    response = page.goto(f"/participants/{subject}")
    assert response is not None and response.status == 200
    check_a11y(page, "overview, after the reassignment")


def test_leader_opens_the_audit_search(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    response = page.goto("/unit/audit")
    assert response is not None and response.status == 200
    check_a11y(page, "audit search")


def test_audit_search_with_a_bad_period(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    page.goto("/unit/audit")
    page.locator("#date_from").fill(local_today().isoformat())
    page.locator("#date_to").fill((local_today() - timedelta(days=5)).isoformat())
    response = submit(page, "#audit-form button[type=submit]:not([name])")
    assert response is not None and response.status == 400
    assert page.locator("#date_from[aria-invalid=true]").count() == 1
    check_a11y(page, "audit search, with an error")


def test_audit_search_for_the_participant(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("leader")
    page.goto("/unit/audit")
    page.locator("#participant_ref").fill(subject)
    response = submit(page, "#audit-form button[type=submit]:not([name])")
    assert response is not None and response.status == 200
    assert "participant.reassign" in page.locator("main").inner_text()
    assert subject not in page.url
    screenshot(page, "unit-audit")
    check_a11y(page, "audit search, results")
