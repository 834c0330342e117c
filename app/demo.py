"""`veiviser demo`: a complete local installation on SQLite with made-up data, in one command."""

from __future__ import annotations

import random
import secrets
import textwrap
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import run_simple

from app.config import instance_path


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    unit: str


DEMO_UNITS = (
    ("Flyktningtjenesten", "refugee_service"),
    ("Voksenopplæringen", "adult_learning"),
    ("NAV Sentrum", "nav"),
    # A second refugee service whose participants no demo user sees: scoping at work.
    ("Flyktningtjenesten Øst", "refugee_service"),
)

DEMO_USERS = (
    DemoUser("advisor@demo.veiviser.no", "Ingrid Haugen", "advisor", "Flyktningtjenesten"),
    DemoUser("advisor2@demo.veiviser.no", "Amir Haddad", "advisor", "Flyktningtjenesten"),
    DemoUser("teacher@demo.veiviser.no", "Lars Berg", "teacher", "Voksenopplæringen"),
    DemoUser("leader@demo.veiviser.no", "Sofie Lund", "leader", "Flyktningtjenesten"),
    DemoUser("admin@demo.veiviser.no", "Per Olsen", "admin", "Flyktningtjenesten"),
    DemoUser("partner@demo.veiviser.no", "Nora Dahl", "partner", "NAV Sentrum"),
)


# Made-up participants: (unit, primary advisor's e-mail or None, how many). The same
# random seed every time, so a reset demo shows the same people.
DEMO_PARTICIPANTS = (
    ("Flyktningtjenesten", "advisor@demo.veiviser.no", 28),
    ("Flyktningtjenesten", "advisor2@demo.veiviser.no", 26),
    ("Flyktningtjenesten Øst", None, 6),
)
DEMO_MUNICIPALITY = "Lillestrøm"
DEMO_RANDOM_SEED = 2026


def ensure_instance(folder: Path) -> list[str]:
    """Create instance/config.py (random secret key) and a 0600 master key if missing."""
    from models.crypto import write_master_key_file

    made = []
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.py"
    if not config.exists():
        config.write_text(
            textwrap.dedent(
                f'''\
                # Written by `veiviser demo`. Local settings for this installation; never commit.
                SECRET_KEY = "{secrets.token_urlsafe(48)}"
                DEPLOYMENT_ID = "demo-{secrets.token_hex(4)}"
                '''
            ),
            encoding="utf-8",
        )
        config.chmod(0o600)
        made.append(str(config))
    key_file = folder / "master.key"
    if not key_file.exists():
        write_master_key_file(key_file)
        made.append(str(key_file))
    return made


def seed(app: Flask, password: str | None) -> dict[str, str]:
    """Create the demo units and one user per role (kept if present); returns the logins.

    Demo users get a fresh password every run (the given one, or new random ones),
    so the logins printed are always the ones that work.
    """
    from app.database import db
    from models import sessions as server_sessions
    from models.accounts import Membership, Role, Unit, UnitKind, User, hash_password
    from models.admin import create_unit
    from models.policy import Actor

    session = db()
    actor = Actor.system()
    units: dict[str, Unit] = {}
    for name, kind in DEMO_UNITS:
        unit = session.scalar(select(Unit).where(Unit.name == name))
        units[name] = unit or create_unit(session, actor, name, UnitKind(kind))
    logins = {}
    for demo_user in DEMO_USERS:
        chosen = password or secrets.token_urlsafe(12)
        user = session.scalar(select(User).where(User.email == demo_user.email))
        if user is None:
            user = User(email=demo_user.email, display_name=demo_user.name, password_hash="")
            session.add(user)
            session.flush()
            actor.record(session, "user.create", None, object_type="user", object_ref=user.ref)
        user.password_hash = hash_password(chosen)
        user.is_active = True
        server_sessions.end_all_for_user(session, user.id)
        unit = units[demo_user.unit]
        role = Role(demo_user.role)
        if not any(m.unit_id == unit.id and m.role is role for m in user.memberships):
            user.memberships.append(Membership(unit=unit, unit_id=unit.id, role=role))
        logins[demo_user.email] = chosen
    session.commit()
    return logins


def load_participants() -> int:
    """Load the made-up participants, only into a database that has none; returns how many.

    Every sixth one also gets the other demo advisor as secondary advisor, so shared
    caseloads show too.
    """
    from app.database import db
    from app.seed import Assignment, ParticipantWriter, PersonFactory
    from app.seed import load_participants as load
    from models.accounts import Unit, User
    from models.base import local_today
    from models.participants import Participant
    from models.policy import Actor

    session = db()
    if session.scalar(select(Participant.id).limit(1)) is not None:
        return 0
    units = {u.name: u.id for u in session.scalars(select(Unit))}
    advisors = {
        u.email: u.id
        for u in session.scalars(select(User).where(User.email.like("advisor%@demo.veiviser.no")))
    }
    plan: list[tuple[Assignment, str | None]] = []
    for unit, email, count in DEMO_PARTICIPANTS:
        primary = advisors[email] if email else None
        others = [a for a in advisors.values() if a != primary] if primary else []
        for i in range(count):
            secondary = others[0] if others and i % 6 == 5 else None
            plan.append((Assignment(units[unit], primary, secondary), DEMO_MUNICIPALITY))
    today = local_today()
    rng = random.Random(DEMO_RANDOM_SEED)  # noqa: S311 - made-up data, not secrets
    written = load(ParticipantWriter(session, today), PersonFactory(rng, today), plan)
    Actor.system().record(
        session,
        "seed",
        None,
        object_type="participant",
        field_categories=(f"participants:{written}",),
    )
    session.commit()
    return written


@click.command(
    "demo",
    help=(
        "Set up a local demo on SQLite (instance/ folder, keys, schema, demo units, one user "
        "per role and made-up participants), print the logins and serve it. Running it again "
        "keeps the data."
    ),
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--password", default=None, help="Give every demo user this password.")
@click.option("--reset", is_flag=True, help="Delete the demo database and start over.")
@click.option("--no-serve", is_flag=True, hidden=True, help="Set up and print, but do not serve.")
def demo(host: str, port: int, password: str | None, reset: bool, no_serve: bool) -> None:
    from app import create_app
    from app.database import db, services
    from app.demo_casework import load_casework, load_endings
    from app.demo_language import load_language
    from app.demo_services import load_services
    from app.migrate import bootstrap, upgrade
    from models.base import local_today

    folder = Path(instance_path())
    made = ensure_instance(folder)
    for path in made:
        click.echo(f"Created {path}")
    if reset:
        for suffix in ("", "-wal", "-shm"):
            (folder / f"veiviser.db{suffix}").unlink(missing_ok=True)
        click.echo("Deleted the demo database; starting over.")

    app = create_app(
        {
            "DEMO": True,
            "REQUIRE_MFA": False,
            "SESSION_COOKIE_SECURE": False,
            # The made-up participants carry Skatteetaten's synthetic ID numbers.
            "ALLOW_SYNTHETIC_IDS": True,
        }
    )
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        raise click.ClickException(
            "`veiviser demo` runs on SQLite only; unset VEIVISER_DATABASE_URL."
        )
    with app.app_context():
        upgrade(services().engine)
        bootstrap(db(), services().keyring)
        db().commit()
        logins = seed(app, password)
        loaded = load_participants()
        today = local_today()
        stories = load_casework(db(), today) if loaded else 0
        ended = load_endings(db(), today) if loaded else 0
        enrolled = load_language(db(), today) if loaded else 0
        served = load_services(db(), today) if loaded else 0
        db().commit()

    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only compared
    url = f"http://{shown_host}:{port}/login"
    width = max(len(e) for e in logins) + 2
    click.echo("")
    click.secho(
        "WARNING: demo mode. Two-step login (MFA) is OFF and the data is made up.",
        fg="yellow",
        bold=True,
    )
    click.echo("Never put real personal data into a demo installation.")
    if loaded:
        click.echo(f"Loaded {loaded} made-up participants with synthetic ID numbers.")
    if stories:
        click.echo(f"Wrote plans, follow-ups, tasks and decisions for {stories} of them.")
    if ended:
        click.echo(f"Ended the programme of {ended} more, for the outcome figures.")
    if enrolled:
        click.echo(f"Enrolled {enrolled} of them in a language class with attendance.")
    if served:
        click.echo(f"Recorded housing and work placements for {served} of them.")
    click.echo("")
    click.secho(f"Veiviser demo: open {url}", bold=True)
    click.echo("Demo logins (e-mail / password):")
    for demo_user in DEMO_USERS:
        click.echo(f"  {demo_user.role:<8} {demo_user.email:<{width}} {logins[demo_user.email]}")
    click.echo("")
    if no_serve:
        return
    # Not app.run(): Flask ignores that inside its own CLI, and the demo must serve.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
