"""Participant pages at scale: seed a fresh database, serve it with gunicorn, time the pages.

    python bench/bench_participants.py [--sizes 1000,10000,100000] [--requests 200]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--unit-size 10000] [--out bench/out/participants.json]
        [--cases healthz,dashboard,...] [--keep DIR] [--export-repeats 3]
        [--follow-ups 5] [--attendance-weeks 8]

For every size N: a fresh database (a SQLite file in a temporary folder, or a schema of
its own in the PostgreSQL database given, dropped afterwards), an instance folder with a
secret key and a master key, `veiviser db upgrade`, `veiviser seed` (N participants over
ceil(N / unit size) units, so a leader's scope is about --unit-size people), then
`gunicorn -w 2` on a free loopback port. Logged in over HTTP as an advisor and as the
leader of the same unit, it times --requests sequential requests of each case:

    healthz         GET /healthz, no session: the framework floor
    home            the advisor's home page: the floor of a logged-in page (session,
                    user, menu; no personal data, no audit event)
    caseload        the advisor's caseload page (their own participants, first page)
    overview        a participant's overview page (refs from the caseload links)
    name_search     the leader searches the unit by a participant's full name
    id_search       the leader searches by a seeded synthetic national identity number
    id_search_advisor  the advisor searches by the number of one of their participants
    plan            a participant's plan page (the advisor's participants with a plan)
    followups       a participant's follow-up page (five seeded follow-ups each)
    tasks           the advisor's "My tasks" (two seeded tasks per participant)
    language        a participant's language page (estimates, tests, attendance, chart)
    register        the teacher's attendance register for a class of 25 on a session day
    register_save   that register sent back unchanged (one POST saving all rows)
    dashboard       the leader's unit dashboard (/unit/)
    outcomes        the leader's outcome figures for the year with the most programme ends
    outcomes_prev   the same for the year with the second most
    reassign        the leader's reassignment page
    nir             the NIR report page for the unit and that year (when the page exists)
    export_xlsx_10k the wall time from POSTing an XLSX export of the unit's participant list
                    to the downloaded file, polling the export's page (--export-repeats runs
                    after one warm-up; when /unit/exports/ exists)

and reports p50/p95 (ms) and throughput (requests/s) per case and size, as a table and as
JSON (--out), with the issue's targets marked met or missed. Only the standard library
speaks HTTP; it talks to 127.0.0.1 only, with bounded counts, and stops by itself.

PostgreSQL gets planner statistics from `veiviser seed` (ANALYZE, as autovacuum soon
would); SQLite gets none, as in the app, unless --sqlite-analyze runs ANALYZE after the
seed to show what statistics would change.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import create_engine, text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CSRF_PATTERN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PARTICIPANT_LINK = re.compile(r'<a href="/participants/([A-Za-z0-9_-]{16})">([^<]+)</a>')
SEED_RATE = re.compile(r"\(([\d,]+) participants/s\)")
CASES = (
    "healthz",
    "home",
    "caseload",
    "overview",
    "name_search",
    "id_search",
    "id_search_advisor",
    "plan",
    "followups",
    "tasks",
    "language",
    "register",
    "register_save",
    "dashboard",
    "outcomes",
    "outcomes_prev",
    "reassign",
    "nir",
    "export_xlsx_10k",
)
# The pages the latency targets name; the ID search is timed as the leader (scope:
# the unit) and as the advisor (scope: their caseload).
PAGE_CASES = (
    "caseload",
    "overview",
    "id_search",
    "id_search_advisor",
    "plan",
    "tasks",
    "language",
    "register",
    "register_save",
)
WARMUP = 5
STARTUP_SECONDS = 60.0

# The targets.
P95_LIMIT_MS = 50.0
GROWTH_LIMIT = 1.3
THROUGHPUT_SHARE = 0.40
NAME_SEARCH_SCOPE = 10_000
NAME_SEARCH_LIMIT_MS = 100.0
# Issue 7: the leader's dashboard and figure pages, and the XLSX export of 10k rows.
FIGURE_CASES = ("dashboard", "outcomes", "outcomes_prev", "reassign", "nir")
FIGURE_P95_LIMIT_MS = 250.0
FIGURE_GROWTH_LIMIT = 3.0
EXPORT_LIMIT_MS = 10_000.0
EXPORT_TIMEOUT_SECONDS = 120.0
EXPORT_POLL_SECONDS = 0.25


# -- processes and databases ---------------------------------------------------------


def _tool(name: str) -> list[str]:
    """The console script installed next to this Python, or the module behind it."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    if name == "veiviser":
        return [sys.executable, "-c", "from app.cli import main; main()"]
    return [sys.executable, "-m", name]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fresh_database(base_url: str | None, folder: Path, *, keep: bool = False) -> Iterator[str]:
    """An empty database: a SQLite file in `folder`, or a new PostgreSQL schema (dropped
    afterwards, even on error, unless `keep`: --keep measures a seeded database again)."""
    if not base_url:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base_url else "?"
        dropped = not keep
        try:
            yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
        except BaseException:
            dropped = True  # a failed seed is not worth keeping
            raise
        finally:
            if dropped:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def write_instance(folder: Path) -> None:
    from models.crypto import write_master_key_file

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.py"
    config.write_text(
        textwrap.dedent(
            f'''\
            SECRET_KEY = "{secrets.token_urlsafe(32)}"
            DEPLOYMENT_ID = "bench-{secrets.token_hex(4)}"
            '''
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)
    write_master_key_file(folder / "master.key")


def run(command: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[str, str]:
    done = subprocess.run(  # noqa: S603 - our own console scripts, fixed arguments
        command,
        input=stdin,
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{done.stderr[-4000:]}")
    return done.stdout, done.stderr


def worker_cpu_seconds(master_pid: int) -> float | None:
    """User + system CPU time of the gunicorn workers (children of `master_pid`) so far,
    from /proc; None where there is no /proc. Unlike wall time, it hardly moves when
    other programs compete for the CPU."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    try:
        entries = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in entries:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == master_pid:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


@contextmanager
def gunicorn(port: int, env: dict[str, str], log: Path) -> Iterator[int]:
    """gunicorn with the production settings (app/gunicorn_conf.py: worker class, garbage
    collector, timeouts) and 2 workers on 127.0.0.1:`port`, stopped (by its own pid) on
    the way out; yields the master's pid."""
    with log.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments, loopback only
            [
                *_tool("gunicorn"),
                *("-c", "python:app.gunicorn_conf", "-w", "2", "-b", f"127.0.0.1:{port}"),
                "app:create_app()",
            ],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-4000:]}")
                try:
                    status, _body, _ms = Client(port).get("/healthz")
                    if status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer:\n{log.read_text()[-4000:]}")
                time.sleep(0.2)
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# -- HTTP ----------------------------------------------------------------------------


class FormScraper(HTMLParser):
    """The fields of the first POST form inside <main>, with their current values."""

    def __init__(self) -> None:
        super().__init__()
        self.in_main = False
        self.in_form = False
        self.done = False
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.first_option: str | None = None
        self.chosen: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "main":
            self.in_main = True
        elif tag == "form" and self.in_main and not self.done and a.get("method") == "post":
            self.in_form = True
            self.action = a.get("action", "")
        elif not self.in_form:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.first_option, self.chosen = a.get("name"), None, None
        elif tag == "option" and self.select is not None:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.chosen = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select is not None:
            value = self.chosen if self.chosen is not None else self.first_option
            self.fields.append((self.select, value or ""))
            self.select = None
        elif tag == "form" and self.in_form:
            self.in_form, self.done = False, True


class Client:
    """A keep-alive HTTP client for one loopback server, with a cookie jar."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.csrf_token: str | None = None

    def request(
        self, method: str, path: str, body: str | None = None
    ) -> tuple[int, http.client.HTTPResponse, str, float]:
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read().decode("utf-8", "replace")
        except (http.client.HTTPException, ConnectionError):
            # The server closed a kept-alive connection: once more on a new one.
            self.connection.close()
            started = time.perf_counter()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read().decode("utf-8", "replace")
        elapsed = (time.perf_counter() - started) * 1000
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response.status, response, payload, elapsed

    def get(self, path: str) -> tuple[int, str, float]:
        status, _response, payload, elapsed = self.request("GET", path)
        return status, payload, elapsed

    def search(self, query: str) -> tuple[int, str, float]:
        """POST the caseload search, as the page does (search terms never go in a URL)."""
        if self.csrf_token is None:
            _status, page, _ms = self.get("/participants/")
            match = CSRF_PATTERN.search(page)
            if match is None:
                raise RuntimeError("no search form")
            self.csrf_token = match.group(1)
        form = urlencode({"q": query, "csrf_token": self.csrf_token})
        status, _response, payload, elapsed = self.request("POST", "/participants/", form)
        return status, payload, elapsed

    def submit(self, path: str) -> tuple[int, str, float]:
        """Open the page at `path` and send its main POST form back as it stands (as a
        user pressing "save" without changes would); times the POST only."""
        _status, page, _ms = self.get(path)
        scraper = FormScraper()
        scraper.feed(page)
        if scraper.action is None:
            raise RuntimeError(f"no form on {path}")
        form = urlencode(scraper.fields)
        status, _response, payload, elapsed = self.request("POST", scraper.action or path, form)
        return status, payload, elapsed

    def fetch(self, target: str | tuple[str, str]) -> tuple[int, str, float]:
        """A GET for a path; a POSTed search for ("search", query); a form sent back for
        ("submit", path)."""
        if isinstance(target, tuple):
            kind, value = target
            return self.submit(value) if kind == "submit" else self.search(value)
        return self.get(target)

    def log_in(self, email: str, password: str) -> None:
        status, page, _ms = self.get("/login")
        match = CSRF_PATTERN.search(page)
        if status != 200 or match is None:
            raise RuntimeError("no login form")
        form = urlencode({"email": email, "password": password, "csrf_token": match.group(1)})
        status, response, _page, _ms = self.request("POST", "/login", form)
        if status != 302 or response.getheader("Location", "").endswith("/login"):
            raise RuntimeError(f"login as {email} failed ({status})")


@dataclass
class Sample:
    case: str
    scope: int | None
    timings_ms: list[float]
    seconds: float
    cpu_seconds: float | None

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.timings_ms)
        count = len(ordered)
        return {
            "requests": count,
            "scope": self.scope,
            "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[max(0, math.ceil(0.95 * count) - 1)], 2),
            "mean_ms": round(statistics.fmean(ordered), 2),
            "req_per_s": round(count / self.seconds, 1),
            # CPU the app spent per request (gunicorn workers only, not the database).
            "app_cpu_ms": None
            if self.cpu_seconds is None
            else round(1000 * self.cpu_seconds / count, 2),
        }


def measure(
    client: Client,
    case: str,
    paths: Callable[[int], str | tuple[str, str]],
    count: int,
    scope: int | None,
    cpu: Callable[[], float | None],
) -> Sample:
    for i in range(WARMUP):
        client.fetch(paths(i))
    timings = []
    cpu_before = cpu()
    started = time.perf_counter()
    for i in range(count):
        path = paths(i)
        status, _page, elapsed = client.fetch(path)
        saved = isinstance(path, tuple) and path[0] == "submit" and status == 302
        if status != 200 and not saved:
            raise RuntimeError(f"{case}: {path} answered {status}")
        timings.append(elapsed)
    seconds = time.perf_counter() - started
    cpu_after = cpu()
    used = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Sample(case, scope, timings, seconds, used)


# -- one size ----------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: int
    units: int
    database: str
    seed_seconds: float
    seed_rate: str
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    load_average: tuple[float, float] = (0.0, 0.0)
    rows: dict[str, int] = field(default_factory=dict)
    outcome_years: list[tuple[int, int]] = field(default_factory=list)


def _planned_refs(url: str, advisor_email: str, limit: int = 50) -> list[str]:
    """Refs of the advisor's participants who have a plan (the plan page's real case)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            refs = conn.execute(
                text(
                    "SELECT p.ref FROM participants p JOIN plans pl ON pl.participant_id = p.id "
                    "JOIN users a ON a.id = p.primary_advisor_id WHERE a.email = :email "
                    "ORDER BY p.id LIMIT :limit"
                ),
                {"email": advisor_email, "limit": limit},
            ).scalars()
            found = list(refs)
    finally:
        engine.dispose()
    if not found:
        raise RuntimeError("the seeded advisor has no participant with a plan")
    return found


def _register_of(url: str, teacher_email: str) -> tuple[str, int]:
    """The attendance register of the teacher's first full class on its last session day,
    and the class size."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT c.id, max(s.held_on), count(DISTINCT e.participant_id) "
                    "FROM language_classes c "
                    "JOIN class_teachers t ON t.class_id = c.id "
                    "JOIN users u ON u.id = t.user_id "
                    "JOIN enrolments e ON e.class_id = c.id "
                    "JOIN class_sessions s ON s.class_id = c.id "
                    "WHERE u.email = :email GROUP BY c.id "
                    "ORDER BY count(DISTINCT e.participant_id) DESC, c.id LIMIT 1"
                ),
                {"email": teacher_email},
            ).one()
    finally:
        engine.dispose()
    held_on = row[1] if isinstance(row[1], str) else row[1].isoformat()
    return f"/classes/{row[0]}/attendance?on={held_on}", int(row[2])


def _enrolled_refs(url: str, advisor_email: str, limit: int = 50) -> list[str]:
    """The advisor's participants who attend a class (the language section's real case)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            refs = list(
                conn.execute(
                    text(
                        "SELECT p.ref FROM participants p "
                        "JOIN users a ON a.id = p.primary_advisor_id "
                        "WHERE a.email = :email AND EXISTS "
                        "(SELECT 1 FROM enrolments e WHERE e.participant_id = p.id) "
                        "ORDER BY p.id LIMIT :limit"
                    ),
                    {"email": advisor_email, "limit": limit},
                ).scalars()
            )
    finally:
        engine.dispose()
    if not refs:
        raise RuntimeError("the seeded advisor has nobody in a language class")
    return refs


def _open_tasks(url: str, advisor_email: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                text(
                    "SELECT count(*) FROM tasks t JOIN users a ON a.id = t.assignee_id "
                    "WHERE a.email = :email AND t.done_at IS NULL"
                ),
                {"email": advisor_email},
            ).scalar_one()
    finally:
        engine.dispose()
    return int(count)


def _scope_sizes(url: str, unit: str, advisor_email: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            unit_size = conn.execute(
                text(
                    "SELECT count(*) FROM participants p JOIN units u ON u.id = p.unit_id "
                    "WHERE u.name = :unit"
                ),
                {"unit": unit},
            ).scalar_one()
            caseload = conn.execute(
                text(
                    "SELECT count(*) FROM participants p JOIN users a "
                    "ON a.id IN (p.primary_advisor_id, p.secondary_advisor_id) "
                    "WHERE a.email = :email"
                ),
                {"email": advisor_email},
            ).scalar_one()
    finally:
        engine.dispose()
    return int(unit_size), int(caseload)


@dataclass
class Seeded:
    """A seeded database and what the cases need to log in and pick their pages."""

    url: str
    instance: str
    password: str
    users: list[dict[str, str]]
    seed_seconds: float
    seed_rate: str
    rows: dict[str, int]

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "VEIVISER_INSTANCE_PATH": self.instance,
            "VEIVISER_DATABASE_URL": self.url,
            "VEIVISER_REQUIRE_MFA": "off",
            "VEIVISER_SESSION_COOKIE_SECURE": "off",
            "VEIVISER_ALLOW_SYNTHETIC_IDS": "on",
        }
        for key in ("VEIVISER_SECRET_KEY", "VEIVISER_MASTER_KEY", "VEIVISER_MASTER_KEY_FILE"):
            env.pop(key, None)
        return env


# The tables whose size the report states (the issues name their row counts).
COUNTED_TABLES = (
    "participants",
    "plan_versions",
    "tasks",
    "follow_ups",
    "attendances",
    "programme_ends",
    "language_test_results",
    "placements",
    "language_leaves",
)


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 - fixed names
                for table in COUNTED_TABLES
            }
    finally:
        engine.dispose()


def seed_database(
    url: str, folder: Path, size: int, units: int, args: argparse.Namespace
) -> Seeded:
    """Migrate and seed the empty database at `url`; the instance (keys) goes in `folder`."""
    instance = folder / "instance"
    write_instance(instance)
    seeded = Seeded(url, str(instance), secrets.token_urlsafe(18), [], 0.0, "?", {})
    env = seeded.env()
    run([*_tool("veiviser"), "db", "upgrade"], env)
    started = time.perf_counter()
    out, err = run(
        [
            *_tool("veiviser"),
            "seed",
            "--participants",
            str(size),
            "--units",
            str(units),
            "--json",
            "--password-stdin",
            "--ids-file",
            str(folder / "ids.json"),
            # Case work at scale: a plan for everyone in the programme, two tasks and
            # --follow-ups follow-ups per participant (5: 500k at 100k).
            "--plans",
            "--tasks",
            "2",
            "--follow-ups",
            str(args.follow_ups),
            # Classes of 25 for everyone who started the programme (~73% of the seeded
            # participants with --outcomes), --attendance-weeks weeks of attendance
            # (8: about 2.3M rows at 100k).
            "--attendance-weeks",
            str(args.attendance_weeks),
            # Programme ends, test results, placements and leave for the outcome figures.
            "--outcomes",
        ],
        env,
        stdin=seeded.password + "\n",
    )
    seeded.seed_seconds = round(time.perf_counter() - started, 2)
    if args.sqlite_analyze and url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
    rate = SEED_RATE.search(err)
    seeded.seed_rate = rate.group(1) if rate else "?"
    seeded.users = json.loads(out)
    seeded.rows = _row_counts(url)
    return seeded


def bench_size(size: int, args: argparse.Namespace) -> SizeResult:
    """Seed a database of `size` participants and time the cases against it. With --keep,
    the database and its instance stay in --keep/size-N and a later run with the same
    --keep measures them again without seeding (a 100k seed takes many minutes)."""
    units = max(1, math.ceil(size / args.unit_size))
    if args.keep is None:
        folder = Path(tempfile.mkdtemp(prefix="veiviser-bench-"))
        try:
            with fresh_database(args.database_url, folder) as url:
                seeded = seed_database(url, folder, size, units, args)
                return measure_seeded(seeded, folder, size, units, args)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    folder = args.keep / f"size-{size}"
    state = folder / "state.json"
    if not state.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with fresh_database(args.database_url, folder, keep=True) as url:
            seeded = seed_database(url, folder, size, units, args)
        fd = os.open(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(seeded.__dict__, handle)
    seeded = Seeded(**json.loads(state.read_text(encoding="utf-8")))
    return measure_seeded(seeded, folder, size, units, args)


def with_pg_options(url: str, options: list[str]) -> str:
    """`url` with PostgreSQL settings for the app's sessions added to its `options`
    (e.g. jit=off: what a setting would change, without editing the server's)."""
    if not options or not url.startswith("postgresql"):
        return url
    extra = "%20".join(f"-c{quote(o, safe='')}" for o in options)
    if "options=" in url:
        return url.replace("options=", f"options={extra}%20", 1)
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={extra}"


def _outcome_years(url: str, unit: str) -> tuple[int, list[tuple[int, int]]]:
    """The unit's id and its (year, programme ends) pairs, most ends first."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            unit_id = int(
                conn.execute(text("SELECT id FROM units WHERE name = :u"), {"u": unit}).scalar_one()
            )
            ends = conn.execute(
                text("SELECT ended_on FROM programme_ends WHERE unit_id = :u"), {"u": unit_id}
            ).scalars()
            years: dict[int, int] = {}
            for ended_on in ends:
                year = int(str(ended_on)[:4])
                years[year] = years.get(year, 0) + 1
    finally:
        engine.dispose()
    return unit_id, sorted(years.items(), key=lambda kv: -kv[1])


def measure_seeded(
    seeded: Seeded, folder: Path, size: int, units: int, args: argparse.Namespace
) -> SizeResult:
    url, users, password = seeded.url, seeded.users, seeded.password
    national_ids: dict[str, str] = json.loads((folder / "ids.json").read_text())
    unit = next(u["unit"] for u in users if u["role"] == "leader")
    advisor = next(u for u in users if u["role"] == "advisor" and u["unit"] == unit)
    leader = next(u for u in users if u["role"] == "leader" and u["unit"] == unit)
    unit_size, caseload_size = _scope_sizes(url, unit, advisor["email"])
    planned = _planned_refs(url, advisor["email"])
    open_tasks = _open_tasks(url, advisor["email"])
    teacher = next(u for u in users if u["role"] == "teacher" and u["unit"] == unit)
    register = _register_of(url, teacher["email"])
    learners = _enrolled_refs(url, advisor["email"])
    unit_id, years = _outcome_years(url, unit)
    result = SizeResult(
        size=size,
        units=units,
        database=url.split(":", 1)[0],
        seed_seconds=seeded.seed_seconds,
        seed_rate=seeded.seed_rate,
        rows=seeded.rows,
        outcome_years=years,
    )
    port = free_port()
    env = seeded.env()
    env["VEIVISER_DATABASE_URL"] = with_pg_options(url, args.pg_option)
    with gunicorn(port, env, folder / "gunicorn.log") as master:
        context = Context(
            advisor, leader, password, national_ids, unit_size, caseload_size, planned,
            open_tasks, teacher, register, learners, unit_id, years,
        )  # fmt: skip
        result.cases = run_cases(
            port, args.requests, context, lambda: worker_cpu_seconds(master), args
        )
    load = os.getloadavg()
    result.load_average = (round(load[0], 2), round(load[1], 2))
    return result


@dataclass
class Context:
    """Who logs in and which pages the cases open."""

    advisor: dict[str, str]
    leader: dict[str, str]
    password: str
    national_ids: dict[str, str]
    unit_size: int
    caseload_size: int
    planned: list[str]
    open_tasks: int
    teacher: dict[str, str]
    register: tuple[str, int]
    learners: list[str]
    unit_id: int
    years: list[tuple[int, int]]


def _exists(client: Client, path: str) -> bool:
    """Is the page there (a blueprint another issue adds may not be yet)?"""
    status, _page, _ms = client.get(path)
    return status == 200


def export_once(client: Client, unit_id: int) -> float:
    """POST an XLSX export of the unit's participant list, poll its page until the
    download link shows, download it; the wall time in ms from the POST to the file."""
    _status, page, _ms = client.get("/unit/exports/")
    scraper = FormScraper()
    scraper.feed(page)
    fields = dict(scraper.fields)
    fields.update(
        kind="participant_list",
        unit=str(unit_id),
        format="xlsx",
        purpose="Benchmark of the export (made-up data).",
    )
    started = time.perf_counter()
    status, response, _page, _ms = client.request(
        "POST", scraper.action or "/unit/exports/", urlencode(fields)
    )
    location = response.getheader("Location", "")
    if status != 302 or "/unit/exports/" not in location:
        raise RuntimeError(f"export_xlsx: the export was not accepted ({status})")
    path = location.split("://", 1)[-1]
    path = path[path.index("/") :] if not location.startswith("/") else location
    download = f"{path.rstrip('/')}/download"
    deadline = time.monotonic() + EXPORT_TIMEOUT_SECONDS
    while True:
        _status, page, _ms = client.get(path)
        if download in page:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("export_xlsx: the export did not finish in time")
        time.sleep(EXPORT_POLL_SECONDS)
    status, response, body, _ms = client.request("GET", download)
    if status != 200 or not body.startswith("PK"):
        raise RuntimeError(f"export_xlsx: the download answered {status}")
    return (time.perf_counter() - started) * 1000


def run_cases(
    port: int,
    count: int,
    ctx: Context,
    cpu: Callable[[], float | None],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    bare = Client(port)
    as_advisor = Client(port)
    as_advisor.log_in(ctx.advisor["email"], ctx.password)
    as_leader = Client(port)
    as_leader.log_in(ctx.leader["email"], ctx.password)
    as_teacher = Client(port)
    as_teacher.log_in(ctx.teacher["email"], ctx.password)
    register_path, class_size = ctx.register
    national_ids, planned, learners = ctx.national_ids, ctx.planned, ctx.learners

    _status, page, _ms = as_advisor.get("/participants/")
    advisor_refs = [ref for ref, _name in PARTICIPANT_LINK.findall(page)]
    advisor_ids = [national_ids[ref] for ref in advisor_refs if ref in national_ids]
    _status, page, _ms = as_leader.get("/participants/")
    unit_links = PARTICIPANT_LINK.findall(page)
    names = [html.unescape(name) for _ref, name in unit_links]
    ids = [national_ids[ref] for ref, _name in unit_links if ref in national_ids]
    if not advisor_refs or not names or not ids or not advisor_ids:
        raise RuntimeError("the caseload pages show no participants to work with")
    # The outcome pages: the year with the most programme ends, and the one after it.
    years = [year for year, _n in ctx.years] or [2000]
    unit = ctx.unit_id
    outcomes = f"/unit/outcomes/?year={years[0]}&unit={unit}"
    outcomes_prev = f"/unit/outcomes/?year={years[min(1, len(years) - 1)]}&unit={unit}"
    nir = f"/unit/nir/?unit={unit}&year={years[0]}"

    # case → (client, the path for request i, scope): built lazily, run in CASES order.
    plans: dict[str, tuple[Client, Callable[[int], str | tuple[str, str]], int | None]] = {
        "healthz": (bare, lambda i: "/healthz", None),
        "home": (as_advisor, lambda i: "/", None),
        "caseload": (as_advisor, lambda i: "/participants/", ctx.caseload_size),
        "overview": (
            as_advisor,
            lambda i: f"/participants/{advisor_refs[i % len(advisor_refs)]}",
            1,
        ),
        "name_search": (as_leader, lambda i: ("search", names[i % len(names)]), ctx.unit_size),
        "id_search": (as_leader, lambda i: ("search", ids[i % len(ids)]), ctx.unit_size),
        "id_search_advisor": (
            as_advisor,
            lambda i: ("search", advisor_ids[i % len(advisor_ids)]),
            ctx.caseload_size,
        ),
        "plan": (as_advisor, lambda i: f"/participants/{planned[i % len(planned)]}/plan", 1),
        "followups": (
            as_advisor,
            lambda i: f"/participants/{advisor_refs[i % len(advisor_refs)]}/followups",
            1,
        ),
        "tasks": (as_advisor, lambda i: "/tasks/", ctx.open_tasks),
        "language": (
            as_advisor,
            lambda i: f"/participants/{learners[i % len(learners)]}/language",
            1,
        ),
        "register": (as_teacher, lambda i: register_path, class_size),
        "register_save": (as_teacher, lambda i: ("submit", register_path), class_size),
        "dashboard": (as_leader, lambda i: "/unit/", ctx.unit_size),
        "outcomes": (as_leader, lambda i: outcomes, ctx.unit_size),
        "outcomes_prev": (as_leader, lambda i: outcomes_prev, ctx.unit_size),
        "reassign": (as_leader, lambda i: "/unit/reassign", ctx.unit_size),
        "nir": (as_leader, lambda i: nir, ctx.unit_size),
    }
    chosen = args.cases
    results: dict[str, dict[str, Any]] = {}
    for case in CASES:
        if case not in chosen:
            continue
        if case == "export_xlsx_10k":
            if not _exists(as_leader, "/unit/exports/"):
                print("  export_xlsx_10k: no /unit/exports/ yet, skipped", file=sys.stderr)
                continue
            try:
                export_once(as_leader, unit)  # warm-up
                timings = [export_once(as_leader, unit) for _ in range(args.export_repeats)]
            except (RuntimeError, OSError) as exc:
                print(f"  {case}: {exc}", file=sys.stderr)
                results[case] = {"error": str(exc), "scope": ctx.unit_size}
                continue
            sample = Sample(case, ctx.unit_size, timings, sum(timings) / 1000, None)
            results[case] = sample.summary()
            continue
        client, paths, scope = plans[case]
        if case == "nir" and not _exists(client, nir):
            print("  nir: no /unit/nir/ yet, skipped", file=sys.stderr)
            continue
        print(f"  {case} ...", file=sys.stderr, flush=True)
        try:
            results[case] = measure(client, case, paths, count, scope, cpu).summary()
        except (RuntimeError, OSError) as exc:
            # One failing page (a worker timeout is a 500) must not cost the other cases.
            print(f"  {case}: {exc}", file=sys.stderr)
            results[case] = {"error": str(exc), "scope": scope}
    return results


# -- report ------------------------------------------------------------------------------


def targets(results: list[SizeResult]) -> list[dict[str, Any]]:
    """The issues' targets for the cases measured, each marked met or missed."""
    found: list[dict[str, Any]] = []
    largest, smallest = results[-1], results[0]
    note = "" if largest.size >= 100_000 else f" (measured at {largest.size:,}, not 100k)"

    def measured(case: str) -> bool:
        return all(
            case in result.cases and "error" not in result.cases[case]
            for result in (largest, smallest)
        )

    limits = [(case, P95_LIMIT_MS, GROWTH_LIMIT) for case in PAGE_CASES]
    limits += [(case, FIGURE_P95_LIMIT_MS, FIGURE_GROWTH_LIMIT) for case in FIGURE_CASES]
    for case, limit, _growth in limits:
        if case not in largest.cases:
            continue
        if "error" in largest.cases[case]:
            found.append(
                {
                    "target": f"{case} p95 <= {limit:g} ms at 100k{note}",
                    "value": largest.cases[case]["error"],
                    "met": False,
                }
            )
            continue
        p95 = largest.cases[case]["p95_ms"]
        found.append(
            {
                "target": f"{case} p95 <= {limit:g} ms at 100k{note}",
                "value": p95,
                "met": p95 <= limit,
            }
        )
    if largest.size != smallest.size:
        for case, _limit, growth in limits:
            if not measured(case):
                continue
            ratio = largest.cases[case]["p50_ms"] / smallest.cases[case]["p50_ms"]
            found.append(
                {
                    "target": f"{case} p50 at {largest.size:,} <= {growth:g} x at "
                    f"{smallest.size:,}",
                    "value": round(ratio, 2),
                    "met": ratio <= growth,
                }
            )
    for result in results:
        export = result.cases.get("export_xlsx_10k")
        if export and "error" in export:
            found.append(
                {
                    "target": f"XLSX export (size {result.size:,})",
                    "value": export["error"],
                    "met": False,
                }
            )
        elif export:
            found.append(
                {
                    "target": f"XLSX export of a {export['scope']:,}-participant unit <= "
                    f"{EXPORT_LIMIT_MS / 1000:g} s, POST to download (size {result.size:,}; "
                    "the slowest run)",
                    "value": round(max(export["p95_ms"], export["p50_ms"]) / 1000, 2),
                    "met": export["p95_ms"] <= EXPORT_LIMIT_MS,
                }
            )
        if "caseload" in result.cases and "healthz" in result.cases:
            share = result.cases["caseload"]["req_per_s"] / result.cases["healthz"]["req_per_s"]
            found.append(
                {
                    "target": f"caseload throughput >= {THROUGHPUT_SHARE:.0%} of /healthz at "
                    f"{result.size:,}",
                    "value": round(share, 2),
                    "met": share >= THROUGHPUT_SHARE,
                }
            )
        search = result.cases.get("name_search")
        if search and search["scope"] and search["scope"] >= NAME_SEARCH_SCOPE:
            found.append(
                {
                    "target": f"name search p95 <= {NAME_SEARCH_LIMIT_MS:g} ms over a "
                    f"{search['scope']:,} scope (size {result.size:,})",
                    "value": search["p95_ms"],
                    "met": search["p95_ms"] <= NAME_SEARCH_LIMIT_MS,
                }
            )
    return found


def print_report(results: list[SizeResult], goals: list[dict[str, Any]]) -> None:
    print(
        f"{'size':>8} {'case':<17} {'scope':>7} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} "
        f"{'req/s':>8} {'app CPU ms':>10}"
    )
    for result in results:
        for case in CASES:
            if case not in result.cases:
                continue
            row = result.cases[case]
            scope = f"{row['scope']:,}" if row["scope"] else "-"
            if "error" in row:
                print(f"{result.size:>8,} {case:<17} {scope:>7} FAILED: {row['error'][:80]}")
                continue
            cpu = "-" if row["app_cpu_ms"] is None else f"{row['app_cpu_ms']:.1f}"
            print(
                f"{result.size:>8,} {case:<17} {scope:>7} {row['p50_ms']:>8.1f} "
                f"{row['p95_ms']:>8.1f} {row['mean_ms']:>8.1f} {row['req_per_s']:>8.1f} "
                f"{cpu:>10}"
            )
        print(
            f"{'':>8} seed: {result.units} units, {result.seed_rate} participants/s "
            f"({result.seed_seconds:.1f} s for the whole command); "
            f"load average {result.load_average[0]}"
        )
        print(f"{'':>8} rows: " + ", ".join(f"{t} {n:,}" for t, n in result.rows.items()))
        print(
            f"{'':>8} programme ends of the measured unit by year: "
            + ", ".join(f"{y}: {n:,}" for y, n in sorted(result.outcome_years))
        )
    print()
    for goal in goals:
        print(f"  [{'met' if goal['met'] else 'MISSED'}] {goal['target']}: {goal['value']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL")
    parser.add_argument("--unit-size", type=int, default=NAME_SEARCH_SCOPE)
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="run ANALYZE on the SQLite database after seeding (the app never does)",
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench/out/participants.json")
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated cases to time (default: all)"
    )
    parser.add_argument("--follow-ups", type=int, default=5, help="follow-ups per participant")
    parser.add_argument(
        "--attendance-weeks", type=int, default=8, help="weeks of attendance in the seed"
    )
    parser.add_argument(
        "--export-repeats", type=int, default=3, help="timed XLSX exports (after one warm-up)"
    )
    parser.add_argument(
        "--pg-option",
        action="append",
        default=[],
        help="a PostgreSQL setting for the served app's sessions, e.g. jit=off (repeatable)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep each seeded database and its instance in KEEP/size-N, and reuse them when "
        "there: seed once, measure again later (drop the schema and folder by hand)",
    )
    args = parser.parse_args()
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    if not sizes or min(sizes) < 1 or not 1 <= args.requests <= 100_000:
        parser.error("sizes must be positive and requests between 1 and 100000")
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")

    results = []
    for size in sizes:
        print(f"size {size:,}: seeding and serving ...", file=sys.stderr, flush=True)
        results.append(bench_size(size, args))
    goals = targets(results)
    print_report(results, goals)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "database": results[0].database,
                "requests_per_case": args.requests,
                "sqlite_analyze": args.sqlite_analyze,
                "pg_options": args.pg_option,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "sizes": [result.__dict__ for result in results],
                "targets": goals,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nwritten to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
