"""The employer register and work placements in a real Chromium, checked by axe-core (WCAG
2.0/2.1 A and AA): the advisor registers an employer (a refused organisation number
first), a contact person and an agreement, records a placement for a participant, opens
it, records an evaluation and offers it to the plan (which the participant does not have
yet: a clear message); the unit's leader reads the employer list and the placement.

This module seeds its own participant (in the advisor's caseload) through the models, so
it never changes the participants other modules rely on. Tests run in file order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from models.base import local_today
from tests.browser.conftest import PHONE, SUBMIT, LiveServer, assert_fits_width, screenshot, submit

pytestmark = pytest.mark.browser

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]

MIN_PAGES = 14  # every test of this module, run in full
EMPLOYER = "Nordby Bakeri AS"


@pytest.fixture(scope="module")
def subject(live_server: LiveServer) -> str:
    """A participant of the advisor's own, settled 90 days ago, with no placement yet."""
    from models.codes import ParticipantStatus

    today = local_today()
    return live_server.new_participant(
        "Samira Praksis",
        date(today.year - 31, 3, 1).isoformat(),
        status=ParticipantStatus.ACTIVE,
        settlement_on=today - timedelta(days=90),
        arrival_on=today - timedelta(days=120),
    )


def _days(offset: int) -> str:
    return (local_today() + timedelta(days=offset)).isoformat()


def _ok(response: Any, status: int = 200) -> None:
    assert response is not None, "no response"
    assert response.status == status, f"{response.url}: {response.status}, expected {status}"


def test_advisor_registers_an_employer(pages: Pages, check_a11y: Check) -> None:
    page = pages("advisor")
    _ok(page.goto("/employers/"))
    check_a11y(page, "employer list, empty")
    page.locator("main a[href='/employers/new']").click()
    page.wait_for_url("**/employers/new")
    check_a11y(page, "employer form")
    page.locator("#name").fill(EMPLOYER)
    page.locator("#country").select_option("NO")
    page.locator("#org_number").fill("988 077 918")
    _ok(submit(page), 400)
    assert page.locator("#org_number-error").is_visible()
    check_a11y(page, "employer form, refused organisation number")
    page.locator("#org_number").fill("988 077 917")
    page.locator("#industry").fill("Bakeri")
    page.locator("#address").fill("Storgata 1\n8000 Nordby")
    _ok(submit(page))
    assert "/employers/" in page.url and page.locator("h1").inner_text() == EMPLOYER
    check_a11y(page, "employer page")
    screenshot(page, "employer")


def test_advisor_adds_a_contact_and_an_agreement(pages: Pages, check_a11y: Check) -> None:
    page = pages("advisor")
    page.locator("main a[href$='/contacts/new']").click()
    page.wait_for_url("**/contacts/new")
    check_a11y(page, "contact form")
    page.locator("#name").fill("Per Veileder")
    page.locator("#job_title").fill("Daglig leder")
    page.locator("#phone").fill("+47 900 00 000")
    page.locator("#email").fill("per@bakeri.example.no")
    _ok(submit(page))
    page.locator("main a[href$='/agreements/new']").click()
    page.wait_for_url("**/agreements/new")
    check_a11y(page, "agreement form")
    page.locator("#kind").select_option("placement")
    page.locator("#valid_from").fill(_days(-30))
    _ok(submit(page))
    assert page.locator("main").get_by_text("Per Veileder").count() == 1
    page.locator("main a[href*='/employers/contacts/']").click()
    check_a11y(page, "contact form, edit")
    page.go_back()


def test_advisor_records_a_placement(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/placements"))
    check_a11y(page, "placements, empty")
    page.locator("#employer").select_option(label=EMPLOYER)
    page.locator("#supervisor").select_option(index=1)
    page.locator("#placement_type").select_option("language_practice")
    page.locator("#start_on").fill(_days(-14))
    page.locator("#days_per_week").fill("9")
    page.locator("#hours_per_week").fill("15")
    page.locator("#goals").fill("Lære kassesystemet\nSnakke norsk med kunder")
    _ok(submit(page), 400)
    check_a11y(page, "placement form, refused days")
    page.locator("#days_per_week").fill("3")
    page.locator("#status").select_option("ongoing")
    _ok(submit(page))
    assert "/placements/" in page.url
    check_a11y(page, "placement page")
    screenshot(page, "placement")


def test_advisor_evaluates_and_offers_to_the_plan(pages: Pages, check_a11y: Check) -> None:
    page = pages("advisor")
    page.locator("main a[href$='/evaluations/new']").click()
    page.wait_for_url("**/evaluations/new")
    check_a11y(page, "evaluation form")
    page.locator("#summary").fill("Møter presis og tar ansvar.")
    page.locator("#ratings-0").select_option("3")
    page.locator("#ratings-1").select_option("2")
    page.locator("#next_steps").fill("Øve mer på kundesamtaler.")
    _ok(submit(page))
    assert page.locator(".placement-evaluation").count() == 1
    check_a11y(page, "placement page with an evaluation")
    _ok(submit(page, "main form.inline-form button[type=submit]"))
    # No plan yet: the page says so instead of failing.
    assert page.locator(".placement-evaluation").count() == 1
    check_a11y(page, "placement page, no plan message")
    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    check_a11y(page, "placement page, phone")


def test_leader_reads_the_employer_list_and_the_placement(
    pages: Pages, check_a11y: Check, subject: str
) -> None:
    page = pages("leader")
    _ok(page.goto("/employers/"))
    assert page.locator("main").get_by_text(EMPLOYER).count() == 1
    assert page.locator("main").get_by_text("Samira").count() == 0
    check_a11y(page, "employer list, leader")
    _ok(page.goto(f"/participants/{subject}/placements"))
    assert page.locator(SUBMIT).count() == 0
    check_a11y(page, "placements, leader")
