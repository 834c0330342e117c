"""`veiviser demo`: a complete local installation on SQLite with made-up data, in one command."""

from __future__ import annotations

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
)

DEMO_USERS = (
    DemoUser("advisor@demo.veiviser.no", "Ingrid Haugen", "advisor", "Flyktningtjenesten"),
    DemoUser("teacher@demo.veiviser.no", "Lars Berg", "teacher", "Voksenopplæringen"),
    DemoUser("leader@demo.veiviser.no", "Sofie Lund", "leader", "Flyktningtjenesten"),
    DemoUser("admin@demo.veiviser.no", "Per Olsen", "admin", "Flyktningtjenesten"),
    DemoUser("partner@demo.veiviser.no", "Nora Dahl", "partner", "NAV Sentrum"),
)


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


@click.command(
    "demo",
    help=(
        "Set up a local demo on SQLite (instance/ folder, keys, schema, demo units and one user "
        "per role), print the logins and serve it. Running it again keeps the data."
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
    from app.migrate import bootstrap, upgrade

    folder = Path(instance_path())
    made = ensure_instance(folder)
    for path in made:
        click.echo(f"Created {path}")
    if reset:
        for suffix in ("", "-wal", "-shm"):
            (folder / f"veiviser.db{suffix}").unlink(missing_ok=True)
        click.echo("Deleted the demo database; starting over.")

    app = create_app({"DEMO": True, "REQUIRE_MFA": False, "SESSION_COOKIE_SECURE": False})
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        raise click.ClickException(
            "`veiviser demo` runs on SQLite only; unset VEIVISER_DATABASE_URL."
        )
    with app.app_context():
        upgrade(services().engine)
        bootstrap(db(), services().keyring)
        db().commit()
        logins = seed(app, password)

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
