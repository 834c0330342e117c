"""The competence mapping and the plan in a real Chromium, checked by axe-core (WCAG 2.0/2.1
A and AA): the advisor maps a participant, writes a plan (a refused save first), adds
elements, sees the warnings, opens the history, a version and the difference, marks a
version agreed, records a review and opens the print page; NAV's partner user reads the
shared participant's plan read-only.

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

MIN_PAGES = 20  # every test of this module, run in full
ELEMENT_SUBMIT = "main form.card:not([aria-labelledby]) button[type=submit]"


@pytest.fixture(scope="module")
def subject(live_server: LiveServer) -> str:
    """A participant of the advisor's own, settled 50 days ago, 23 years old: no plan yet."""
    from models.codes import ParticipantStatus

    today = local_today()
    return live_server.new_participant(
        "Hamid Planlegger",
        date(today.year - 23, 1, 1).isoformat(),
        status=ParticipantStatus.ACTIVE,
        settlement_on=today - timedelta(days=50),
        arrival_on=today - timedelta(days=80),
    )


def _days(offset: int) -> str:
    return (local_today() + timedelta(days=offset)).isoformat()


def _ok(response: Any, status: int = 200) -> None:
    assert response is not None, "no response"
    assert response.status == status, f"{response.url}: {response.status}, expected {status}"


def test_advisor_maps_competence(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/mapping"))
    check_a11y(page, "mapping, empty")
    page.locator(f"main a[href='/participants/{subject}/mapping/edit']").first.click()
    page.wait_for_url(f"**/participants/{subject}/mapping/edit")
    check_a11y(page, "mapping form")
    page.locator("#mapped_on").fill(_days(-1))
    page.locator("#education_level").select_option("lower_secondary")
    page.locator("#education_years").fill("9")
    page.locator("#occupation").fill("Snekker")
    page.locator("#work_years").fill("4")
    page.locator("#language_1").select_option("fa")
    page.locator("#level_1").select_option("C1")
    page.locator("#literacy").select_option("other_script")
    page.locator("#other_competence").fill("Førerkort klasse B")
    _ok(submit(page, SUBMIT))
    assert "Snekker" in page.locator("main").inner_text()
    check_a11y(page, "mapping, saved")
    _ok(page.goto(f"/participants/{subject}/guidance/new"))
    check_a11y(page, "career guidance form")
    page.locator("#provider").fill("Karrieresenteret")
    page.locator("#recommendation").select_option("education")
    page.locator("#summary").fill("Anbefaler videregående")
    _ok(submit(page, SUBMIT))
    assert "Karrieresenteret" in page.locator("main table").inner_text()


def test_advisor_writes_the_plan(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/plan"))
    check_a11y(page, "plan, empty")
    _ok(page.goto(f"/participants/{subject}/plan/edit"))
    check_a11y(page, "plan form, new")
    page.locator("#end_goal").select_option("work")
    page.locator("#long_term_goal").fill("Jobbe som tømrer")
    page.locator("#goal_oral").select_option("B1")
    page.locator("#programme_start_on").fill(_days(0))
    page.locator("#planned_end_on").fill(_days(-1))
    page.locator("#contract_text").fill("Hamid møter hver dag. Kommunen gir veiledning.")
    _ok(submit(page, SUBMIT), 400)
    assert page.locator("#planned_end_on[aria-invalid=true]").count() == 1
    check_a11y(page, "plan form with an error")
    page.locator("#planned_end_on").fill(_days(800))
    page.locator("#reason").fill("Første plan")
    _ok(submit(page, SUBMIT))
    assert page.url.endswith(f"/participants/{subject}/plan")
    # Young, no upper-secondary, end goal work, no elements, too long: warnings.
    text = page.locator("main").inner_text()
    for rule in ("plan-young-end-goal", "plan-length", "plan-mandatory-elements"):
        assert f"NO-2021/{rule}" in text
    screenshot(page, "plan-with-warnings")
    check_a11y(page, "plan with warnings")


def _add_element(page: Any, subject: str, kind: str, hours: str) -> None:
    _ok(page.goto(f"/participants/{subject}/plan/elements/new"))
    page.locator("#element_type").select_option(kind)
    page.locator("#hours_per_week").fill(hours)
    page.locator("#reason").fill(f"La til {kind}")
    _ok(submit(page, SUBMIT))


def test_advisor_adds_elements(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/plan/elements/new"))
    check_a11y(page, "element form")
    page.locator("#element_type").select_option("language")
    page.locator("#hours_per_week").fill("99")
    page.locator("#reason").fill("Norsk")
    _ok(submit(page, SUBMIT), 400)
    assert page.locator("#hours_per_week[aria-invalid=true]").count() == 1
    check_a11y(page, "element form with an error")
    page.locator("#hours_per_week").fill("20")
    _ok(submit(page, SUBMIT))
    _add_element(page, subject, "work_practice", "10")
    assert page.locator("main table tbody tr").count() == 2
    check_a11y(page, "plan with elements")


def test_advisor_edits_an_element(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    page.goto(f"/participants/{subject}/plan")
    with page.expect_navigation():
        page.locator("main table a[href*='/plan/elements/']").first.click()
    check_a11y(page, "element edit form")
    page.locator("#status").select_option("ongoing")
    page.locator("#reason").fill("Startet")
    _ok(submit(page, ELEMENT_SUBMIT))


def test_history_version_and_difference(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/plan/history"))
    assert page.locator("main table tbody tr").count() == 4
    check_a11y(page, "plan history")
    _ok(page.goto(f"/participants/{subject}/plan/diff?a=1&b=4"))
    assert page.locator("main .diff-row").count() >= 2
    screenshot(page, "plan-diff")
    check_a11y(page, "plan difference")
    _ok(page.goto(f"/participants/{subject}/plan/versions/1"))
    check_a11y(page, "plan version")


def test_advisor_marks_a_version_agreed(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/plan/versions/4/agree"))
    check_a11y(page, "agreement form")
    page.locator("#interpreter_used").check()
    page.locator("#language").select_option("fa")
    _ok(submit(page, SUBMIT))
    assert page.locator("main .notice--ok").count() == 1
    check_a11y(page, "agreed version")


def test_advisor_records_a_review(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/plan/review"))
    check_a11y(page, "review form")
    page.locator("#note").fill("Gikk bra")
    _ok(submit(page, SUBMIT))
    assert "Gikk bra" in page.locator("main").inner_text()


def test_print_page(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}/plan/print?lang=en"))
    assert page.locator("article.printable-plan[lang=en]").count() == 1
    assert "Jobbe som tømrer" in page.locator("article").inner_text()
    check_a11y(page, "printable plan, English")
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert page.locator(".print-tools").is_hidden()
    page.emulate_media(media="screen")
    pdf = page.request.get(f"/participants/{subject}/plan.pdf?lang=nb")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")


def test_overview_panel_and_phone(pages: Pages, check_a11y: Check, subject: str) -> None:
    page = pages("advisor")
    _ok(page.goto(f"/participants/{subject}"))
    assert page.locator(f"#plan-heading ~ * a[href='/participants/{subject}/plan']").count() == 1
    check_a11y(page, "overview with a plan")
    page.set_viewport_size(PHONE)
    _ok(page.goto(f"/participants/{subject}/plan"))
    assert_fits_width(page)
    check_a11y(page, "plan, phone")


def test_partner_reads_the_shared_plan(
    pages: Pages, check_a11y: Check, live_server: LiveServer
) -> None:
    shared = live_server.seed.participants["shared"].ref
    page = pages("partner")
    _ok(page.goto(f"/participants/{shared}/plan"))
    assert page.locator(f"a[href='/participants/{shared}/plan/edit']").count() == 0
    check_a11y(page, "plan, partner with consent")
    _ok(page.goto(f"/participants/{shared}/plan/edit"), 403)
    _ok(page.goto(f"/participants/{shared}/mapping"))
    check_a11y(page, "mapping, partner with consent")
