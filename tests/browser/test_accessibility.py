"""Every page each role can reach, in a real Chromium, checked by axe-core against
WCAG 2.0 and 2.1 level A and AA: no violation is allowed.

Also covers the states a page can be in (error summaries, flash messages, the audit
verification result, MFA enrolment), a phone-sized screen and the language switcher.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import (
    AXE_LOG,
    ENROLMENT_USER,
    PHONE,
    ROLES,
    LiveServer,
    assert_fits_width,
    fully_selected_modules,
    html_lang,
    screenshot,
    submit,
    submit_login,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NON_ADMIN_ROLES = tuple(role for role in ROLES if role != "admin")
ROLE_PAGES = ("/", "/account", "/account/mfa")
ADMIN_ONLY_PAGES = (
    "/admin/users",
    "/admin/users/new",
    "/admin/units",
    "/admin/audit",
    "/admin/keys",
)

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]


# -- anonymous -------------------------------------------------------------------


def test_login_page(pages: Pages, check_a11y: Check) -> None:
    page = pages()
    response = page.goto("/login")
    assert response is not None and response.status == 200
    assert html_lang(page) == "nb"
    check_a11y(page, "login")
    screenshot(page, "login-desktop")


def test_failed_login_shows_error_summary(pages: Pages, check_a11y: Check) -> None:
    page = pages()
    response = submit_login(page, "ingen@nordby.example.org", "feil passord her", "123456")
    assert response is not None and response.status == 400
    assert page.locator(".error-summary").is_visible()
    check_a11y(page, "login, failed")


def test_login_with_empty_form_shows_field_errors(pages: Pages, check_a11y: Check) -> None:
    page = pages()
    page.goto("/login")
    response = submit(page, "main form button[type=submit]")
    assert response is not None and response.status == 400
    assert page.locator("#email[aria-invalid=true]").count() == 1
    check_a11y(page, "login, empty")


def test_not_found_page_anonymous(pages: Pages, check_a11y: Check) -> None:
    page = pages()
    response = page.goto("/finnes-ikke")
    assert response is not None and response.status == 404
    check_a11y(page, "404, anonymous")


def test_language_switcher_on_login_page(pages: Pages, check_a11y: Check) -> None:
    page = pages(fresh=True)
    page.goto("/login")
    assert html_lang(page) == "nb"
    page.locator("#language-select").select_option("sv")
    submit(page, ".language-form button[type=submit]")
    assert page.url.endswith("/login")
    assert html_lang(page) == "sv"
    assert page.locator("#language-select").input_value() == "sv"
    check_a11y(page, "login, Swedish")


# -- every role ------------------------------------------------------------------


@pytest.mark.parametrize("path", ROLE_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_role_pages(role: str, path: str, pages: Pages, check_a11y: Check) -> None:
    page = pages(role)
    response = page.goto(path)
    assert response is not None and response.status == 200
    assert page.url.endswith(path)
    assert page.locator("nav.site-nav").count() == 1
    check_a11y(page, f"{role} {path}")


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_admin_pages_are_forbidden_to_other_roles(
    role: str, pages: Pages, check_a11y: Check
) -> None:
    page = pages(role)
    for path in ADMIN_ONLY_PAGES[1:]:
        response = page.goto(path)
        assert response is not None and response.status == 403, path
    response = page.goto(ADMIN_ONLY_PAGES[0])
    assert response is not None and response.status == 403
    # No administration link in the menu for them.
    assert page.locator("nav.site-nav a[href='/admin/users']").count() == 0
    check_a11y(page, f"{role} /admin/users (403)")


# -- administration --------------------------------------------------------------


def admin_pages(server: LiveServer) -> list[str]:
    seed = server.seed
    unit_id = seed.units["Nordby voksenopplæring"]
    return [
        "/admin/users",
        "/admin/users?page=2",
        "/admin/users/new",
        f"/admin/users/{seed.users['admin'].ref}",  # MFA set up, two roles
        f"/admin/users/{seed.users[ENROLMENT_USER].ref}",  # no MFA yet
        "/admin/units",
        "/admin/units/new",
        f"/admin/units/{unit_id}",
        "/admin/audit",
        "/admin/keys",
    ]


def test_every_admin_page(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    page = pages("admin")
    failures = []
    for path in admin_pages(live_server):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.locator("nav.sub-nav [aria-current=page]").count() == 1, path
        if path == "/admin/users":
            screenshot(page, "admin-users-desktop")
        try:
            check_a11y(page, f"admin {path}")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)


def test_admin_not_found(pages: Pages, check_a11y: Check) -> None:
    page = pages("admin")
    response = page.goto("/admin/users/finnes-ikke")
    assert response is not None and response.status == 404
    check_a11y(page, "admin 404")


def test_new_user_submitted_empty(pages: Pages, check_a11y: Check) -> None:
    page = pages("admin")
    page.goto("/admin/users/new")
    response = submit(page)
    assert response is not None and response.status == 400
    assert page.locator(".error-summary").is_visible()
    assert page.locator("[aria-invalid=true]").count() >= 3
    check_a11y(page, "admin new user, empty")


def test_new_user_created(pages: Pages, check_a11y: Check) -> None:
    page = pages("admin")
    page.goto("/admin/users/new")
    page.locator("#display_name").fill("Siri Saksbehandler")
    page.locator("#email").fill("siri@nordby.example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("#role").select_option("advisor")
    response = submit(page)
    assert response is not None and response.status == 200
    assert "/admin/users/" in page.url
    assert page.locator(".flash--success").is_visible()
    check_a11y(page, "admin user created (flash)")


def test_user_page_form_error(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    """An empty "set password" form: the error summary links into the third form."""
    page = pages("admin")
    page.goto(f"/admin/users/{live_server.seed.users['teacher'].ref}")
    response = submit(page, "main form[action$='/password'] button[type=submit]")
    assert response is not None and response.status == 400
    assert page.locator(".error-summary a[href='#p-password']").count() == 1
    check_a11y(page, "admin user page, password error")


def test_new_unit_submitted_empty_then_created(pages: Pages, check_a11y: Check) -> None:
    page = pages("admin")
    page.goto("/admin/units/new")
    response = submit(page)
    assert response is not None and response.status == 400
    assert page.locator(".error-summary").is_visible()
    check_a11y(page, "admin new unit, empty")

    page.locator("#name").fill("Nordby boligkontor")
    page.locator("#kind").select_option("housing")
    response = submit(page)
    assert response is not None and response.status == 200
    assert page.url.endswith("/admin/units")
    assert page.locator(".flash--success").is_visible()
    check_a11y(page, "admin units, unit created (flash)")


def test_audit_verification(pages: Pages, check_a11y: Check) -> None:
    page = pages("admin")
    page.goto("/admin/audit")
    response = submit(page)
    assert response is not None and response.status == 200
    assert page.locator(".notice--ok").is_visible()
    check_a11y(page, "admin audit, verified")


# -- MFA enrolment and the language switcher, logged in --------------------------


def test_mfa_enrolment_flow(pages: Pages, check_a11y: Check, live_server: LiveServer) -> None:
    user = live_server.seed.users[ENROLMENT_USER]
    page = pages(fresh=True)
    submit_login(page, user.email, PASSWORD, "")
    assert page.url.endswith("/account/mfa")
    assert page.locator("nav.site-nav").count() == 0  # nothing else until enrolled
    page.locator("details summary").click()
    secret = page.locator("code.secret").inner_text().strip()
    check_a11y(page, "MFA enrolment")

    totp = pyotp.TOTP(secret)
    step = totp.timecode(datetime.now(UTC))
    valid = {totp.generate_otp(step + delta) for delta in (-1, 0, 1)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in valid)
    page.locator("#otp").fill(wrong)
    response = submit(page)
    assert response is not None and response.status == 400
    assert page.locator(".error-summary").is_visible()
    check_a11y(page, "MFA enrolment, wrong code")

    page.locator("#otp").fill(totp.now())
    response = submit(page)
    assert response is not None and response.status == 200
    assert page.url == live_server.url + "/"
    assert page.locator(".flash--success").is_visible()
    check_a11y(page, "home after MFA enrolment (flash)")

    # The language switcher, logged in: the choice is kept on the user.
    page.locator("#language-select").select_option("sv")
    submit(page, ".language-form button[type=submit]")
    assert page.url == live_server.url + "/"
    assert html_lang(page) == "sv"
    check_a11y(page, "home, Swedish")
    page.goto("/account")
    assert html_lang(page) == "sv"

    # Logging out ends on the login page with a message.
    submit(page, "form[action='/logout'] button[type=submit]")
    assert page.url.endswith("/login")
    assert page.locator(".flash").is_visible()
    check_a11y(page, "login after logout (flash, Swedish)")


# -- phone-sized screen ----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        (None, ("/login",)),
        ("advisor", ("/", "/account")),
        (
            "admin",
            ("/", "/admin/users", "/admin/users/{admin_ref}", "/admin/audit", "/account/mfa"),
        ),
    ],
    ids=["anonymous", "advisor", "admin"],
)
def test_phone_width(
    role: str | None,
    paths: tuple[str, ...],
    pages: Pages,
    check_a11y: Check,
    live_server: LiveServer,
) -> None:
    page = pages(role)
    page.set_viewport_size(PHONE)
    failures = []
    for template in paths:
        path = template.format(admin_ref=live_server.seed.users["admin"].ref)
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert_fits_width(page)
        if path in ("/login", "/admin/users"):
            screenshot(page, f"{path.strip('/').replace('/', '-')}-phone")
        try:
            check_a11y(page, f"phone {role or 'anonymous'} {path}")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)


# -- the count -------------------------------------------------------------------

MIN_PAGES = 50  # 54 when the whole module runs


def test_axe_page_count(request: pytest.FixtureRequest, chromium_available: None) -> None:
    """Runs after every browser test (see conftest): how many pages axe checked, in all
    browser modules (the terminal summary prints it too). Each module that ran in full
    must have checked at least its MIN_PAGES."""
    checked = len(AXE_LOG)
    print(f"\naxe-core checked {checked} pages, {sum(c.violations for c in AXE_LOG)} violations")
    assert all(c.violations == 0 for c in AXE_LOG)
    for module in fully_selected_modules(request.session):
        minimum = getattr(module, "MIN_PAGES", 0)
        count = sum(1 for c in AXE_LOG if c.module == module.__name__)
        assert count >= minimum, f"only {count} pages were checked by axe in {module.__name__}"
