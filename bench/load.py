"""Load and soak: advisors, teachers and leaders doing their daily flows, with a key rotation.

    python bench/load.py [--participants 100000] [--reuse] [--users 50] [--duration 300]
        [--rotate-at SECONDS] [--check-targets] [--max-requests N] [--seed 1]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432] [--database load_100000]
    python bench/load.py --ci       # the short run for CI (see below)

Set-up: a PostgreSQL database of its own (--database, default load_<participants>; its
name must start with "load" because the script drops and recreates it unless --reuse),
migrated with `veiviser db upgrade` and filled by `veiviser seed` exactly as
bench_participants.py does (plans, two tasks and five follow-ups per participant, 13 weeks
of attendance). The instance folder (secret key, master key file), the seeded users and
their shared password are kept in bench/out/load/<database>/ (git-ignored, private), so
--reuse can serve the same data again without seeding.

Serving: two gunicorn processes on two loopback ports, two sync workers each, with the
production settings except HTTPS-only cookies and two-step login (this runs over plain
HTTP on 127.0.0.1). Virtual users are spread round-robin over the two ports (the "load
balancer"). A gunicorn.conf.py in the project root is read by gunicorn as usual; -w and
-b given here win.

Virtual users (threads, standard-library HTTP only), each logged in as a seeded user of
its own, repeat their flow with a random think time between steps (seeded, so a run can
be repeated):

    advisor  caseload -> overview -> followups (page) -> followup_save (a follow-up with a
             next action, which becomes a task) -> tasks ("My tasks")
    teacher  classes -> class_page -> register (a session day's attendance) ->
             register_save (the register sent back, one row changed)
    leader   dashboard (/unit/) -> outcomes (/unit/outcomes/)

Every request must answer as the flow expects (200 for a page, a redirect back for a
save); anything else — 4xx, 5xx, a redirect to the login page, a CSRF refusal, a
connection error or a timeout — is an error. The run stops by itself after --duration
seconds or --max-requests requests; it talks to 127.0.0.1 only.

--rotate-at S runs `veiviser keys rotate` against the same database S seconds into the
load, reports how many values it re-encrypted per second and how many errors the users
saw meanwhile; the load goes on until the rotation has finished (at most
--rotation-grace seconds past --duration). Afterwards every encrypted value is opened
(keys.verify_all) and none may still use the old key.

Output: a table per flow (count, requests/s, p50/p95/p99 ms, errors) and JSON in --out.
Exit 1 on any error, a failed rotation or verification, or with --check-targets a p95
above 150 ms on a daily page.

--ci: a fresh database load_ci with 2,000 participants, 16 users for 120 s, the rotation
at 30 s (the old key is erased about 65 s later, once every process
has stopped using it; the load goes on until then), exit 1 on any error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The sibling script, found through the sys.path entry above.
from bench_participants import (
    CSRF_PATTERN,
    PARTICIPANT_LINK,
    PROJECT_ROOT,
    Client,
    FormScraper,
    _tool,
    free_port,
    gunicorn,
    run,
    write_instance,
)

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
UNIT_SIZE = 10_000
# The target for the daily pages under load.
P95_LIMIT_MS = 150.0
FLOWS = {
    "advisor": ("caseload", "overview", "followups", "followup_save", "tasks"),
    "teacher": ("classes", "class_page", "register", "register_save"),
    "leader": ("dashboard", "outcomes"),
}
# What a person does every day; the outcome figures are monthly reporting and the login
# is once a day, so their latency is reported but not held to the daily target.
DAILY = tuple(f for flows in FLOWS.values() for f in flows if f != "outcomes")
# Of every 20 virtual users: 13 advisors, 4 teachers, 3 leaders (--mix changes it).
DEFAULT_MIX = "advisor=13,teacher=4,leader=3"
CLASS_LINK = re.compile(r'href="/classes/(\d+)"')
STATUS_OPTION = re.compile(r'<option(?: selected)? value="([a-z_]+)"')


# -- set-up ------------------------------------------------------------------------------


@dataclass
class Installation:
    """A seeded database with its instance folder, users and their password."""

    url: str
    env: dict[str, str]
    users: list[dict[str, str]]
    password: str
    seed_seconds: float | None


def _admin_engine(pg_url: str) -> Any:
    return create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")


def _database_exists(pg_url: str, name: str) -> bool:
    engine = _admin_engine(pg_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
    finally:
        engine.dispose()
    return found is not None


def _recreate_database(pg_url: str, name: str) -> None:
    # The name is checked in main(): only databases named load* are ever dropped.
    engine = _admin_engine(pg_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def _environment(url: str, instance: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "VEIVISER_INSTANCE_PATH": str(instance),
        "VEIVISER_DATABASE_URL": url,
        # Plain HTTP on loopback and scripted logins: the only settings off production.
        "VEIVISER_REQUIRE_MFA": "off",
        "VEIVISER_SESSION_COOKIE_SECURE": "off",
        "VEIVISER_ALLOW_SYNTHETIC_IDS": "on",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    for key in ("VEIVISER_SECRET_KEY", "VEIVISER_MASTER_KEY", "VEIVISER_MASTER_KEY_FILE"):
        env.pop(key, None)
    return env


def prepare(args: argparse.Namespace) -> Installation:
    """Seed a fresh database (or find the one --reuse names) and its instance folder."""
    state = args.state_dir / args.database
    instance = state / "instance"
    users_file, password_file = state / "users.json", state / "password"
    url = f"{args.pg_url}/{args.database}"
    env = _environment(url, instance)
    if args.reuse and users_file.exists() and _database_exists(args.pg_url, args.database):
        users = json.loads(users_file.read_text(encoding="utf-8"))
        password = password_file.read_text(encoding="utf-8").strip()
        run([*_tool("veiviser"), "db", "upgrade"], env)  # the code may be newer than the seed
        return Installation(url, env, users, password, None)

    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True, mode=0o700)
    write_instance(instance)
    _recreate_database(args.pg_url, args.database)
    run([*_tool("veiviser"), "db", "upgrade"], env)
    password = os.urandom(18).hex()
    password_file.write_text(password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    units = max(1, math.ceil(args.participants / UNIT_SIZE))
    started = time.perf_counter()
    out, _err = run(
        [
            *_tool("veiviser"),
            "seed",
            "--participants",
            str(args.participants),
            "--units",
            str(units),
            "--json",
            "--password-stdin",
            "--seed",
            str(args.seed),
            # The same case work as bench_participants.py.
            "--plans",
            "--tasks",
            "2",
            "--follow-ups",
            "5",
            "--attendance-weeks",
            "13",
        ],
        env,
        stdin=password + "\n",
    )
    seed_seconds = time.perf_counter() - started
    users = json.loads(out)
    users_file.write_text(json.dumps(users), encoding="utf-8")
    return Installation(url, env, users, password, round(seed_seconds, 1))


def teacher_registers(url: str, emails: list[str]) -> dict[str, list[tuple[int, list[str]]]]:
    """Each teacher's classes with their past session days (ISO dates), for the registers."""
    engine = create_engine(url)
    found: dict[str, list[tuple[int, list[str]]]] = {e: [] for e in emails}
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT u.email, c.id, s.held_on FROM language_classes c "
                    "JOIN class_teachers t ON t.class_id = c.id "
                    "JOIN users u ON u.id = t.user_id "
                    "JOIN class_sessions s ON s.class_id = c.id "
                    "WHERE u.email = ANY(:emails) AND s.held_on <= CURRENT_DATE "
                    "ORDER BY u.email, c.id, s.held_on"
                ),
                {"emails": emails},
            ).all()
    finally:
        engine.dispose()
    classes: dict[tuple[str, int], list[str]] = {}
    for email, class_id, held_on in rows:
        classes.setdefault((email, int(class_id)), []).append(held_on.isoformat())
    for (email, class_id), days in classes.items():
        found[email].append((class_id, days))
    return found


# -- virtual users -----------------------------------------------------------------------


class FormById(FormScraper):
    """The fields of the POST form with this id (a page may hold several forms)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form" and not self.in_form and dict(attrs).get("id") != self.form_id:
            return
        super().handle_starttag(tag, attrs)


class LoadError(Exception):
    """A request that did not answer as the flow expects."""


class Stopped(Exception):
    """The run is over: the virtual user leaves mid-flow instead of sending the rest."""


@dataclass
class Recorder:
    """Timings and errors per flow, shared by all virtual users."""

    max_requests: int
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_times: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, flow: str, ms: float) -> None:
        with self.lock:
            self.timings.setdefault(flow, []).append(ms)
            self.count += 1

    def failed(self, flow: str, message: str) -> None:
        with self.lock:
            self.errors[flow] = self.errors.get(flow, 0) + 1
            self.error_times.append(time.monotonic())
            self.count += 1
            # Paths hold only random refs and class numbers; no names or ID numbers.
            if len(self.messages) < 20:
                self.messages.append(f"{flow}: {message}")

    def full(self) -> bool:
        return self.count >= self.max_requests


class VirtualUser:
    """One seeded account doing its role's flow over and over until told to stop."""

    def __init__(
        self,
        number: int,
        role: str,
        account: dict[str, str],
        port: int,
        password: str,
        recorder: Recorder,
        rng: random.Random,
        think: tuple[float, float],
        registers: list[tuple[int, list[str]]],
    ) -> None:
        self.number, self.role, self.account = number, role, account
        self.client = Client(port)
        self.password = password
        self.recorder = recorder
        self.rng = rng
        self.think = think
        self.registers = registers
        self.refs: list[str] = []
        self.assignee = ""

    # One step: a request whose answer is checked, timed under its flow's name.
    def step(
        self, flow: str, method: str, path: str, body: str | None = None, expect: int = 200
    ) -> str:
        try:
            status, response, page, ms = self.client.request(method, path, body)
        except Exception as exc:  # every failure counts as an error, none stops the user
            self.client.connection.close()
            self.recorder.failed(flow, f"{method} {path}: {type(exc).__name__}")
            raise LoadError from exc
        location = response.getheader("Location", "") or ""
        if status != expect or (expect == 302 and "/login" in location):
            self.recorder.failed(flow, f"{method} {path} answered {status} {location}".strip())
            raise LoadError
        self.recorder.timed(flow, ms)
        return page

    def pause(self, stop: threading.Event) -> None:
        # Once the run is over the wait returns at once; going on would send the rest
        # of every user's flow in the same instant (a burst no real user makes, which
        # was 10 % of the requests of a 90-second run and set its p95).
        if stop.wait(self.rng.uniform(*self.think)):
            raise Stopped

    def log_in(self, locks: dict[str, threading.Lock]) -> None:
        # Virtual users sharing an account log in one after the other: two simultaneous
        # logins of one account make the app answer 500 (both update the user row; the
        # second fails its version check), which is reported as an app finding, and a
        # load test that hit it on every start would measure nothing else.
        with locks[self.account["email"]]:
            self._log_in()

    def _log_in(self) -> None:
        page = self.step("login_page", "GET", "/login")
        match = CSRF_PATTERN.search(page)
        if match is None:
            self.recorder.failed("login", "no login form")
            raise LoadError
        form = urlencode(
            {"email": self.account["email"], "password": self.password, "csrf_token": match[1]}
        )
        self.step("login", "POST", "/login", form, expect=302)

    def run(self, stop: threading.Event, locks: dict[str, threading.Lock]) -> None:
        flow = {"advisor": self.advisor, "teacher": self.teacher, "leader": self.leader}
        try:
            self.log_in(locks)
        except LoadError:
            return
        try:
            while not stop.is_set() and not self.recorder.full():
                try:
                    flow[self.role](stop)
                except LoadError:
                    self.pause(stop)
        except Stopped:
            return

    def advisor(self, stop: threading.Event) -> None:
        page = self.step("caseload", "GET", "/participants/")
        self.refs = [ref for ref, _name in PARTICIPANT_LINK.findall(page)] or self.refs
        if not self.refs:
            self.recorder.failed("caseload", "no participants on the caseload page")
            raise LoadError
        ref = self.rng.choice(self.refs)
        self.pause(stop)
        self.step("overview", "GET", f"/participants/{ref}")
        self.pause(stop)
        path = f"/participants/{ref}/followups"
        page = self.step("followups", "GET", path)
        scraper = FormById("follow-up-form")
        scraper.feed(page)
        if scraper.action is None:
            self.recorder.failed("followups", "no follow-up form")
            raise LoadError
        fields = dict(scraper.fields)
        me = next((v for k, v in scraper.fields if k == "attendees"), "")
        due = time.strftime("%Y-%m-%d", time.localtime(time.time() + 14 * 86400))
        fields.update(
            {
                "summary": f"Load test follow-up {self.rng.randrange(10**6)}.",
                "action1_title": "Call back about the next step",
                "action1_assignee": me,
                "action1_due_on": due,
            }
        )
        self.pause(stop)  # writing the summary
        self.step("followup_save", "POST", scraper.action or path, urlencode(fields), 302)
        self.pause(stop)
        self.step("tasks", "GET", "/tasks/")
        self.pause(stop)

    def teacher(self, stop: threading.Event) -> None:
        page = self.step("classes", "GET", "/classes/")
        if not self.registers:
            self.recorder.failed("classes", "the teacher has no class with past sessions")
            raise LoadError
        class_id, days = self.registers[0]
        if f'href="/classes/{class_id}"' not in page:
            self.recorder.failed("classes", f"class {class_id} is not on the teacher's list")
            raise LoadError
        self.pause(stop)
        self.step("class_page", "GET", f"/classes/{class_id}")
        self.pause(stop)
        path = f"/classes/{class_id}/attendance?on={self.rng.choice(days[-10:])}"
        page = self.step("register", "GET", path)
        scraper = FormScraper()
        scraper.feed(page)
        if scraper.action is None:
            self.recorder.failed("register", "no register form")
            raise LoadError
        fields = list(scraper.fields)
        # Correct one row, as a teacher does: present for the whole session (an empty
        # minutes field means the whole session; an absent row's 0 would be refused).
        statuses = [k for k, _v in fields if k.endswith("-status")]
        if statuses:
            row = self.rng.choice(statuses).removesuffix("-status")
            changes = {f"{row}-status": "present", f"{row}-minutes": "", f"{row}-reason": ""}
            fields = [(k, changes.get(k, v)) for k, v in fields]
        self.pause(stop)
        self.step("register_save", "POST", scraper.action or path, urlencode(fields), 302)
        self.pause(stop)

    def leader(self, stop: threading.Event) -> None:
        self.step("dashboard", "GET", "/unit/")
        self.pause(stop)
        self.step("outcomes", "GET", "/unit/outcomes/")
        self.pause(stop)


def role_sequence(mix: str) -> tuple[str, ...]:
    """The roles in the proportions of `mix` ("advisor=13,teacher=4,leader=3"),
    interleaved so that a small run has every role with a share."""
    weights = {}
    for part in mix.split(","):
        role, _sep, weight = part.partition("=")
        if role.strip() not in FLOWS or not weight.strip().isdigit():
            raise ValueError(f"--mix: {part!r} is not role=count (roles: {', '.join(FLOWS)})")
        weights[role.strip()] = int(weight)
    total = sum(weights.values())
    if total < 1:
        raise ValueError("--mix: at least one user")
    given = dict.fromkeys(weights, 0)
    sequence = []
    for i in range(total):
        role = max(weights, key=lambda r: weights[r] * (i + 1) / total - given[r])
        given[role] += 1
        sequence.append(role)
    return tuple(sequence)


def choose_users(
    users: list[dict[str, str]],
    count: int,
    registers: Callable[[list[str]], Any],
    roles: tuple[str, ...],
) -> list[tuple[str, dict[str, str], list[tuple[int, list[str]]]]]:
    """`count` accounts in the role mix, spread over the units. The seed makes one teacher
    and one leader per unit, so virtual teachers and leaders may share an account (each
    with a session of its own); every virtual teacher gets a class of its own, so two
    never save the same register."""
    by_role: dict[str, list[dict[str, str]]] = {}
    for user in users:
        by_role.setdefault(user["role"], []).append(user)
    for role, accounts in by_role.items():
        # Alternate units (the first of each unit, then the second ...) so the load is
        # not all on one unit's rows.
        rank: dict[str, int] = {}
        order = []
        for account in sorted(accounts, key=lambda u: (u["unit"], u["email"])):
            rank[account["unit"]] = rank.get(account["unit"], -1) + 1
            order.append((rank[account["unit"]], account["unit"], account["email"], account))
        by_role[role] = [entry[3] for entry in sorted(order, key=lambda e: e[:3])]
    teachers = [u["email"] for u in by_role.get("teacher", [])]
    classes: dict[str, list[tuple[int, list[str]]]] = registers(teachers) if teachers else {}
    picked: list[tuple[str, dict[str, str], list[tuple[int, list[str]]]]] = []
    cursor = {role: 0 for role in FLOWS}
    for i in range(count):
        role = roles[i % len(roles)]
        pool = by_role.get(role, [])
        if not pool:
            raise RuntimeError(f"the seed made no {role}")
        account = pool[cursor[role] % len(pool)]
        cursor[role] += 1
        own: list[tuple[int, list[str]]] = []
        if role == "teacher":
            free = classes.get(account["email"], [])
            if not free:
                raise RuntimeError("not enough language classes for the virtual teachers")
            own = [free.pop(0)]
        picked.append((role, account, own))
    return picked


# -- rotation ----------------------------------------------------------------------------


@dataclass
class Rotation:
    """One `veiviser keys rotate` run: when, how many values, how it ended."""

    at: float
    old_key: int | None = None
    values: int = 0
    launched: float = 0.0
    started: float = 0.0
    finished: float = 0.0
    returncode: int | None = None
    interrupted: bool = False
    output: str = ""
    reencrypted: str = ""  # the command's own "Re-encrypted N values in S s" line
    process: subprocess.Popen[str] | None = None

    def interrupt(self) -> None:
        """Stop the command as a deploy or an operator's Ctrl-C would (SIGTERM)."""
        if self.process is not None and self.process.poll() is None:
            self.interrupted = True
            self.process.terminate()


@contextmanager
def _app_session(env: dict[str, str]) -> Iterator[tuple[Any, Any]]:
    """A session on the load's database, configured as the served app is."""
    from app import create_app
    from app.database import services

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("VEIVISER_")})
    try:
        app = create_app()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    svc = services(app)
    with app.app_context(), svc.session_factory() as session:
        try:
            yield session, svc.keyring
        finally:
            svc.engine.dispose()


def count_under(env: dict[str, str], key_id: int | None = None) -> tuple[int, int]:
    """A field key (the active one by default) and how many stored values it seals."""
    from models import keys
    from models.crypto import KeyPurpose

    with _app_session(env) as (session, keyring):
        key = key_id if key_id is not None else keyring.active_key_id(session, KeyPurpose.FIELD)
        return key, keys.pending_count(session, (key,))


REENCRYPTED = re.compile(r"Re-encrypted (\d+) values in ([\d.]+) s")


def rotate(rotation: Rotation, env: dict[str, str]) -> None:
    """`veiviser keys rotate` in a subprocess. The re-encryption is timed from the
    command's first line (the new key is active: start-up is over) to its exit."""
    if rotation.old_key is None:
        rotation.old_key, rotation.values = count_under(env)
    rotation.launched = time.monotonic()
    rotation.process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [*_tool("veiviser"), "keys", "rotate"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert rotation.process.stdout is not None
    lines = []
    for line in rotation.process.stdout:
        if not rotation.started and ("active for writes" in line or "Resuming" in line):
            rotation.started = time.monotonic()
        if REENCRYPTED.search(line):
            rotation.reencrypted = line
        lines.append(line)
    rotation.returncode = rotation.process.wait()
    rotation.finished = time.monotonic()
    rotation.started = rotation.started or rotation.launched
    # The progress bar's carriage returns would flood the report.
    rotation.output = "".join(lines).replace("\r", "\n")[-1500:]


def rotation_report(
    rotation: Rotation, env: dict[str, str], error_times: list[float]
) -> dict[str, Any]:
    """The rate under load; if the load ended first and the rotation was interrupted,
    the rotation run again (no load) must resume it, and its rate."""
    took = max(rotation.finished - rotation.started, 1e-9)
    done = rotation.values
    report: dict[str, Any] = {"at_s": rotation.at, "values": rotation.values}
    if rotation.interrupted:
        _key, left = count_under(env, rotation.old_key)
        # Approximate: values the app wrote under the old key while its cached key id
        # had not expired yet (a few seconds) count against the rotation.
        done = max(0, rotation.values - left)
        resumed = Rotation(0.0, rotation.old_key, left)
        rotate(resumed, env)
        resumed_took = max(resumed.finished - resumed.started, 1e-9)
        report["resumed"] = {
            "values": left,
            "returncode": resumed.returncode,
            "seconds": round(resumed_took, 1),
            "values_per_s": round(left / resumed_took),
            "resumed": "Resuming the rotation" in resumed.output,
            "output": resumed.output if resumed.returncode else "",
        }
    # The command reports its re-encryption on its own; after that it waits for every
    # process's cached key to run out before erasing the old key (not part of the rate).
    measured = REENCRYPTED.search(rotation.reencrypted)
    if measured and not rotation.interrupted:
        done, took = int(measured.group(1)), max(float(measured.group(2)), 1e-9)
    report.update(
        interrupted=rotation.interrupted,
        returncode=None if rotation.interrupted else rotation.returncode,
        done_under_load=done,
        seconds=round(took, 1),
        command_seconds=round(rotation.finished - rotation.launched, 1),
        values_per_s=round(done / took),
        errors_during=sum(1 for t in error_times if rotation.launched <= t <= rotation.finished),
        output=rotation.output if rotation.returncode and not rotation.interrupted else "",
    )
    return report


def verify(env: dict[str, str], old_key: int) -> dict[str, Any]:
    """Open every encrypted value; count failures and values left under `old_key`."""
    from models import keys

    with _app_session(env) as (session, _keyring):
        report = keys.verify_all(session)
        left = keys.pending_count(session, (old_key,))
    return {
        "checked": report.checked,
        "failed": report.failed,
        "by_key": {str(k): v for k, v in sorted(report.by_key.items())},
        "left_under_old_key": left,
    }


# -- the run -----------------------------------------------------------------------------


def percentile(ordered: list[float], share: float) -> float:
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 1) if ordered else 0.0


def summarise(recorder: Recorder, seconds: float) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    names = ["login_page", "login", *[f for flows in FLOWS.values() for f in flows]]
    for flow in names:
        ordered = sorted(recorder.timings.get(flow, []))
        errors = recorder.errors.get(flow, 0)
        if not ordered and not errors:
            continue
        table[flow] = {
            "count": len(ordered),
            "req_per_s": round(len(ordered) / seconds, 2),
            "p50_ms": percentile(ordered, 0.50),
            "p95_ms": percentile(ordered, 0.95),
            "p99_ms": percentile(ordered, 0.99),
            "errors": errors,
            "daily": flow in DAILY,
        }
    return table


def load(args: argparse.Namespace, setup: Installation) -> dict[str, Any]:
    """Serve, log the virtual users in, run them (and the rotation), and summarise."""
    folder = args.state_dir / args.database
    recorder = Recorder(args.max_requests)
    stop = threading.Event()
    with ExitStack() as servers:
        ports = [free_port(), free_port()]
        while ports[1] == ports[0]:
            ports[1] = free_port()
        for i, port in enumerate(ports):
            servers.enter_context(gunicorn(port, setup.env, folder / f"gunicorn-{i}.log"))
        chosen = choose_users(
            setup.users,
            args.users,
            lambda emails: teacher_registers(setup.url, emails),
            role_sequence(args.mix),
        )
        rng = random.Random(args.seed)
        virtual = [
            VirtualUser(
                i,
                role,
                account,
                ports[i % 2],
                setup.password,
                recorder,
                random.Random(rng.random()),
                args.think,
                registers,
            )
            for i, (role, account, registers) in enumerate(chosen)
        ]
        locks = {account["email"]: threading.Lock() for _role, account, _r in chosen}
        ramp = min(10.0, args.duration / 10)
        threads = []
        started = time.monotonic()
        for i, user in enumerate(virtual):
            thread = threading.Thread(target=user.run, args=(stop, locks), daemon=True)
            threads.append(thread)
            # Staggered starts: not every login at the same instant.
            stop.wait(ramp * i / max(1, len(virtual)) - (time.monotonic() - started))
            thread.start()
        rotation = Rotation(args.rotate_at) if args.rotate_at is not None else None
        rotator: threading.Thread | None = None
        end = started + args.duration
        hard_end = end + args.rotation_grace
        while True:
            now = time.monotonic()
            if rotation is not None and rotator is None and now - started >= rotation.at:
                rotator = threading.Thread(target=rotate, args=(rotation, setup.env))
                rotator.start()
            rotating = rotator is not None and rotator.is_alive()
            waiting = rotation is not None and rotator is None
            if recorder.full() or now >= hard_end:
                if rotation is not None and rotator is not None:
                    # Interrupt only once the rotation has begun (its new key is
                    # active), so what is resumed afterwards is a half-done rotation.
                    give_up = time.monotonic() + 120
                    while rotator.is_alive() and not rotation.started:
                        if time.monotonic() > give_up:
                            break
                        time.sleep(0.1)
                    rotation.interrupt()
                break
            if now >= end and not rotating and not waiting:
                break
            time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(timeout=90)
        seconds = time.monotonic() - started
        if rotator is not None:
            rotator.join()
        load_average = os.getloadavg()
    result: dict[str, Any] = {
        "users": len(virtual),
        "roles": {r: sum(1 for u in virtual if u.role == r) for r in FLOWS},
        "seconds": round(seconds, 1),
        "requests": recorder.count,
        "errors": sum(recorder.errors.values()),
        "error_messages": recorder.messages,
        "flows": summarise(recorder, seconds),
        "load_average_1_5_15": [round(x, 2) for x in load_average],
    }
    if rotation is not None and rotation.old_key is not None:
        result["rotation"] = rotation_report(rotation, setup.env, recorder.error_times)
        result["verify"] = verify(setup.env, rotation.old_key)
    return result


def failures(result: dict[str, Any], check_targets: bool) -> list[str]:
    """Why the run fails, if it does."""
    found = []
    if result["errors"]:
        found.append(f"{result['errors']} request(s) failed")
    rotation, checked = result.get("rotation"), result.get("verify")
    if rotation is not None:
        last = rotation.get("resumed", rotation)
        if last["returncode"] != 0:
            found.append(f"`keys rotate` exited {last['returncode']}")
        if rotation["interrupted"] and not last["resumed"]:
            found.append("the interrupted rotation did not resume")
    if checked is not None and (checked["failed"] or checked["left_under_old_key"]):
        found.append(
            f"verification: {checked['failed']} values unreadable, "
            f"{checked['left_under_old_key']} still under the old key"
        )
    if check_targets:
        for flow, row in result["flows"].items():
            if row["daily"] and row["p95_ms"] > P95_LIMIT_MS:
                found.append(f"{flow} p95 {row['p95_ms']} ms > {P95_LIMIT_MS:g} ms")
    return found


def print_report(result: dict[str, Any]) -> None:
    print(
        f"{result['users']} users {result['roles']} for {result['seconds']} s: "
        f"{result['requests']} requests, {result['errors']} errors; "
        f"load average {result['load_average_1_5_15']}"
    )
    print(
        f"{'flow':<14} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6}"
    )
    for flow, row in result["flows"].items():
        mark = "" if row["daily"] else "  (not a daily page)"
        print(
            f"{flow:<14} {row['count']:>7} {row['req_per_s']:>7.2f} {row['p50_ms']:>8.1f} "
            f"{row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>6}{mark}"
        )
    for message in result["error_messages"]:
        print(f"  error: {message}")
    rotation = result.get("rotation")
    if rotation:
        ended = "interrupted when the load ended" if rotation["interrupted"] else "finished"
        print(
            f"rotation at {rotation['at_s']} s, {ended}: {rotation['done_under_load']} of "
            f"{rotation['values']} values in {rotation['seconds']} s = "
            f"{rotation['values_per_s']} values/s under load (whole command "
            f"{rotation['command_seconds']} s), {rotation['errors_during']} request errors "
            "meanwhile"
        )
        resumed = rotation.get("resumed")
        if resumed:
            print(
                f"resumed without load: {resumed['values']} values in {resumed['seconds']} s"
                f" = {resumed['values_per_s']} values/s, exit {resumed['returncode']}"
            )
        for part in (rotation, resumed or {}):
            if part.get("output"):
                print(part["output"])
    checked = result.get("verify")
    if checked:
        print(
            f"verify: {checked['checked']} values opened, {checked['failed']} failed, "
            f"{checked['left_under_old_key']} under the old key; per key {checked['by_key']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds")
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--mix", default=DEFAULT_MIX, help="roles' shares of the users")
    parser.add_argument("--think", default="0.5,2.0", help="min,max seconds between steps")
    parser.add_argument("--rotate-at", type=float, default=None, help="seconds into the load")
    parser.add_argument("--rotation-grace", type=float, default=1800.0)
    parser.add_argument("--check-targets", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="serve the seeded database again")
    parser.add_argument("--prepare-only", action="store_true", help="seed, then stop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server, no database")
    parser.add_argument("--database", default=None, help="default load_<participants>")
    parser.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / "bench/out/load")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--ci", action="store_true", help="the short run for CI")
    args = parser.parse_args()
    if args.ci:
        args.participants, args.users, args.duration = 2_000, 16, 120.0
        args.rotate_at, args.database, args.reuse = 30.0, "load_ci", False
        args.rotation_grace = 300.0
    args.database = args.database or f"load_{args.participants}"
    args.out = args.out or PROJECT_ROOT / f"bench/out/{args.database}.json"
    low, _sep, high = args.think.partition(",")
    args.think = (float(low), float(high or low))
    try:
        role_sequence(args.mix)
    except ValueError as error:
        parser.error(str(error))
    if not re.fullmatch(r"load\w*", args.database):
        parser.error("the database name must start with 'load' (it is dropped and recreated)")
    if not 1 <= args.users <= 500 or not 1 <= args.duration <= 7200:
        parser.error("users must be 1-500 and duration 1-7200 seconds")
    if args.participants < 100 or not 0 <= args.think[0] <= args.think[1] <= 60:
        parser.error("at least 100 participants; think time min,max within 0-60 s")

    print(f"{args.database}: preparing ...", file=sys.stderr, flush=True)
    setup = prepare(args)
    if setup.seed_seconds is not None:
        print(f"seeded in {setup.seed_seconds} s", file=sys.stderr, flush=True)
    if args.prepare_only:
        return
    print(f"{args.users} users for {args.duration:g} s ...", file=sys.stderr, flush=True)
    result = load(args, setup)
    result.update(
        database=args.database,
        participants=args.participants,
        seed_seconds=setup.seed_seconds,
        think_s=list(args.think),
        p95_limit_ms=P95_LIMIT_MS,
    )
    print_report(result)
    problems = failures(result, args.check_targets)
    result["failures"] = problems
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)
    for problem in problems:
        print(f"FAILED: {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
