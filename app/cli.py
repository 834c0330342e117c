"""The `veiviser` command: Flask's CLI group over `create_app()` plus Veiviser's own commands.

Every command here is registered on the group itself, so `veiviser --help`
and `veiviser demo` work before the installation has any configuration; the
same commands are added to `app.cli`, so `flask --app app …` offers them too.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from app.backup import backup_command, restore_command
from app.database import db, services
from app.seed import seed_command
from app.serve import serve
from models.accounts import Role, UnitKind


def _create_app() -> Flask:
    from app import ConfigurationError, create_app

    try:
        return create_app()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


class VeiviserGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # Listing must not need a configured app: on a fresh machine `--help` still works.
        return sorted(self.commands)


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _domain_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Print a domain error's message (English) and exit 1, instead of a traceback."""
    from functools import wraps

    from models.errors import DomainError

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            db().rollback()
            raise click.ClickException(str(exc)) from exc

    return wrapper


# -- db ----------------------------------------------------------------------


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command(
    "upgrade", help="Migrate the database to the newest schema and create missing keys."
)
@with_appcontext
def db_upgrade() -> None:
    from app.migrate import bootstrap, current_revision, upgrade

    svc = services()
    upgrade(svc.engine)
    created = bootstrap(db(), svc.keyring)
    db().commit()
    click.echo(f"Database at revision {current_revision(svc.engine)}.")
    for purpose in created:
        click.echo(f"Created the {purpose.value} data key.")


# -- units and users -----------------------------------------------------------


@click.group(
    "unit", help="Units (services) such as the refugee service or the adult learning centre."
)
def unit_group() -> None:
    pass


@unit_group.command("create", help="Create a unit.")
@click.option("--name", required=True, help="The unit's name, unique.")
@click.option(
    "--kind",
    type=click.Choice([kind.value for kind in UnitKind]),
    default="other",
    show_default=True,
    help="What kind of service the unit is.",
)
@with_appcontext
@_domain_errors
def unit_create(name: str, kind: str) -> None:
    from models.admin import create_unit
    from models.policy import Actor

    unit = create_unit(db(), Actor.system(), name, UnitKind(kind))
    db().commit()
    click.echo(f"Created unit {unit.id}: {unit.name}")


@click.group("user", help="User accounts.")
def user_group() -> None:
    pass


@user_group.command("create", help="Create a user with one role in one unit.")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="The role in the unit.",
)
@click.option("--unit", "unit_name", required=True, help="The unit's name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of prompting.",
)
@with_appcontext
@_domain_errors
def user_create(email: str, name: str, role: str, unit_name: str, password_stdin: bool) -> None:
    from models.accounts import find_unit_by_name
    from models.admin import create_user
    from models.policy import Actor

    unit = find_unit_by_name(db(), unit_name)
    if unit is None:
        _fail(f"No unit named {unit_name!r}. Create it with `veiviser unit create`.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(
        db(),
        Actor.system(),
        email=email,
        display_name=name,
        password=password,
        unit=unit,
        role=Role(role),
    )
    db().commit()
    click.echo(f"Created user {user.email} ({role} in {unit.name if unit else ''}).")


def _user_by_email(email: str) -> Any:
    from sqlalchemy import select

    from models.accounts import User, normalise_email

    user = db().scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        _fail(f"No user with e-mail {email!r}.")
    return user


@user_group.command("disable", help="Disable a user and end all their sessions.")
@click.option("--email", required=True)
@with_appcontext
@_domain_errors
def user_disable(email: str) -> None:
    from models.admin import set_user_active
    from models.policy import Actor

    user = _user_by_email(email)
    set_user_active(db(), Actor.system(), user, False)
    db().commit()
    click.echo(f"Disabled {user.email}; their sessions have ended.")


@user_group.command(
    "reset-mfa", help="Remove a user's authenticator (lost phone); they enrol again."
)
@click.option("--email", required=True)
@with_appcontext
@_domain_errors
def user_reset_mfa(email: str) -> None:
    from models.admin import reset_mfa
    from models.policy import Actor

    user = _user_by_email(email)
    reset_mfa(db(), Actor.system(), user)
    db().commit()
    click.echo(f"Two-step login reset for {user.email}.")


# -- keys --------------------------------------------------------------------


@click.group("keys", help="Encryption keys.")
def keys_group() -> None:
    pass


@keys_group.command(
    "rotate",
    help=(
        "Start using a new field-encryption key and re-encrypt every value with it, in "
        "batches. Interrupted? Run it again: it resumes. The old key is retired only when "
        "no value uses it."
    ),
)
@click.option("--verify", is_flag=True, help="Afterwards, decrypt every value and report.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def keys_rotate(verify: bool, batch_size: int) -> None:
    from models import keys
    from models.policy import Actor

    session = db()
    keyring = services().keyring
    plan = keys.start_or_resume(session, keyring)
    Actor.system().record(
        session, "keys.rotate", None, object_type="data_key", object_ref=str(plan.active_key_id)
    )
    session.commit()
    if plan.started_new_key:
        click.echo(f"New field key {plan.active_key_id} is active for writes.")
    else:
        click.echo(f"Resuming the rotation to key {plan.active_key_id}.")

    def reencrypt_pending() -> int:
        done = 0
        for _attempt in range(5):
            pending = keys.pending_count(session, plan.retiring_key_ids)
            if pending == 0:
                break
            with click.progressbar(length=pending, label="Re-encrypting", file=sys.stderr) as bar:
                done += keys.reencrypt(session, plan.retiring_key_ids, batch_size, bar.update)
        return done

    started = time.monotonic()
    done = reencrypt_pending()
    took = max(time.monotonic() - started, 1e-9)
    click.echo(f"Re-encrypted {done} values in {took:.1f} s ({done / took:.0f} values/s).")
    # Other processes may still write with the old key until their cached active key
    # expires and their running requests end: erase it only after that, and after
    # re-sealing whatever they wrote meanwhile.
    grace = float(current_app.config["ACTIVE_KEY_TTL_SECONDS"]) + float(
        current_app.config["KEY_RETIRE_GRACE_SECONDS"]
    )
    wait = keys.seconds_until_retirable(session, plan, grace)
    session.commit()
    if wait > 0:
        click.echo(f"Waiting {wait:.0f} s until every process writes with the new key.")
        time.sleep(wait)
    reencrypt_pending()
    retired = keys.retire_unused(session, plan.retiring_key_ids)
    session.commit()
    if retired:
        click.echo("Retired key(s): " + ", ".join(str(k) for k in retired))
    remaining = keys.pending_count(session, plan.retiring_key_ids)
    if remaining:
        _fail(f"{remaining} values still use the old key; run the command again.")
    if verify:
        report = keys.verify_all(session, batch_size)
        detail = ", ".join(f"key {k}: {n}" for k, n in sorted(report.by_key.items())) or "none"
        click.echo(f"Verified {report.checked} values ({detail}); {report.failed} failed.")
        if report.failed:
            sys.exit(1)


@keys_group.command(
    "rewrap",
    help=(
        "Master-key rotation: wrap every data key under the master key in NEW_KEY_FILE. "
        "Then point VEIVISER_MASTER_KEY_FILE at it and restart every process."
    ),
)
@click.argument("new_key_file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def keys_rewrap(new_key_file: str) -> None:
    from models.crypto import load_master_key
    from models.policy import Actor

    session = db()
    count = services().keyring.rewrap_all(session, load_master_key(new_key_file))
    Actor.system().record(session, "keys.rewrap", None, object_type="master_key")
    session.commit()
    click.echo(f"Re-wrapped {count} data keys. Switch every process to the new master key now.")


# -- audit -------------------------------------------------------------------


@click.group("audit", help="The audit log.")
def audit_group() -> None:
    pass


@audit_group.command(
    "verify", help="Check the audit chain. Exit 0 when intact, 1 naming the first broken event."
)
@with_appcontext
def audit_verify() -> None:
    from models.audit import verify

    result = verify(db())
    if result.ok:
        click.echo(f"Audit log intact: {result.checked} events verified.")
        return
    where = f"event {result.broken_seq}" if result.broken_seq else "the chain head"
    if result.broken_event_id:
        where += f" (id {result.broken_event_id})"
    click.echo(f"Audit log BROKEN at {where}: {result.reason}.", err=True)
    sys.exit(1)


@click.group("retention", help="Retention of personal data after the programme.")
def retention_group() -> None:
    pass


@retention_group.command(
    "run",
    help=(
        "Anonymise participants whose programme ended more than the retention period ago "
        "(from the rule set, or --years). With --dry-run, only show what would happen."
    ),
)
@click.option("--dry-run", is_flag=True, help="List what would be anonymised; change nothing.")
@click.option(
    "--years",
    type=click.IntRange(1, 100),
    default=None,
    help="Override the rule set's retention period.",
)
@with_appcontext
def retention_run(dry_run: bool, years: int | None) -> None:
    from models import retention
    from models.base import local_today
    from models.policy import Actor

    today = local_today()
    chosen = retention.candidates(db(), today, years)
    if dry_run:
        click.echo(f"Dry run: {len(chosen)} participant(s) would be anonymised.")
        for c in chosen:
            click.echo(
                f"  {c.ref}  programme ended {c.programme_end_on}  "
                f"(kept {c.retention_years} years, {c.rule_set})"
            )
        return
    done = retention.run(db(), Actor.system(), today, years)
    click.echo(f"Anonymised {done} participant(s); see the deletion log.")


@click.group("sessions", help="Login sessions.")
def sessions_group() -> None:
    pass


@sessions_group.command("purge", help="Delete expired sessions (run from cron now and then).")
@with_appcontext
def sessions_purge() -> None:
    from app.security import session_timeouts
    from models import sessions
    from models.base import utcnow

    count = sessions.purge_expired(db(), utcnow(), session_timeouts(current_app))
    db().commit()
    click.echo(f"Purged {count} expired sessions.")


@click.group("exports", help="Leaders' export files.")
def exports_group() -> None:
    pass


@exports_group.command(
    "purge", help="Delete export files older than 24 hours (run from cron, e.g. hourly)."
)
@with_appcontext
def exports_purge() -> None:
    from models import exports
    from models.base import utcnow

    count = exports.purge_expired(db(), utcnow())
    db().commit()
    click.echo(f"Purged {count} expired export files.")


@click.group("deadlines", help="Deadlines of the participants.")
def deadlines_group() -> None:
    pass


@deadlines_group.command(
    "refresh",
    help=(
        "Recompute the stored next deadline where it has passed (an appeal period that ran "
        "out, say), so the caseload sorts right. Run daily from cron."
    ),
)
@with_appcontext
def deadlines_refresh() -> None:
    from models import deadlines
    from models.base import local_today

    seen = deadlines.refresh_passed(db(), local_today())
    click.echo(f"Looked at {seen} participant(s) with a passed deadline.")


COMMANDS: list[click.Command] = [
    db_group,
    unit_group,
    user_group,
    retention_group,
    deadlines_group,
    keys_group,
    audit_group,
    sessions_group,
    exports_group,
    seed_command,
    backup_command,
    restore_command,
    serve,
]


def register(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def _build_group() -> VeiviserGroup:
    from app.demo import demo

    group = VeiviserGroup(
        create_app=_create_app,
        help="Veiviser: case follow-up for newcomers' individual plans.",
        add_version_option=False,
        load_dotenv=False,
        set_debug_flag=False,
    )
    for command in [*COMMANDS, demo]:
        group.add_command(command)
    return group


cli = _build_group()


def main() -> None:
    cli.main()
