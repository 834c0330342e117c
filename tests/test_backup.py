"""`veiviser backup` / `veiviser restore` and the restore drill (issue 8 item 4).

Runs on the test run's database kind: SQLite files by default, fresh PostgreSQL
databases (created and dropped here) when VEIVISER_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.cli import cli
from app.database import services
from models import backup as bk
from models import keys
from models.audit import AuditChainHead, AuditEvent
from models.crypto import DataKey, KeyStatus, envelope_header
from models.participants import Participant
from tests.conftest import PASSWORD, TEST_DATABASE_URL, build_app, config_for


def invoke(app: Flask, args: list[str], input: str | None = None) -> Any:
    return CliRunner().invoke(cli, args, input=input, obj=ScriptInfo(create_app=lambda: app))


def _new_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Databases:
    """Makes empty databases of the run's kind and removes them at the end."""

    folder: Path
    drops: list[Callable[[], None]]

    def fresh(self, label: str) -> str:
        name = f"drill_{label}_{secrets.token_hex(4)}"
        if not TEST_DATABASE_URL:
            return f"sqlite:///{self.folder / (name + '.db')}"
        admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        self.drops.append(drop)
        base = make_url(TEST_DATABASE_URL)
        # The run's search_path option points into another database's schema: drop it.
        query = {k: v for k, v in base.query.items() if k != "options"}
        return base.set(database=name, query=query).render_as_string(hide_password=False)


@dataclass
class Source:
    app: Flask
    master_key: str
    backup: Path
    manifest: dict[str, Any]
    counts: dict[str, int]
    # key id -> (participant ref, given name): a value sealed under each field key
    samples: dict[int, tuple[str, str]]
    key_ids: list[int]
    audit_seq: int


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(tmp_path_factory.mktemp("drill"), [])
    yield found
    for drop in found.drops:
        drop()


def _seed(app: Flask, participants: int, seed: int, *work: str) -> None:
    result = invoke(
        app,
        [
            "seed",
            "--participants",
            str(participants),
            *work,
            "--seed",
            str(seed),
            "--password-stdin",
            "--json",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output


def _counts(app: Flask) -> dict[str, int]:
    with services(app).engine.connect() as conn:
        return bk.row_counts(conn)


@pytest.fixture(scope="module")
def source(instance_dir: Path, databases: Databases) -> Iterator[Source]:
    """A seeded database whose values use two field keys, and a backup of it."""
    master_key = _new_master_key()
    app = build_app(databases.fresh("src"), MASTER_KEY=master_key)
    svc = services(app)
    # Plans and follow-ups go to everyone present, so only the first batch asks for them.
    _seed(app, 150, 1, "--plans", "--follow-ups", "1")
    with app.app_context(), svc.session_factory() as session:
        # A rotation left unfinished: old values keep the retiring key, new ones the new key.
        plan = keys.start_or_resume(session, svc.keyring)
        session.commit()
    _seed(app, 100, 2)

    samples: dict[int, tuple[str, str]] = {}
    with app.app_context(), svc.session_factory() as session:
        for participant in session.scalars(select(Participant).order_by(Participant.id)):
            key_id = envelope_header(participant.given_name_sealed or b"")[1]
            if key_id not in samples:
                samples[key_id] = (participant.ref, participant.given_name)
        key_ids = sorted(session.scalars(select(DataKey.id)))
        head = session.get(AuditChainHead, 1)
        assert head is not None
        audit_seq = head.seq
    assert set(samples) == {plan.active_key_id, *plan.retiring_key_ids}

    counts = _counts(app)
    path = databases.folder / f"backup-{secrets.token_hex(4)}.vbak"
    result = invoke(app, ["backup", "--output", str(path)])
    assert result.exit_code == 0, result.output
    manifest = bk.read_header(path).manifest
    yield Source(
        app,
        master_key,
        path,
        manifest,
        counts,
        samples,
        key_ids,
        audit_seq,
    )
    svc.engine.dispose()


def _target(databases: Databases, master_key: str) -> Flask:
    """An app on a new, empty database (no migrations run)."""
    return create_app(config_for(databases.fresh("dst"), MASTER_KEY=master_key))


@pytest.fixture(scope="module")
def empty_target(source: Source, databases: Databases) -> Iterator[Flask]:
    """One empty database for the refusals: each test checks it is still empty after."""
    target = _target(databases, source.master_key)
    yield target
    services(target).engine.dispose()


def _is_empty(app: Flask) -> bool:
    url = app.config["DATABASE_URL"]
    if not TEST_DATABASE_URL and not bk.sqlite_path(url).exists():
        return True
    with services(app).engine.connect() as conn:
        return bk.is_empty(conn)


def test_restore_drill(source: Source, databases: Databases) -> None:
    """Back up a seeded database (two field keys in use), restore it into a fresh one,
    migrate, verify the audit chain, open a value of every key id, compare counts."""
    target = _target(databases, source.master_key)
    result = invoke(target, ["restore", str(source.backup), "--yes", "--upgrade"])
    assert result.exit_code == 0, result.output
    assert "Audit log intact" in result.output

    assert f"{source.audit_seq} events verified" in result.output
    verified = invoke(target, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    # The restore put itself on the record, extending the restored chain by one event.
    assert f"{source.audit_seq + 1} events verified" in verified.output

    manifest = source.manifest
    assert manifest["row_counts"] == source.counts
    restored = _counts(target)
    assert restored == source.counts | {"audit_events": source.counts["audit_events"] + 1}
    assert source.counts["participants"] == 250
    assert source.counts["follow_ups"] > 0 and source.counts["plans"] > 0
    assert [k["id"] for k in manifest["data_keys"]] == source.key_ids
    assert manifest["audit_head"]["seq"] == source.audit_seq
    # ... and so did the backup, in the source, after its snapshot.
    with services(source.app).engine.connect() as conn:
        last = conn.execute(text("SELECT action FROM audit_events ORDER BY seq DESC")).first()
    assert last is not None and last[0] == "backup.create"

    svc = services(target)
    with target.app_context(), svc.session_factory() as session:
        for key_id, (ref, given_name) in source.samples.items():
            participant = session.scalar(select(Participant).where(Participant.ref == ref))
            assert participant is not None
            assert envelope_header(participant.given_name_sealed or b"")[1] == key_id
            assert participant.given_name == given_name
        report = keys.verify_all(session)
        assert report.failed == 0
        assert set(report.by_key) == set(source.samples)
        restored_event = session.scalar(
            select(AuditEvent).where(AuditEvent.seq == source.audit_seq)
        )
        assert restored_event is not None
    svc.engine.dispose()


def test_backup_file_is_private_and_its_manifest_readable_without_the_key(
    source: Source,
) -> None:
    assert stat.S_IMODE(os.stat(source.backup).st_mode) == 0o600
    manifest = source.manifest
    assert manifest["database"] == ("postgresql" if TEST_DATABASE_URL else "sqlite")
    assert manifest["schema_revision"]
    assert len(manifest["dump_sha256"]) == 64
    statuses = {k["id"]: k["status"] for k in manifest["data_keys"]}
    assert KeyStatus.RETIRING.value in statuses.values()

    def no_app() -> Flask:
        raise AssertionError("--inspect must not need a configured app")

    result = CliRunner().invoke(
        cli, ["restore", "--inspect", str(source.backup)], obj=ScriptInfo(create_app=no_app)
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["row_counts"] == source.counts
    assert "wrapped_backup_key" not in shown
    raw = base64.b64decode(source.master_key)
    assert raw not in source.backup.read_bytes()
    assert source.master_key not in result.output


def test_another_master_key_is_refused_and_nothing_written(
    source: Source, empty_target: Flask
) -> None:
    target = create_app(
        config_for(empty_target.config["DATABASE_URL"], MASTER_KEY=_new_master_key())
    )
    result = invoke(target, ["restore", str(source.backup), "--yes"])
    assert result.exit_code == 1
    expected = source.manifest["master_key_fingerprint"]
    assert f"this backup was made with another master key (fingerprint {expected})" in (
        result.output
    )
    assert _is_empty(target)
    assert source.master_key not in result.output
    services(target).engine.dispose()


def test_non_empty_target_is_refused(source: Source) -> None:
    before = _counts(source.app)
    result = invoke(source.app, ["restore", str(source.backup), "--yes"])
    assert result.exit_code == 1
    assert "is not empty" in result.output
    assert _counts(source.app) == before


def _manifest_digit(data: bytearray) -> int:
    # A digit inside the created_at value: the manifest stays valid JSON, only altered.
    start = data.index(b'"created_at": "') + len(b'"created_at": "')
    return start + 3


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("body", "damaged or was tampered with"),
        ("manifest_value", "damaged or was tampered with"),
        ("manifest_syntax", "manifest is damaged"),
        ("truncated", "truncated"),
        ("not_a_backup", "not a Veiviser backup file"),
    ],
)
def test_damaged_or_altered_file_is_refused(
    source: Source, databases: Databases, empty_target: Flask, damage: str, message: str
) -> None:
    data = bytearray(source.backup.read_bytes())
    header = bk.read_header(source.backup)
    if damage == "body":
        data[(header.body_offset + len(data)) // 2] ^= 0x01
    elif damage == "manifest_value":
        spot = _manifest_digit(data)
        data[spot] = ord("0") + (data[spot] - ord("0") + 1) % 10
    elif damage == "manifest_syntax":
        data[len(bk.MAGIC) + 4] ^= 0xFF  # the manifest's opening brace
    elif damage == "truncated":
        del data[-10:]
    else:
        data[:4] = b"PGDM"
    altered = databases.folder / f"altered-{secrets.token_hex(4)}.vbak"
    altered.write_bytes(bytes(data))
    result = invoke(empty_target, ["restore", str(altered), "--yes"])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert _is_empty(empty_target)
    leftovers = [p.name for p in databases.folder.iterdir() if ".restore" in p.name]
    assert leftovers == []


def test_backup_refuses_to_overwrite(source: Source) -> None:
    before = source.backup.read_bytes()
    result = invoke(source.app, ["backup", "--output", str(source.backup)])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert source.backup.read_bytes() == before


def test_missing_pg_tools_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(bk.BackupError, match="pg_dump was not found: install"):
        bk.pg_tool("pg_dump")


def test_postgresql_password_travels_in_the_environment_only() -> None:
    env = bk._pg_env(
        make_url("postgresql+psycopg://vv:s3cret@db.example:5433/veiviser?sslmode=require")
    )
    assert env["PGPASSWORD"] == "s3cret"
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("db.example", "5433", "vv")
    assert (env["PGDATABASE"], env["PGSSLMODE"]) == ("veiviser", "require")
