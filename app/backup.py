"""`veiviser backup` and `veiviser restore`: encrypted snapshots of the configured database.

The file format and the database work live in models/backup.py; this module
reads the configuration (database URL, master key, deployment id) and talks to
the operator.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext

from app.database import services
from models import backup as bk
from models.base import utcnow
from models.crypto import KeyMaterialError, load_master_key


def _master_key(app: Flask) -> bytes:
    try:
        return load_master_key(app.config["MASTER_KEY_FILE"], app.config["MASTER_KEY"])
    except KeyMaterialError as exc:
        raise click.ClickException(str(exc)) from exc


def _where(url: str) -> str:
    """The target database named for the operator, without any password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command(
    "backup",
    help=(
        "Write an encrypted, consistent snapshot of the database to FILE (mode 0600): "
        "pg_dump on PostgreSQL, SQLite's online backup on SQLite. The file carries a "
        "readable manifest (schema revision, key ids, audit-chain head, row counts)."
    ),
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The backup file to create; it must not exist yet.",
)
@with_appcontext
def backup_command(output: Path) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config["DATABASE_URL"]
    master_key = _master_key(app)
    output = output.resolve()
    if output.exists():
        raise click.ClickException(f"{output} already exists; choose another file name")
    try:
        # The clear dump is kept next to the output (same disk, space for both) in a
        # private directory, and removed whatever happens.
        with tempfile.TemporaryDirectory(prefix=".veiviser-backup-", dir=output.parent) as tmp:
            dump = Path(tmp) / "dump"
            facts = bk.snapshot(
                services(app).engine, url, dump, bk.master_key_fingerprint(master_key)
            )
            facts["deployment_id"] = app.config["DEPLOYMENT_ID"]
            created = utcnow().isoformat(timespec="seconds")
            manifest = bk.write_backup(dump, output, facts, master_key, created)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    # Taking a copy of everyone's data is itself on the record (after the snapshot, so
    # the copy's own chain ends just before it).
    if manifest["audit_head"] is not None:  # else never migrated: nothing to record into
        _record(app, "backup.create", manifest)
    rows = sum(manifest["row_counts"].values())
    click.echo(
        f"Backup written to {output}: schema {manifest['schema_revision']}, "
        f"{len(manifest['row_counts'])} tables, {rows} rows, "
        f"audit chain at event {(manifest['audit_head'] or {}).get('seq', 0)}."
    )


def _record(app: Flask, action: str, manifest: dict[str, Any]) -> None:
    from models.policy import Actor

    with services(app).session_factory() as session:
        Actor.system().record(
            session,
            action,
            None,
            object_type="backup",
            object_ref=str(manifest["dump_sha256"])[:16],
        )
        session.commit()


def _shown_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k != "wrapped_backup_key"}


def _load_app(ctx: click.Context) -> Flask:
    if current_app:
        return current_app._get_current_object()  # type: ignore[attr-defined, no-any-return]
    app = ctx.ensure_object(ScriptInfo).load_app()
    ctx.with_resource(app.app_context())
    return app


def _target_is_empty(app: Flask) -> bool:
    url = app.config["DATABASE_URL"]
    if bk.database_kind(url) == "sqlite" and not bk.sqlite_path(url).exists():
        return True
    with services(app).engine.connect() as conn:
        return bk.is_empty(conn)


def _restore_sqlite(app: Flask, path: Path, header: bk.BackupHeader, master_key: bytes) -> None:
    target = bk.sqlite_path(app.config["DATABASE_URL"]).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restore", dir=target.parent)
    partial = Path(name)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            bk.decrypt_backup(path, header, master_key, out)
            out.flush()
            os.fsync(out.fileno())
        # The old (empty) file may still be open in the pool; its WAL belongs to it.
        services(app).engine.dispose()
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    services(app).engine.dispose()


def _restore_postgresql(app: Flask, path: Path, header: bk.BackupHeader, master_key: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="veiviser-restore-") as tmp:
        dump = Path(tmp) / "dump"
        with dump.open("wb") as out:
            os.chmod(dump, 0o600)
            bk.decrypt_backup(path, header, master_key, out)
        major = header.manifest.get("pg_dump_major")
        bk.pg_restore(
            services(app).engine,
            app.config["DATABASE_URL"],
            dump,
            int(major) if major is not None else None,
        )
    services(app).engine.dispose()


def _upgrade_and_verify(app: Flask) -> None:
    from app.migrate import bootstrap, current_revision, upgrade
    from models.audit import verify

    svc = services(app)
    upgrade(svc.engine)
    with svc.session_factory() as session:
        bootstrap(session, svc.keyring)
        session.commit()
        result = verify(session)
    click.echo(f"Database at revision {current_revision(svc.engine)}.")
    if not result.ok:
        raise click.ClickException(f"Audit log BROKEN after the restore: {result.reason}.")
    click.echo(f"Audit log intact: {result.checked} events verified.")


@click.command(
    "restore",
    help=(
        "Restore the backup FILE into the configured database, which must be empty. "
        "Refuses a backup made under another master key, and any damaged or altered file. "
        "With --inspect, only print the file's manifest."
    ),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--inspect", is_flag=True, help="Print the manifest (unverified) and stop.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--upgrade",
    "run_upgrade",
    is_flag=True,
    help="Afterwards run `db upgrade` and `audit verify`.",
)
@click.pass_context
def restore_command(
    ctx: click.Context, file: Path, inspect: bool, yes: bool, run_upgrade: bool
) -> None:
    try:
        header = bk.read_header(file)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if inspect:
        # Readable without the key on purpose; authenticity is checked by a restore.
        click.echo(json.dumps(_shown_manifest(header.manifest), indent=2, sort_keys=True))
        return

    app = _load_app(ctx)
    url = app.config["DATABASE_URL"]
    master_key = _master_key(app)
    manifest = header.manifest
    try:
        kind = bk.database_kind(url)
        if manifest.get("database") != kind:
            raise bk.BackupError(
                f"this is a {manifest.get('database')} backup; the configured database is {kind}"
            )
        if manifest.get("deployment_id") != app.config["DEPLOYMENT_ID"]:
            raise bk.BackupError(
                "this backup belongs to another deployment id; its encrypted values "
                "would not open here (set VEIVISER_DEPLOYMENT_ID as the backup's manifest says)"
            )
        bk.unwrap_backup_key(header, master_key)
        if not _target_is_empty(app):
            raise bk.BackupError(
                f"the database {_where(url)} is not empty; restore only into an empty database"
            )
        if not yes:
            click.confirm(f"Restore {file.name} into {_where(url)}?", abort=True)
        if kind == "sqlite":
            _restore_sqlite(app, file, header, master_key)
        else:
            _restore_postgresql(app, file, header, master_key)
        with services(app).engine.connect() as conn:
            restored = bk.row_counts(conn)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc

    expected: dict[str, int] = manifest.get("row_counts", {})
    for name, count in sorted(expected.items()):
        if count:
            click.echo(f"  {name}: {count}")
    if restored != expected:
        differ = sorted(
            n for n in set(restored) | set(expected) if restored.get(n) != expected.get(n)
        )
        raise click.ClickException(
            "the restored row counts differ from the manifest in: " + ", ".join(differ)
        )
    click.echo(
        f"Restored {sum(expected.values())} rows in {len(expected)} tables "
        f"(counts match the manifest; empty tables not listed)."
    )
    if run_upgrade:
        _upgrade_and_verify(app)
        # Only on a migrated, verified database: the event extends the restored chain.
        _record(app, "backup.restore", manifest)
    else:
        click.echo("Now run `veiviser db upgrade` and then `veiviser audit verify`.")


COMMANDS = [backup_command, restore_command]
