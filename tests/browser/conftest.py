"""Browser harness: a real Veiviser server on a fresh, committed database, the system
Chromium driven through Playwright (sync API), and axe-core run on every page.

The normal `client` fixture works inside a rolled-back transaction; a browser needs a
server that other threads can read, so this harness builds its own app and database
(SQLite by default, a fresh PostgreSQL schema when VEIVISER_TEST_DATABASE_URL is set),
seeds it with committed data and serves it with werkzeug on a free port.

When /usr/bin/chromium (or Playwright / axe) is missing the tests are skipped, unless
VEIVISER_REQUIRE_BROWSER=1, in which case they fail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.database import services
from models.accounts import Membership, Role, Unit, UnitKind, User, hash_password
from models.base import local_today, utcnow
from tests.conftest import PASSWORD, _fresh_database, build_app, norwegian_id

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Response
    from sqlalchemy.orm import Session

    from models.participants import Participant

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("VEIVISER_REQUIRE_BROWSER") == "1"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
BROWSER_LOCALE = "nb-NO"  # Norwegian bokmål, the app's default language

ROLES = ("advisor", "teacher", "leader", "admin", "partner")
# Logged-in users beyond one per role: an advisor of the same refugee service who is not
# assigned to the seeded participants (break-the-glass).
COLLEAGUE = "colleague"
ENROLMENT_USER = "enrol"  # has no authenticator yet: goes through /account/mfa
EXTRA_USERS = 12  # enough users that /admin/users has a second page (PAGE_SIZE is 10)

SUBMIT = "main form.card button[type=submit]"


# -- availability ------------------------------------------------------------


def _unavailable_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM}"
    try:
        import axe_playwright_python.sync_playwright  # type: ignore[import-untyped]  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright or axe-playwright-python is not installed ({exc})"
    return None


@pytest.fixture(scope="session")
def chromium_available() -> None:
    reason = _unavailable_reason()
    if reason is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason}, and VEIVISER_REQUIRE_BROWSER=1 requires the browser tests")
    pytest.skip(f"{reason}: browser tests skipped (VEIVISER_REQUIRE_BROWSER=1 makes this fail)")


# -- the live server ---------------------------------------------------------


@dataclass(frozen=True)
class SeededUser:
    key: str
    id: int
    email: str
    ref: str
    totp_secret: str | None


@dataclass(frozen=True)
class SeededParticipant:
    key: str
    ref: str
    name: str
    national_id: str


@dataclass
class Seed:
    users: dict[str, SeededUser] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)  # name -> id
    participants: dict[str, SeededParticipant] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask
    seed: Seed

    def new_participant(
        self, name: str, birth: str, *, advisor: str | None = "advisor", **columns: Any
    ) -> str:
        """A committed participant of the refugee service (see `add_participant`), primary
        advisor the seeded user `advisor` (None: nobody); its reference."""
        advisor_id = self.seed.users[advisor].id if advisor else None
        with self.app.app_context(), services(self.app).session_factory() as session:
            participant = add_participant(
                session, self.seed.units[REFUGEE_SERVICE], advisor_id, name, birth, **columns
            )
            session.commit()
            return participant.ref


REFUGEE_SERVICE = "Flyktningtjenesten Nordby"
NAV_UNIT = "NAV Nordby"
HOUSING_UNIT = "Boligtjenesten Nordby"  # a second partner service, for the consent form
UNITS = {
    REFUGEE_SERVICE: UnitKind.REFUGEE_SERVICE,
    "Nordby voksenopplæring": UnitKind.ADULT_LEARNING,
    NAV_UNIT: UnitKind.NAV,
    HOUSING_UNIT: UnitKind.HOUSING,
}
ROLE_UNIT = {
    "advisor": "Flyktningtjenesten Nordby",
    "teacher": "Nordby voksenopplæring",
    "leader": "Flyktningtjenesten Nordby",
    "admin": "Flyktningtjenesten Nordby",
    "partner": "NAV Nordby",
}
DISPLAY_NAMES = {
    "advisor": "Aisha Rådgiver",
    "teacher": "Tor Lærer",
    "leader": "Lene Leder",
    "admin": "Åse Administrator",
    "partner": "Per Partner",
    COLLEAGUE: "Kari Kollega",
    ENROLMENT_USER: "Nora Nybegynner",
    "bolig": "Bjørn Bolig",
}

# The owner's caseload ("advisor"). `consent`: an active consent to NAV for these sections.
PARTICIPANTS: dict[str, dict[str, Any]] = {
    # Shared with NAV (language and plan).
    "shared": {
        "given_name": "Amina",
        "family_name": "Hassan",
        "birth": date(1988, 3, 2),
        "status": "active",
        "languages": "ar,so",
        "settled_days_ago": 200,
        "consent": ("language", "plan"),
    },
    # Protected address: shown to the primary advisor only. The colleague finds this one
    # by its number and opens it with break-the-glass.
    "protected": {
        "given_name": "Yonas",
        "family_name": "Tesfay",
        "birth": date(1995, 11, 20),
        "status": "active",
        "languages": "ti,ar",
        "interpreter_language": "ti",
        "settled_days_ago": 60,
        "is_protected_address": True,
        "address": "Storgata 1, 9999 Nordby",
        "phone": "+47 400 00 000",
        "email": "yonas@example.org",
        "notes": "Ønsker kurs på kveldstid.\nHar barn i barnehage.",
    },
    # Settled long ago: deadlines overdue.
    "overdue": {
        "given_name": "Olena",
        "family_name": "Kovalenko",
        "birth": date(1979, 7, 4),
        "status": "on_leave",
        "languages": "uk,ru",
        "settled_days_ago": 500,
    },
    # Not settled yet: no deadlines.
    "new": {
        "given_name": "Mohammad",
        "family_name": "Rahimi",
        "preferred_name": "Mo",
        "birth": date(2001, 1, 9),
        "status": "registered",
        "languages": "prs",
        "settled_days_ago": None,
    },
}


def _seed_participants(
    session: Session, unit: Unit, owner: User, partner_unit: Unit, today: date
) -> dict[str, SeededParticipant]:
    """The owner's caseload, written through the models like `make_participant` does."""
    from models.access import Consent
    from models.codes import ParticipantStatus, PermitCategory
    from models.crypto import keyring_of
    from models.participants import (
        NATIONAL_ID_DOMAIN,
        Participant,
        fold_name,
        refresh_deadlines,
    )

    keyring = keyring_of(session)
    seeded = {}
    for key, spec in PARTICIPANTS.items():
        spec = dict(spec)
        birth: date = spec.pop("birth")
        settled = spec.pop("settled_days_ago")
        consent = spec.pop("consent", None)
        settlement_on = today - timedelta(days=settled) if settled is not None else None
        participant = Participant(
            unit_id=unit.id,
            primary_advisor_id=owner.id,
            status=ParticipantStatus(spec.pop("status")),
            permit_category=PermitCategory.NO_REFUGEE,
            permit_granted_on=settlement_on - timedelta(days=40) if settlement_on else None,
            arrival_on=(settlement_on or today) - timedelta(days=30),
            settlement_on=settlement_on,
            settlement_municipality="Nordby" if settlement_on else None,
            languages=spec.pop("languages"),
            interpreter_needed="interpreter_language" in spec,
            interpreter_language=spec.pop("interpreter_language", None),
            is_protected_address=spec.pop("is_protected_address", False),
        )
        for name, value in spec.items():  # the sealed fields
            setattr(participant, name, value)
        participant.birth_date_text = birth.isoformat()
        participant.search_name = fold_name(
            " ".join(spec[k] for k in ("given_name", "family_name", "preferred_name") if k in spec)
        )
        national_id = norwegian_id(birth)
        participant.national_id = national_id
        participant.national_id_index = keyring.blind_index(
            session, NATIONAL_ID_DOMAIN, national_id
        )
        session.add(participant)
        session.flush()
        refresh_deadlines(participant, today)
        if consent:
            record = Consent(
                participant_id=participant.id,
                partner_unit_id=partner_unit.id,
                sections=",".join(sorted(consent)),
                valid_from=today - timedelta(days=30),
                created_by_id=owner.id,
            )
            record.purpose = "Oppfølging av norskopplæring og plan"
            session.add(record)
        seeded[key] = SeededParticipant(
            key=key,
            ref=participant.ref,
            name=f"{spec.get('preferred_name') or spec['given_name']} {spec['family_name']}",
            national_id=national_id,
        )
    return seeded


def _seed(app: Flask) -> Seed:
    """Units, one MFA-enrolled user per role (and a colleague of the advisor), one user
    still to enrol, filler users, and the advisor's caseload."""
    seed = Seed()
    with app.app_context(), services(app).session_factory() as session:
        units = {name: Unit(name=name, kind=kind) for name, kind in UNITS.items()}
        session.add_all(units.values())
        session.flush()
        password_hash = hash_password(PASSWORD)

        def add(key: str, role: str | None, unit_name: str, mfa: bool) -> User:
            user = User(
                email=f"{key}@nordby.example.org",
                display_name=DISPLAY_NAMES.get(key, f"Ansatt {key}"),
                password_hash=password_hash,
                is_active=True,
            )
            session.add(user)
            session.flush()
            if role is not None:
                unit = units[unit_name]
                user.memberships.append(Membership(unit=unit, unit_id=unit.id, role=Role(role)))
            if mfa:
                user.totp_secret = pyotp.random_base32()
                user.mfa_enrolled_at = utcnow()
            return user

        created = {role: add(role, role, ROLE_UNIT[role], mfa=True) for role in ROLES}
        created[COLLEAGUE] = add(COLLEAGUE, "advisor", REFUGEE_SERVICE, mfa=True)
        add("bolig", "partner", HOUSING_UNIT, mfa=False)  # makes the housing office a partner
        # The admin also leads the adult-learning centre: two rows in "your roles".
        admin_unit = units["Nordby voksenopplæring"]
        created["admin"].memberships.append(
            Membership(unit=admin_unit, unit_id=admin_unit.id, role=Role.LEADER)
        )
        created[ENROLMENT_USER] = add(
            ENROLMENT_USER, "advisor", "Flyktningtjenesten Nordby", mfa=False
        )
        for n in range(EXTRA_USERS):
            add(f"ansatt{n:02d}", "teacher", "Nordby voksenopplæring", mfa=n % 2 == 0)
        disabled = add("sluttet", "advisor", "Flyktningtjenesten Nordby", mfa=False)
        disabled.is_active = False
        seed.participants = _seed_participants(
            session,
            units[REFUGEE_SERVICE],
            created["advisor"],
            units[NAV_UNIT],
            local_today(),
        )
        session.commit()
        for key, user in created.items():
            seed.users[key] = SeededUser(
                key=key,
                id=user.id,
                email=user.email,
                ref=user.ref,
                totp_secret=user.totp_secret if user.has_mfa else None,
            )
        seed.units = {unit.name: unit.id for unit in units.values()}
    return seed


@pytest.fixture(scope="session")
def live_server(
    chromium_available: None, instance_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    url, drop = _fresh_database(tmp_path_factory.mktemp("browser-db"), "browser")
    try:
        app = build_app(url, REQUIRE_MFA=True, SESSION_COOKIE_SECURE=False)
        seed = _seed(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(
            target=server.serve_forever, name="veiviser-live-server", daemon=True
        )
        thread.start()
        try:
            yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, seed)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            services(app).engine.dispose()
    finally:
        drop()


# -- the browser -------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium_available: None) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Browsing:
    """The session's browser contexts: one per role, logged in once through the login form
    (so no TOTP code is ever replayed), one shared anonymous one, and throwaway ones for
    tests that change their session. Each shared context keeps one page open: a fresh
    page pays a cold start of axe (and of everything else)."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self._contexts: list[BrowserContext] = []
        self._pages: dict[str | None, Page] = {}

    def new_context(
        self, viewport: dict[str, int] = DESKTOP, storage_state: Any = None
    ) -> BrowserContext:
        context = self.browser.new_context(
            base_url=self.server.url,
            locale=BROWSER_LOCALE,
            viewport=viewport,  # type: ignore[arg-type]
            storage_state=storage_state,
        )
        context.set_default_timeout(10_000)
        return context

    def page(self, role: str | None) -> Page:
        """The page kept open for `role`'s user (None: the shared anonymous page)."""
        if role in self._pages:
            return self._pages[role]
        context = self.new_context()
        page = context.new_page()
        if role is not None:
            user = self.server.seed.users[role]
            assert user.totp_secret
            response = submit_login(page, user.email, PASSWORD, pyotp.TOTP(user.totp_secret).now())
            assert response is not None and response.ok, f"login as {role} failed"
            assert page.url == self.server.url + "/", f"login as {role} landed on {page.url}"
        self._contexts.append(context)
        self._pages[role] = page
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()


def add_participant(
    session: Session,
    unit_id: int,
    advisor_id: int | None,
    name: str,
    birth: str,
    *,
    refresh: bool = True,
    **columns: Any,
) -> Participant:
    """A Norwegian refugee participant of `unit_id` named `name` ("Given Family"), with
    `columns` (status, dates …) set, flushed so it has an id and a reference; its
    deadlines computed unless `refresh` is false. The caller commits."""
    from models.codes import PermitCategory
    from models.participants import Participant, fold_name, refresh_deadlines

    given, family = name.split(" ", 1)
    participant = Participant(
        unit_id=unit_id,
        primary_advisor_id=advisor_id,
        permit_category=PermitCategory.NO_REFUGEE,
        **columns,
    )
    participant.given_name = given
    participant.family_name = family
    participant.birth_date_text = birth
    participant.search_name = fold_name(name)
    session.add(participant)
    session.flush()
    if refresh:
        refresh_deadlines(participant, local_today())
    return participant


SCREENSHOT_DIR = os.environ.get("VEIVISER_SCREENSHOT_DIR")


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot when VEIVISER_SCREENSHOT_DIR is set (for a human to look at)."""
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)


def submit(page: Page, selector: str = SUBMIT) -> Response | None:
    """Press a submit button and wait for the page it leads to."""
    with page.expect_navigation() as navigation:
        page.locator(selector).click()
    return navigation.value


def html_lang(page: Page) -> str:
    return str(page.locator("html").get_attribute("lang"))


def assert_fits_width(page: Page) -> None:
    """WCAG 1.4.10 (reflow), which axe does not test: no sideways scrolling of the page."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def submit_login(page: Page, email: str, password: str, otp: str) -> Response | None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#otp").fill(otp)
    return submit(page, "main form button[type=submit]")


@pytest.fixture(scope="session")
def browsing(browser: Browser, live_server: LiveServer) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
    yield session
    session.close()


@pytest.fixture
def pages(browsing: Browsing) -> Iterator[Callable[..., Page]]:
    """`pages(role)`: the shared page of a role (None: anonymous), back at desktop size.
    `pages(fresh=True)`: an anonymous page in a context of its own, closed after the test,
    for tests that change their session (language, login)."""
    opened: list[Page] = []

    def open_page(role: str | None = None, *, fresh: bool = False) -> Page:
        if fresh:
            assert role is None
            page = browsing.new_context().new_page()
            opened.append(page)
            return page
        page = browsing.page(role)
        if page.viewport_size != DESKTOP:
            page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
        return page

    yield open_page
    for page in opened:
        page.context.close()


# -- axe -----------------------------------------------------------------------


@dataclass(frozen=True)
class AxeCheck:
    label: str
    url: str
    viewport: str
    violations: int
    module: str  # the test module that ran the check


AXE_LOG: list[AxeCheck] = []


@pytest.fixture(scope="session")
def axe(chromium_available: None) -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def check_a11y(axe: Any, request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """Run axe (WCAG 2.0/2.1 A and AA rules) on the page as it is now; no violation allowed."""
    module = request.module.__name__

    def check(page: Page, label: str) -> None:
        results = axe.run(page, options=AXE_OPTIONS)
        violations = results.response["violations"]
        size = page.viewport_size
        AXE_LOG.append(
            AxeCheck(
                label=label,
                url=page.url,
                viewport=f"{size['width']}x{size['height']}" if size else "default",
                violations=len(violations),
                module=module,
            )
        )
        assert not violations, f"axe on {label} ({page.url}):\n{results.generate_report()}"

    return check


DESELECTED: list[Any] = []
COUNT_TEST = "test_axe_page_count"


def pytest_deselected(items: list[Any]) -> None:
    """Remembered so the final count test knows whether a whole module was selected."""
    DESELECTED.extend(items)


# Modules that assert the seeded caseload exactly run before the modules that seed
# participants of their own into the same advisor's caseload.
FIRST_MODULES = ("test_accessibility", "test_participant_pages")


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """The seed-exact modules run first; the page count after every browser module."""

    def first(item: Any) -> int:
        module = getattr(item, "module", None)
        return (
            0 if module is not None and module.__name__.rsplit(".", 1)[-1] in FIRST_MODULES else 1
        )

    items.sort(key=first)  # stable: file order within each group
    last = [item for item in items if getattr(item, "originalname", None) == COUNT_TEST]
    if last:
        items[:] = [item for item in items if item not in last] + last


def fully_selected_modules(session: pytest.Session) -> list[Any]:
    """Browser test modules of which every test was collected and none deselected."""
    here = Path(__file__).parent
    modules = {
        item.module
        for item in session.items
        if isinstance(item, pytest.Function) and Path(item.path).parent == here
    }
    deselected = {getattr(item, "module", None) for item in DESELECTED}
    complete = []
    for module in modules:
        selected = {
            item.originalname
            for item in session.items
            if isinstance(item, pytest.Function) and item.module is module
        }
        every_test = {name for name in vars(module) if name.startswith("test_")}
        if selected == every_test and module not in deselected:
            complete.append(module)
    return complete


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not AXE_LOG:
        return
    failing = [check for check in AXE_LOG if check.violations]
    distinct = {(check.url.split("?")[0], check.viewport) for check in AXE_LOG}
    terminalreporter.write_sep("-", "axe-core")
    terminalreporter.write_line(
        f"axe-core checked {len(AXE_LOG)} page states ({len(distinct)} distinct URL/viewport "
        f"pairs) for {', '.join(WCAG_TAGS)}: "
        f"{sum(c.violations for c in AXE_LOG)} violations on {len(failing)} pages"
    )
