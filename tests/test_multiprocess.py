"""Two real app processes (gunicorn, one sync worker each) on one PostgreSQL database.

Proves what a single-process test cannot: sessions, login throttling, the audit chain,
optimistic locking and absence tasks stay correct when requests for the same data
arrive at different processes at the same time. Skipped unless the run uses PostgreSQL.
"""

from __future__ import annotations

import base64
import itertools
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, norwegian_id
from tests.multiproc_support import (
    Browser,
    Server,
    errors_of,
    form_fields,
    launch,
    stop_servers,
    wait_healthy,
)

TEST_DATABASE_URL = os.environ.get("VEIVISER_TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="multi-process tests need PostgreSQL (VEIVISER_TEST_DATABASE_URL)",
)

T = TypeVar("T")
ROUNDS = 3
SLOW_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # OWASP minimum
_births = itertools.count()
STALE_MESSAGE = "Someone else saved this record after you opened it."


@dataclass
class Site:
    """The two servers, the shared database and the people in it."""

    a: Server
    b: Server
    app: Any  # an in-process app on the same database, for seeding and checking
    advisor_email: str
    throttled_email: str
    teacher_emails: tuple[str, str]
    service_id: int
    centre_id: int
    advisor_id: int
    teacher_ids: tuple[int, int]

    def session(self) -> Session:
        from app.database import services

        session: Session = services(self.app).session_factory()
        return session


def _settings(url: str, instance: Path) -> dict[str, str]:
    """The configuration both servers and the seeding app share, as VEIVISER_* values."""
    return {
        "SECRET_KEY": secrets.token_hex(32),
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DATABASE_URL": url,
        "DEPLOYMENT_ID": "multiproc-test",
        "INSTANCE_PATH": str(instance),
        "SESSION_COOKIE_SECURE": "false",
        # MFA has its own tests; here a password login must land on a page at once.
        "REQUIRE_MFA": "false",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "8",
        "PASSWORD_HASH_PARALLELISM": "1",
    }


def _seed(app: Any) -> dict[str, Any]:
    from app.database import services
    from models.accounts import Membership, Role, Unit, UnitKind, User, hash_password

    with services(app).session_factory() as session:
        service = Unit(name="Flyktningtjenesten MP", kind=UnitKind.REFUGEE_SERVICE)
        centre = Unit(name="Voksenopplæringen MP", kind=UnitKind.ADULT_LEARNING)
        session.add_all([service, centre])
        session.flush()
        people: dict[str, User] = {}
        for key, unit, role in (
            ("advisor", service, Role.ADVISOR),
            ("teacher1", centre, Role.TEACHER),
            ("teacher2", centre, Role.TEACHER),
            ("throttled", service, Role.ADVISOR),  # locked out on purpose by one test
        ):
            user = User(
                email=f"{key}-{secrets.token_hex(3)}@example.org",
                display_name=f"MP {key}",
                # teacher2's hash has realistic costs: checking a wrong password then
                # takes about as long as in real life, and so does the window in which
                # two failures on two processes can trip over each other.
                password_hash=(
                    SLOW_HASHER.hash(PASSWORD) if key == "teacher2" else hash_password(PASSWORD)
                ),
                is_active=True,
                locale="en",
            )
            session.add(user)
            session.flush()
            user.memberships.append(Membership(unit=unit, unit_id=unit.id, role=role))
            people[key] = user
        session.commit()
        return {
            "advisor_email": people["advisor"].email,
            "throttled_email": people["throttled"].email,
            "teacher_emails": (people["teacher1"].email, people["teacher2"].email),
            "service_id": service.id,
            "centre_id": centre.id,
            "advisor_id": people["advisor"].id,
            "teacher_ids": (people["teacher1"].id, people["teacher2"].id),
        }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A fresh schema, migrated and seeded, and two servers on it."""
    from app import create_app
    from app.database import services
    from app.migrate import bootstrap, upgrade

    # A schema of its own rather than a database: as isolated for these tests, and
    # DROP DATABASE forces a checkpoint that took 15 s on a busy machine.
    name = f"mp_{secrets.token_hex(4)}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    url = f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{name}"
    work = tmp_path_factory.mktemp("multiproc")
    settings = _settings(url, work)
    env = {**os.environ, **{f"VEIVISER_{k}": v for k, v in settings.items()}}
    env.pop("VEIVISER_TEST_DATABASE_URL", None)
    servers: list[Server] = []
    app = None
    try:
        # The servers boot (imports take seconds on a busy machine) while this process
        # migrates and seeds; /healthz answers 200 only once the keys exist.
        servers.extend(launch(n, env, work) for n in ("a", "b"))
        app = create_app(_overrides(settings))
        svc = services(app)
        with app.app_context():  # what `veiviser db upgrade` does
            upgrade(svc.engine)
            with svc.session_factory() as session:
                bootstrap(session, svc.keyring)
                session.commit()
        seeded = _seed(app)
        for server in servers:
            wait_healthy(server)
        yield Site(servers[0], servers[1], app, **seeded)
    finally:
        stop_servers(servers)
        if app is not None:
            services(app).engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def _overrides(settings: dict[str, str]) -> dict[str, Any]:
    """The servers' settings as typed config values for the in-process app."""
    overrides: dict[str, Any] = {
        k: v for k, v in settings.items() if k != "INSTANCE_PATH" and "HASH" not in k
    }
    overrides.update(
        SESSION_COOKIE_SECURE=False,
        REQUIRE_MFA=False,
        PASSWORD_HASH_TIME_COST=1,
        PASSWORD_HASH_MEMORY_KIB=8,
        PASSWORD_HASH_PARALLELISM=1,
        ACTIVE_KEY_TTL_SECONDS=0.0,
    )
    return overrides


# -- helpers --------------------------------------------------------------------------


def together(*calls: Callable[[], T]) -> list[T]:
    """Run the calls in threads released by one barrier; re-raise the first failure."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def log_in(browser: Browser, server: Server, email: str, password: str = PASSWORD) -> int:
    """Submit the login form on `server`; the status (302 on success)."""
    _, page = browser.get(server, "/login")
    data = form_fields(page, containing="password")
    data.update(email=email, password=password)
    status, _ = browser.post(server, "/login", data)
    return status


def logged_in(site: Site, email: str, server: Server | None = None) -> Browser:
    browser = Browser()
    assert log_in(browser, server or site.a, email) == 302
    return browser


def new_participant(site: Site) -> tuple[int, str]:
    from models.base import local_today
    from models.codes import PermitCategory
    from models.participants import Participant, fold_name, refresh_deadlines

    with site.session() as session:
        family = f"Hassan{secrets.token_hex(3)}"
        participant = Participant(
            unit_id=site.service_id,
            primary_advisor_id=site.advisor_id,
            permit_category=PermitCategory.NO_REFUGEE,
            settlement_on=local_today() - timedelta(days=40),
            arrival_on=local_today() - timedelta(days=60),
        )
        participant.given_name = "Amina"
        participant.family_name = family
        # The edit form wants an identifier; each participant gets its own birth date.
        birth = date(1950, 1, 1) + timedelta(days=next(_births))
        participant.birth_date_text = birth.isoformat()
        participant.national_id = norwegian_id(birth)
        participant.search_name = fold_name(f"Amina {family}")
        session.add(participant)
        session.flush()
        refresh_deadlines(participant, local_today())
        session.commit()
        return participant.id, participant.ref


def new_class(
    site: Site, teacher: int, participant_id: int, enrolled_on: date, *, both: bool = False
) -> int:
    """A class of teacher 0 or 1 (or of both), with the participant enrolled."""
    from models import language as ops
    from models.accounts import User
    from models.base import local_today
    from models.codes import CefrLevel
    from models.participants import Participant
    from models.policy import Actor

    today = local_today()
    with site.session() as session:
        actor = Actor(session.get_one(User, site.teacher_ids[teacher]))
        item = ops.create_class(
            session,
            actor,
            ops.ClassInput(
                name=f"Norsk MP {secrets.token_hex(3)}",
                unit_id=site.centre_id,
                level=CefrLevel.A2,
                weekdays=list(range(7)),
                lesson_minutes=45,
                lessons_per_day=4,
                starts_on=today - timedelta(days=30),
                ends_on=today + timedelta(days=300),
                room="101",
                teacher_ids=list(site.teacher_ids) if both else [site.teacher_ids[teacher]],
            ),
        )
        participant = session.get_one(Participant, participant_id)
        ops.enrol(session, actor, item, participant, enrolled_on, today)
        session.commit()
        return item.id


def register_form(browser: Browser, server: Server, url: str, status: str) -> dict[str, str]:
    code, page = browser.get(server, url)
    assert code == 200, page[:500]
    data = form_fields(page, containing="version")
    for name in list(data):
        if name.endswith("-item"):
            prefix = name.rsplit("-", 1)[0]
            data[f"{prefix}-status"] = status
            data[f"{prefix}-reason"] = ""
            data[f"{prefix}-minutes"] = ""
    return data


def count(site: Site, statement: Any) -> int:
    with site.session() as session:
        return int(session.scalar(statement) or 0)


# -- 1. sessions ------------------------------------------------------------------------


def test_a_session_lives_in_both_processes_and_dies_in_both(site: Site) -> None:
    browser = logged_in(site, site.advisor_email, site.a)
    token = dict(browser.cookies)
    assert browser.get(site.b, "/participants/")[0] == 200

    _, page = browser.get(site.b, "/participants/")
    status, _ = browser.post(site.b, "/logout", form_fields(page, action="/logout"))
    assert status == 302

    # The old token, replayed on the other process, is refused.
    replay = Browser(cookies=token)
    status, headers, _ = replay.request(site.a, "GET", "/participants/")
    assert status == 302 and "/login" in headers["Location"]
    status, headers, _ = replay.request(site.b, "GET", "/participants/")
    assert status == 302 and "/login" in headers["Location"]


# -- 2. login throttling ----------------------------------------------------------------


def _failures(site: Site, email: str) -> int:
    from models.accounts import LoginThrottle, _account_key

    return count(
        site, select(LoginThrottle.failures).where(LoginThrottle.account_key == _account_key(email))
    )


def test_failed_logins_on_both_processes_count_together(site: Site) -> None:
    from models.accounts import FREE_LOGIN_FAILURES

    email = site.throttled_email
    browser = Browser()
    servers = (site.a, site.b)
    for attempt in range(FREE_LOGIN_FAILURES):
        assert log_in(browser, servers[attempt % 2], email, "wrong password") == 400
    assert _failures(site, email) == FREE_LOGIN_FAILURES
    # The fifth failure blocked the account for one second; once that is over, the
    # sixth blocks it for two, long enough to see both processes refuse even the
    # right password however busy the machine is.
    time.sleep(1.1)
    assert log_in(browser, site.a, email, "wrong password") == 400
    assert _failures(site, email) == FREE_LOGIN_FAILURES + 1
    assert together(
        partial(log_in, Browser(), site.b, email), partial(log_in, Browser(), site.a, email)
    ) == [429, 429]


@pytest.mark.parametrize("known", [True, False], ids=["row-exists", "first-failure"])
def test_concurrent_failed_logins_are_all_counted(site: Site, known: bool) -> None:
    """Simultaneous wrong passwords on both processes: none lost, none answered with 500."""
    for _ in range(ROUNDS):
        if known:
            # The row exists (one earlier failure): concurrent failures update it.
            from models.accounts import LoginThrottle, _account_key

            email = site.teacher_emails[1]
            with site.session() as session:
                session.execute(
                    delete(LoginThrottle).where(LoginThrottle.account_key == _account_key(email))
                )
                session.add(LoginThrottle(account_key=_account_key(email), failures=1))
                session.commit()
        else:
            email = f"nobody-{secrets.token_hex(4)}@example.org"
        browsers = [Browser() for _ in range(4)]
        calls = []
        for index, browser in enumerate(browsers):
            server = (site.a, site.b)[index % 2]
            _, page = browser.get(server, "/login")
            form = dict(form_fields(page, containing="password"), email=email, password="nope")
            calls.append(partial(browser.post, server, "/login", form))
        statuses = [status for status, _ in together(*calls)]
        assert set(statuses) <= {400, 429}, statuses
        assert _failures(site, email) == statuses.count(400) + (1 if known else 0)


def test_one_account_logging_in_on_both_processes_at_once(site: Site) -> None:
    """Two tabs log in to one account at the same moment, one per process: both succeed.

    Both write the versioned user row (last login); unlocked, the second one was a 500.
    """
    email = site.teacher_emails[0]
    for _ in range(ROUNDS):
        browsers = [Browser() for _ in range(4)]
        calls = []
        for index, browser in enumerate(browsers):
            server = (site.a, site.b)[index % 2]
            _, page = browser.get(server, "/login")
            form = dict(form_fields(page, containing="password"), email=email, password=PASSWORD)
            calls.append(partial(browser.post, server, "/login", form))
        statuses = [status for status, _ in together(*calls)]
        assert statuses == [302] * 4, statuses


# -- 3. the audit chain -----------------------------------------------------------------


def test_audit_chain_stays_one_chain_under_concurrent_writes(site: Site) -> None:
    from models.audit import AuditChainHead, AuditEvent, verify

    _, ref = new_participant(site)
    before = count(site, select(func.count()).select_from(AuditEvent))
    readers = [logged_in(site, site.advisor_email, s) for s in (site.a, site.b, site.a, site.b)]
    per_thread = 8

    def read(index: int) -> list[int]:
        server = (site.a, site.b)[index % 2]
        return [readers[index].get(server, f"/participants/{ref}")[0] for _ in range(per_thread)]

    def fail_logins(index: int) -> list[int]:
        server = (site.b, site.a)[index % 2]
        return [log_in(Browser(), server, f"x{index}-{n}@example.org", "no") for n in range(4)]

    results = together(
        *(lambda i=i: read(i) for i in range(len(readers))),
        *(lambda i=i: fail_logins(i) for i in range(2)),
    )
    reads = [s for r in results[: len(readers)] for s in r]
    assert reads == [200] * len(readers) * per_thread
    assert all(s == 400 for r in results[len(readers) :] for s in r)

    with site.session() as session:
        result = verify(session)
        assert result.ok, result.reason
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert seqs == list(range(1, len(seqs) + 1))
        assert result.checked == len(seqs)
        head = session.get_one(AuditChainHead, 1)
        assert head.seq == len(seqs)
    # Every page read and every failed login left its event.
    assert len(seqs) - before >= len(readers) * per_thread + 2 * 4


def test_a_locked_user_row_and_the_chain_head_do_not_deadlock(site: Site) -> None:
    """One transaction holds a user's row locked (an e-mail change does; a login did, for
    its TOTP step) and then appends to the audit log, while another appends an event by
    that user. Found in the CI load run: the second held the chain head while its insert's
    foreign-key check waited for the user row, the first waited for the head, and
    PostgreSQL aborted one of them (a 500). Both must commit, in one chain."""
    from models import audit
    from models.accounts import User

    holder, appender = site.session(), site.session()
    try:
        for session in (holder, appender):
            # A deadlock is reported after deadlock_timeout (1 s); a plain wait must not hang.
            session.execute(text("SET lock_timeout = '10s'"))
        user_id = holder.scalars(
            select(User.id).where(User.email == site.advisor_email).with_for_update()
        ).one()
        appender_pid = appender.scalar(text("SELECT pg_backend_pid()"))
        audit.record(appender, "test.read", actor_user_id=user_id)
        outcome: list[BaseException | None] = []

        def commit_appender() -> None:
            try:
                appender.commit()
                outcome.append(None)
            except BaseException as exc:  # reported by the assertion below
                outcome.append(exc)

        thread = threading.Thread(target=commit_appender)
        thread.start()
        with site.session() as probe:
            for _ in range(100):  # until the appender waits for the user row
                waiting = probe.scalar(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": appender_pid},
                )
                if waiting == "Lock":
                    break
                time.sleep(0.05)
            assert waiting == "Lock", "the appender did not wait for the locked user row"
        audit.record(holder, "test.edit", actor_user_id=user_id)
        holder.commit()
        thread.join(timeout=30)
        assert outcome == [None], outcome
    finally:
        holder.close()
        appender.close()
    with site.session() as session:
        assert audit.verify(session).ok


# -- 4. optimistic locking --------------------------------------------------------------


def test_a_stale_edit_on_the_other_process_is_refused(site: Site) -> None:
    from models.participants import Participant

    first = logged_in(site, site.advisor_email, site.a)
    second = logged_in(site, site.advisor_email, site.b)
    for round_ in range(ROUNDS):
        participant_id, ref = new_participant(site)
        url = f"/participants/{ref}/edit"
        form_a = form_fields(first.get(site.a, url)[1], containing="version")
        form_b = form_fields(second.get(site.b, url)[1], containing="version")
        assert form_a["version"] == form_b["version"]
        form_a.update(preferred_name="Fra A", reason="Correction from A")
        form_b.update(preferred_name="Fra B", reason="Correction from B")

        if round_ == 0:  # one after the other
            status_a, page_a = first.post(site.a, url, form_a)
            assert status_a == 302, errors_of(page_a)
            status_b, page_b = second.post(site.b, url, form_b)
            assert status_b == 409, errors_of(page_b)
            assert STALE_MESSAGE in page_b
            winner = "Fra A"
        else:  # at the same moment: exactly one wins, the other is told
            (status_a, _), (status_b, page_b) = together(
                partial(first.post, site.a, url, form_a),
                partial(second.post, site.b, url, form_b),
            )
            assert sorted([status_a, status_b]) == [302, 409]
            winner = "Fra A" if status_a == 302 else "Fra B"
        with site.session() as session:
            stored = session.get_one(Participant, participant_id)
            assert stored.preferred_name == winner
            assert stored.version == int(form_a["version"]) + 1


# -- 5. absence tasks exactly once ------------------------------------------------------


def _absence_rows(site: Site, participant_id: int) -> tuple[int, int]:
    from models.language import AbsenceAlert
    from models.tasks import Task

    alerts = count(
        site,
        select(func.count())
        .select_from(AbsenceAlert)
        .where(AbsenceAlert.participant_id == participant_id),
    )
    tasks = count(
        site, select(func.count()).select_from(Task).where(Task.participant_id == participant_id)
    )
    return alerts, tasks


def _save_both_registers(site: Site, classes: tuple[int, int]) -> list[int]:
    from models.base import local_today

    today = local_today().isoformat()
    teachers = [logged_in(site, email) for email in site.teacher_emails]
    urls = [f"/classes/{c}/attendance?on={today}" for c in classes]
    forms = [
        register_form(teachers[0], site.a, urls[0], "unexcused"),
        register_form(teachers[1], site.b, urls[1], "unexcused"),
    ]
    results = together(
        lambda: teachers[0].post(site.a, urls[0], forms[0]),
        lambda: teachers[1].post(site.b, urls[1], forms[1]),
    )
    return [status for status, _ in results]


def test_one_crossing_on_two_processes_gives_one_task(site: Site) -> None:
    """Two teachers' registers, each crossing the threshold alone, saved at once."""
    from models.base import local_today

    for _ in range(ROUNDS):
        participant_id, _ = new_participant(site)
        classes = (
            new_class(site, 0, participant_id, local_today()),
            new_class(site, 1, participant_id, local_today()),
        )
        assert _save_both_registers(site, classes) == [302, 302]
        assert _absence_rows(site, participant_id) == (1, 1)


def test_a_crossing_made_by_two_concurrent_saves_is_not_missed(site: Site) -> None:
    """Each register alone stays under the threshold; the two together cross it."""
    from models import language as ops
    from models.accounts import User
    from models.base import local_today
    from models.participants import Participant
    from models.policy import Actor
    from models.rules import rule_set_for

    today = local_today()
    for _ in range(ROUNDS):
        participant_id, _ = new_participant(site)
        start = today - timedelta(days=20)
        classes = (
            new_class(site, 0, participant_id, start),
            new_class(site, 1, participant_id, today),
        )
        # Twelve earlier days present: 12 × 180 = 2160 minutes. One unexcused day (180)
        # is then 7.7 %, two (360) are 14.3 %, and the threshold lies between.
        with site.session() as session:
            teacher = Actor(session.get_one(User, site.teacher_ids[0]))
            item = session.get_one(ops.LanguageClass, classes[0])
            for back in range(12, 0, -1):
                on = today - timedelta(days=back)
                register = ops.register_of(session, item, on)
                ops.save_register(
                    session,
                    teacher,
                    item,
                    on,
                    register.version,
                    [
                        ops.AttendanceInput(e.ref, ops.AttendanceStatus.PRESENT, None, None)
                        for e in register.enrolments
                    ],
                    today=today,
                )
            session.commit()
            participant = session.get_one(Participant, participant_id)
            threshold = rule_set_for(participant.country, today).absence_threshold_percent
        assert 100 * 180 / (2160 + 180) < threshold < 100 * 360 / (2160 + 360)

        assert _save_both_registers(site, classes) == [302, 302]
        assert _absence_rows(site, participant_id) == (1, 1)


def test_one_register_saved_at_once_on_both_processes(site: Site) -> None:
    """Both teachers of a class save the same day at the same moment: the first save of
    the day (no version yet) and a correction (version 1) each let exactly one through."""
    from models import language as ops
    from models.base import local_today

    today = local_today()
    participant_id, _ = new_participant(site)
    class_id = new_class(site, 0, participant_id, today, both=True)
    url = f"/classes/{class_id}/attendance?on={today.isoformat()}"
    teachers = [logged_in(site, email) for email in site.teacher_emails]
    for version in ("0", "1"):
        forms = [
            register_form(teachers[0], site.a, url, "present"),
            register_form(teachers[1], site.b, url, "unexcused"),
        ]
        assert forms[0]["version"] == forms[1]["version"] == version
        results = together(
            partial(teachers[0].post, site.a, url, forms[0]),
            partial(teachers[1].post, site.b, url, forms[1]),
        )
        statuses = [status for status, _ in results]
        assert sorted(statuses) == [302, 409], [errors_of(page) for _, page in results]
        loser = results[statuses.index(409)][1]
        assert STALE_MESSAGE in loser
        winner = ("present", "unexcused")[statuses.index(302)]
        with site.session() as session:
            held = session.scalars(
                select(ops.ClassSession).where(ops.ClassSession.class_id == class_id)
            ).all()
            assert len(held) == 1
            assert held[0].version == int(version) + 1
            rows = session.scalars(
                select(ops.Attendance.status).where(ops.Attendance.session_id == held[0].id)
            ).all()
            assert [row.value for row in rows] == [winner]
