"""The participant record in a real Chromium, for each role that reaches it, checked by
axe-core against WCAG 2.0 and 2.1 level A and AA: no violation is allowed.

The seeded caseload (see conftest `PARTICIPANTS`) belongs to the advisor; a colleague in
the same refugee service opens one record with break-the-glass; the leader reviews that
access; NAV's partner user sees the one participant who consented, and only the language
and plan sections. Flows go through the forms, as a user would. Elements are found by
id, name and href, never by their (possibly not yet translated) text.

The tests run in file order: the leader's review expects the colleague's break-the-glass
access, and makes one through the model when run alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.database import services
from models.base import local_today, utcnow
from tests.browser.conftest import (
    COLLEAGUE,
    HOUSING_UNIT,
    PARTICIPANTS,
    PHONE,
    SUBMIT,
    LiveServer,
    assert_fits_width,
    screenshot,
    submit,
)
from tests.conftest import norwegian_id

pytestmark = pytest.mark.browser

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]

MIN_PAGES = 30  # every test of this module, run in full
SEARCH = "main form[role=search] button[type=submit]"
MAIN_SUBMIT = "main form[method=post] button[type=submit]"
BREAK_GLASS_REASON = "Deltakeren møtte opp på kontoret, og rådgiveren er syk i dag."
REGISTERED_BIRTH = date(1990, 5, 17)


def ref(server: LiveServer, key: str) -> str:
    return server.seed.participants[key].ref


def participant_links(page: Any) -> set[str]:
    """The participants listed in the caseload table, by their overview links."""
    hrefs = page.locator("main table a[href^='/participants/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return {href.rsplit("/", 1)[-1] for href in hrefs}


def assert_ok(response: Any, status: int = 200) -> None:
    assert response is not None, "no response"
    assert response.status == status, f"{response.url}: {response.status}, expected {status}"


# -- the owner (advisor) -------------------------------------------------------------


def test_caseload_and_name_search(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("advisor")
    assert_ok(page.goto("/participants/"))
    assert participant_links(page) == {ref(live_server, key) for key in PARTICIPANTS}
    assert page.locator("a[href='/participants/new']").count() == 1
    assert page.locator("main table .tag--overdue").count() >= 1  # the long-settled one
    assert page.locator("#status").count() == 0  # leader's filters only
    screenshot(page, "caseload-desktop")
    check_a11y(page, "advisor caseload")

    # Search by name (case-insensitively), through the search form.
    page.locator("#q").fill("KOVALENKO")
    assert_ok(submit(page, SEARCH))
    assert "KOVALENKO" not in page.url  # searches are POSTed, never put in a URL
    assert participant_links(page) == {ref(live_server, "overdue")}
    assert page.locator("#q").input_value() == "KOVALENKO"
    check_a11y(page, "advisor caseload, name search")


def test_registration_with_errors(pages: Pages, check_a11y: Check) -> None:
    page = pages("advisor")
    assert_ok(page.goto("/participants/new"))
    assert page.locator("#unit").count() == 1
    assert page.locator("#languages[multiple]").count() == 1
    screenshot(page, "registration-desktop")
    check_a11y(page, "register participant")

    # Neither a name nor a number: the error summary links to the first field.
    assert_ok(submit(page, MAIN_SUBMIT), 400)
    assert page.locator(".error-summary").is_visible()
    assert page.locator(".error-summary a[href='#given_name']").count() == 1
    assert page.locator("#given_name[aria-invalid=true]").count() == 1
    check_a11y(page, "register participant, no name or number")


def test_registration_through_the_form(
    pages: Pages, check_a11y: Check, live_server: LiveServer
) -> None:
    page = pages("advisor")
    page.goto("/participants/new")
    today = local_today()
    page.locator("#given_name").fill("Fatima")
    page.locator("#family_name").fill("Ali Nur")
    page.locator("#national_id").fill(norwegian_id(REGISTERED_BIRTH))
    page.locator("#sex").select_option("female")
    page.locator("#languages").select_option(["so", "ar"])
    page.locator("#interpreter_needed").check()
    page.locator("#interpreter_language").select_option("so")
    page.locator("#permit_category").select_option("no_resettlement")
    page.locator("#permit_granted_on").fill((today - timedelta(days=90)).isoformat())
    page.locator("#arrival_on").fill((today - timedelta(days=60)).isoformat())
    page.locator("#settlement_municipality").fill("Nordby")
    page.locator("#settlement_on").fill((today - timedelta(days=45)).isoformat())
    page.locator("#phone").fill("+47 900 00 000")
    assert_ok(submit(page, MAIN_SUBMIT))
    path = page.url.removeprefix(live_server.url)
    assert path.startswith("/participants/") and path.count("/") == 2, page.url  # the overview
    assert page.locator(".flash--success").is_visible()
    assert page.locator("#deadlines-heading").count() == 1  # settled: deadlines computed
    assert page.locator(f"a[href='{path}/edit']").count() == 1  # in the owner's caseload
    check_a11y(page, "overview after registration (flash)")


def test_overview_as_owner(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("advisor")
    participant = ref(live_server, "protected")
    assert_ok(page.goto(f"/participants/{participant}"))
    for heading in ("deadlines", "identity", "residence", "contact", "notes", "consents"):
        assert page.locator(f"#{heading}-heading").count() == 1, heading
    # The primary advisor sees the protected address itself.
    assert "Storgata 1" in page.locator("#contact-heading + dl").inner_text()
    for action in ("edit", "consents", "access-log", "export"):
        assert page.locator(f"a[href='/participants/{participant}/{action}']").count() == 1
    assert page.locator("#r-primary_advisor").count() == 0  # reassigning is the leader's
    screenshot(page, "overview-desktop")
    check_a11y(page, "advisor overview")


def test_correction_form(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("advisor")
    participant = ref(live_server, "protected")
    assert_ok(page.goto(f"/participants/{participant}/edit"))
    assert page.locator("#given_name").input_value() == "Yonas"
    assert page.locator("#is_protected_address").is_checked()
    assert page.locator("#unit").count() == 0
    check_a11y(page, "advisor correct the record")

    # A change without a reason is refused, with the reason field marked.
    page.locator("#phone").fill("+47 400 00 001")
    assert_ok(submit(page, MAIN_SUBMIT), 400)
    assert page.locator(".error-summary a[href='#reason']").count() == 1
    assert page.locator("#reason[aria-invalid=true]").count() == 1
    check_a11y(page, "advisor correct the record, no reason")

    page.locator("#reason").fill("Nytt telefonnummer, oppgitt av deltakeren.")
    assert_ok(submit(page, MAIN_SUBMIT))
    assert page.url.endswith(f"/participants/{participant}")
    assert page.locator(".flash--success").is_visible()


def test_rule_override(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("advisor")
    participant = ref(live_server, "overdue")
    page.goto(f"/participants/{participant}")
    assert_ok(submit(page, f"main a[href='/participants/{participant}/overrides']"))
    assert page.locator("#subject").count() == 1
    check_a11y(page, "advisor rule overrides")

    assert_ok(submit(page, SUBMIT), 400)  # no value, no reason
    assert page.locator(".error-summary").is_visible()
    assert page.locator(".field--error").count() >= 1
    check_a11y(page, "advisor rule overrides, empty")

    moved = (local_today() + timedelta(days=30)).isoformat()
    page.locator("#subject").select_option("deadline:competence_mapping")
    page.locator("#value").fill(moved)
    page.locator("#reason").fill("Kartleggingen er avtalt med Nordby voksenopplæring.")
    assert_ok(submit(page, SUBMIT))
    assert page.url.endswith(f"/participants/{participant}")
    assert page.locator(".flash--success").is_visible()
    assert moved in page.locator("table:has(#deadlines-caption)").inner_text()
    check_a11y(page, "advisor overview with an override (flash)")


def test_consents(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("advisor")
    participant = ref(live_server, "shared")
    assert_ok(page.goto(f"/participants/{participant}/consents"))
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1  # the seeded consent to NAV
    assert rows.locator(f"form[action^='/participants/{participant}/consents/']").count() == 1
    assert page.locator("#valid_from").input_value() == local_today().isoformat()
    check_a11y(page, "advisor consents")

    housing = str(live_server.seed.units[HOUSING_UNIT])
    page.locator("#partner_unit").select_option(housing)
    page.locator("#purpose").fill("Hjelp til å finne bolig")
    assert_ok(submit(page, SUBMIT), 400)  # no section chosen
    assert page.locator(".error-summary a[href='#sections']").count() == 1
    check_a11y(page, "advisor consents, no section")

    page.locator("#sections").select_option(["housing", "follow_ups"])
    assert_ok(submit(page, SUBMIT))
    assert page.url.endswith(f"/participants/{participant}/consents")
    assert page.locator(".flash--success").is_visible()
    assert rows.count() == 2
    check_a11y(page, "advisor consents, recorded (flash)")


def test_access_log_and_export(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("advisor")
    participant = ref(live_server, "protected")
    assert_ok(page.goto(f"/participants/{participant}/access-log"))
    assert page.locator("main table tbody tr").count() >= 1
    check_a11y(page, "advisor access log")

    assert_ok(page.goto(f"/participants/{participant}/export"))
    assert page.locator(f"a[href='/participants/{participant}/export.json']").count() == 1
    check_a11y(page, "advisor access export")


# -- a colleague: break-the-glass ----------------------------------------------------


def test_colleague_breaks_the_glass(
    pages: Pages, check_a11y: Check, live_server: LiveServer
) -> None:
    page = pages(COLLEAGUE)
    target = live_server.seed.participants["protected"]
    assert_ok(page.goto("/participants/"))
    assert participant_links(page) == set()  # nobody assigned to the colleague

    # Found by number outside the caseload: a link to open it with a reason.
    page.locator("#q").fill(target.national_id)
    assert_ok(submit(page, SEARCH))
    link = f"a[href='/participants/{target.ref}/break-glass']"
    assert page.locator(f".notice {link}").count() == 1
    check_a11y(page, "colleague search by number, record elsewhere")

    # The overview itself is not found without a grant.
    assert_ok(page.goto(f"/participants/{target.ref}"), 404)
    # Back to the search (a POSTed page is not kept in history: search again).
    assert_ok(page.goto("/participants/"))
    page.locator("#q").fill(target.national_id)
    assert_ok(submit(page, SEARCH))
    assert_ok(submit(page, link))
    assert page.url.endswith(f"/participants/{target.ref}/break-glass")
    assert page.locator("#reason").count() == 1
    check_a11y(page, "colleague break-the-glass")

    page.locator("#reason").fill("Haster")  # under 10 characters
    assert_ok(submit(page, MAIN_SUBMIT), 400)
    assert page.locator(".error-summary a[href='#reason']").count() == 1
    check_a11y(page, "colleague break-the-glass, reason too short")

    page.locator("#reason").fill(BREAK_GLASS_REASON)
    assert_ok(submit(page, MAIN_SUBMIT))
    assert page.url.endswith(f"/participants/{target.ref}")
    assert page.locator(".flash--warning").is_visible()
    assert page.locator("main .notice--warning").count() == 1  # the break-the-glass banner
    # Not the primary advisor: the protected address stays hidden.
    assert "Storgata" not in page.locator("main").inner_text()
    assert page.locator(f"a[href='/participants/{target.ref}/edit']").count() == 1
    check_a11y(page, "colleague overview, break-the-glass")


# -- the leader ------------------------------------------------------------------------


@pytest.fixture
def colleague_grant(live_server: LiveServer) -> str:
    """The colleague's break-the-glass access to the protected participant: the one made
    in the browser by the test above, or (when this runs alone) one made here."""
    from models.access import BreakGlassGrant
    from models.participants import Participant

    app = live_server.app
    colleague = live_server.seed.users[COLLEAGUE]
    with app.app_context(), services(app).session_factory() as session:
        participant = session.scalar(
            select(Participant).where(Participant.ref == ref(live_server, "protected"))
        )
        assert participant is not None
        grant = session.scalar(
            select(BreakGlassGrant).where(
                BreakGlassGrant.user_id == colleague.id,
                BreakGlassGrant.participant_id == participant.id,
            )
        )
        if grant is None:
            now = utcnow()
            grant = BreakGlassGrant(
                user_id=colleague.id,
                participant_id=participant.id,
                unit_id=participant.unit_id,
                role="advisor",
                created_at=now,
                expires_at=now + timedelta(hours=2),
            )
            grant.reason = BREAK_GLASS_REASON
            session.add(grant)
            session.commit()
        return str(grant.ref)


def test_leader_pages(
    pages: Pages, check_a11y: Check, live_server: LiveServer, colleague_grant: str
) -> None:
    page = pages("leader")
    owner = live_server.seed.users["advisor"]
    assert_ok(page.goto("/participants/"))
    assert {ref(live_server, key) for key in PARTICIPANTS} <= participant_links(page)
    assert page.locator(f"#advisor option[value='{owner.id}']").count() == 1
    check_a11y(page, "leader caseload")

    # The status and advisor filters, through the form.
    page.locator("#status").select_option("on_leave")
    page.locator("#advisor").select_option(str(owner.id))
    assert_ok(submit(page, SEARCH))
    assert page.locator("#status").input_value() == "on_leave"  # the filters stay chosen
    assert page.locator("#advisor").input_value() == str(owner.id)
    assert participant_links(page) == {ref(live_server, "overdue")}
    check_a11y(page, "leader caseload, status and advisor filter")

    overdue = ref(live_server, "overdue")
    assert_ok(page.goto(f"/participants/{overdue}"))
    assert page.locator("#r-primary_advisor").input_value() == str(owner.id)
    assert page.locator("#r-secondary_advisor").count() == 1
    assert page.locator(f"a[href='/participants/{overdue}/edit']").count() == 0
    check_a11y(page, "leader overview, reassign form")

    assert_ok(page.goto("/unit/break-glass"))
    review = f"form[action='/unit/break-glass/{colleague_grant}/review']"
    assert page.locator(review).count() == 1
    protected = ref(live_server, "protected")
    assert page.locator(f"main table a[href='/participants/{protected}']").count() == 1
    check_a11y(page, "leader break-the-glass review")

    assert_ok(page.goto(f"/participants/{protected}/access-log"))
    assert page.locator("main table .tag--overdue").count() >= 1  # the break-the-glass flag
    check_a11y(page, "leader access log")

    page.goto("/unit/break-glass")
    assert_ok(submit(page, f"{review} button[type=submit]"))
    assert page.locator(".flash--success").is_visible()
    assert page.locator(review).count() == 0


# -- the partner (NAV) -------------------------------------------------------------------


def test_partner_sees_consented_sections_only(
    pages: Pages, check_a11y: Check, live_server: LiveServer
) -> None:
    page = pages("partner")
    shared = ref(live_server, "shared")
    assert_ok(page.goto("/participants/"))
    assert participant_links(page) == {shared}
    check_a11y(page, "partner caseload")

    assert_ok(page.goto(f"/participants/{shared}"))
    assert page.locator("main section.module").count() == 2  # language training and plan
    for hidden in ("deadlines", "identity", "residence", "contact", "consents", "reassign"):
        assert page.locator(f"#{hidden}-heading").count() == 0, hidden
    # Read-only links into the consented sections only; nothing that edits.
    hrefs = page.locator(f"main a[href^='/participants/{shared}/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    sections = {href.split("/")[3] for href in hrefs}
    assert sections <= {"plan", "plan.pdf", "mapping", "language"}, hrefs
    assert not [href for href in hrefs if "edit" in href or "new" in href], hrefs
    check_a11y(page, "partner overview (consented sections)")

    assert_ok(page.goto(f"/participants/{ref(live_server, 'protected')}"), 404)


# -- phone-sized screen ----------------------------------------------------------------


def test_phone_width(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("advisor")
    page.set_viewport_size(PHONE)
    failures = []
    for name, path in (
        ("caseload", "/participants/"),
        ("overview", f"/participants/{ref(live_server, 'protected')}"),
        ("registration", "/participants/new"),
    ):
        assert_ok(page.goto(path))
        screenshot(page, f"{name}-phone")
        assert_fits_width(page)
        try:
            check_a11y(page, f"phone advisor {path}")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)
