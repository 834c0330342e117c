"""Follow-ups and tasks in a real Chromium, checked by axe-core (WCAG 2.0/2.1 A and AA).

This module seeds its own advisor and participant (through the models, in a
module-scoped fixture), so the other modules' caseloads stay as they expect. The
advisor logs a follow-up with a next action, finds it in My tasks and marks it done;
the unit's leader reads the follow-ups without a form to write. Elements are found by
id, name and href, never by their (possibly not yet translated) text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from app.database import services
from models.base import local_today, utcnow
from tests.browser.conftest import (
    PHONE,
    REFUGEE_SERVICE,
    Browsing,
    LiveServer,
    add_participant,
    assert_fits_width,
    screenshot,
    submit,
    submit_login,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]

MIN_PAGES = 10  # every test of this module, run in full
LOG_SUBMIT = "#follow-up-form button[type=submit]"
SUMMARY = "Snakket om språkpraksis i barnehage.\nTolk på telefon."
ACTION = "Kontakte barnehagen om praksisplass"


@dataclass(frozen=True)
class FollowUpSeed:
    email: str
    totp_secret: str
    user_id: int
    participant_ref: str
    name: str


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> FollowUpSeed:
    """An advisor of the refugee service with one participant of their own."""
    from models.accounts import Membership, Role, Unit, User, hash_password

    app = live_server.app
    secret = pyotp.random_base32()
    with app.app_context(), services(app).session_factory() as session:
        unit = session.get(Unit, live_server.seed.units[REFUGEE_SERVICE])
        assert unit is not None
        user = User(
            email="oppfolging@nordby.example.org",
            display_name="Frida Oppfølger",
            password_hash=hash_password(PASSWORD),
            is_active=True,
        )
        session.add(user)
        session.flush()
        user.memberships.append(Membership(unit=unit, unit_id=unit.id, role=Role.ADVISOR))
        user.totp_secret = secret
        user.mfa_enrolled_at = utcnow()
        today = local_today()
        participant = add_participant(
            session,
            unit.id,
            user.id,
            "Zahra Ahmadi",
            "1992-04-03",
            arrival_on=today - timedelta(days=120),
            settlement_on=today - timedelta(days=90),
            settlement_municipality="Nordby",
            languages="fa",
        )
        session.commit()
        return FollowUpSeed(user.email, secret, user.id, participant.ref, "Zahra Ahmadi")


@pytest.fixture(scope="module")
def advisor_page(browsing: Browsing, seeded: FollowUpSeed) -> Iterator[Any]:
    context = browsing.new_context()
    page = context.new_page()
    response = submit_login(page, seeded.email, PASSWORD, pyotp.TOTP(seeded.totp_secret).now())
    assert response is not None and response.ok
    yield page
    context.close()


def assert_ok(response: Any, status: int = 200) -> None:
    assert response is not None, "no response"
    assert response.status == status, f"{response.url}: {response.status}, expected {status}"


def test_empty_follow_ups_page(advisor_page: Any, check_a11y: Check, seeded: FollowUpSeed) -> None:
    page = advisor_page
    assert_ok(page.goto(f"/participants/{seeded.participant_ref}"))
    assert page.locator("#followups-heading").count() == 1
    check_a11y(page, "overview with the empty follow-up panel")
    assert_ok(page.goto(f"/participants/{seeded.participant_ref}/followups"))
    assert page.locator("#follow-up-form").count() == 1
    assert page.locator("#task-form").count() == 1
    check_a11y(page, "follow-ups, empty")


def test_log_with_errors(advisor_page: Any, check_a11y: Check, seeded: FollowUpSeed) -> None:
    page = advisor_page
    page.goto(f"/participants/{seeded.participant_ref}/followups")
    page.locator("#action1_title").fill(ACTION)  # no assignee, no date, no summary
    assert_ok(submit(page, LOG_SUBMIT), 400)
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#summary[aria-invalid=true]").count() == 1
    assert page.locator("#action1_title").input_value() == ACTION  # the input is kept
    check_a11y(page, "follow-up form with errors")


def test_log_follow_up_with_next_action(
    advisor_page: Any, check_a11y: Check, seeded: FollowUpSeed
) -> None:
    page = advisor_page
    page.goto(f"/participants/{seeded.participant_ref}/followups")
    page.locator("#kind").select_option("phone")
    page.locator("#interpreter_used").check()
    page.locator("#interpreter_language").select_option("fa")
    page.locator("#externals").fill("Barnehagens styrer")
    page.locator("#summary").fill(SUMMARY)
    page.locator("#action1_title").fill(ACTION)
    page.locator("#action1_assignee").select_option(str(seeded.user_id))
    page.locator("#action1_due_on").fill((local_today() + timedelta(days=3)).isoformat())
    assert_ok(submit(page, LOG_SUBMIT))
    assert page.locator(".flash--success").is_visible()
    assert page.locator("#history-caption").count() == 1
    assert ACTION in page.locator("main").inner_text()
    screenshot(page, "followups-desktop")
    check_a11y(page, "follow-ups after logging (flash)")

    page.locator("main table a[href*='/followups/']").first.click()
    page.wait_for_load_state()
    assert page.locator("#summary").input_value().startswith("Snakket om")
    check_a11y(page, "one follow-up, correction form")


def test_my_tasks_and_done(advisor_page: Any, check_a11y: Check) -> None:
    page = advisor_page
    assert_ok(page.goto("/tasks/"))
    assert page.locator("#tasks-soon").count() == 1
    assert ACTION in page.locator("#tasks-soon").inner_text()
    check_a11y(page, "my tasks")
    assert_ok(submit(page, "#tasks-soon button[type=submit]"))
    assert page.locator(".flash--success").is_visible()
    assert page.locator("#tasks-soon").count() == 0
    assert ACTION in page.locator("#tasks-done").inner_text()
    check_a11y(page, "my tasks after done (flash)")


def test_my_tasks_on_a_phone(advisor_page: Any, check_a11y: Check, seeded: FollowUpSeed) -> None:
    page = advisor_page
    page.set_viewport_size(PHONE)
    try:
        for path in ("/tasks/", f"/participants/{seeded.participant_ref}/followups"):
            assert_ok(page.goto(path))
            assert_fits_width(page)
            check_a11y(page, f"phone {path}")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_leader_reads(pages: Pages, check_a11y: Check, seeded: FollowUpSeed) -> None:
    page = pages("leader")
    assert_ok(page.goto(f"/participants/{seeded.participant_ref}/followups"))
    assert page.locator("#follow-up-form").count() == 0
    assert "Snakket om" in page.locator("main").inner_text()
    check_a11y(page, "leader reads follow-ups")
    assert_ok(page.goto(f"/participants/{seeded.participant_ref}"))
    assert page.locator("#followups-heading").count() == 1
    check_a11y(page, "leader overview with the follow-up panel")
