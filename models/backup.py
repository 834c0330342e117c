"""Encrypted, self-describing backup files and the database snapshots inside them.

A backup file is::

    MAGIC (8) | manifest length (4, big-endian) | manifest (UTF-8 JSON)
    | chunk* where chunk = nonce (12) | length (4) | AES-256-GCM ciphertext+tag

The manifest (format, schema revision, data key ids, audit-chain head, row
counts, SHA-256 of the dump ...) is readable without any key, so an operator can
see what a file holds. It is authenticated all the same: every chunk's
associated data carries the manifest's SHA-256, the chunk index and a final
flag, so an edited manifest, reordered, dropped or truncated chunks all fail.

The dump is sealed under a fresh *backup key* that is wrapped by the master key;
the file never holds key material in the clear. A file made under another master
key is recognised by the master key's fingerprint (a keyed digest, not the key).

Nothing here imports Flask: `app/backup.py` wires it to the configuration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import struct
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url

from models.crypto import KEY_BYTES, NONCE_BYTES

MAGIC = b"VEIVBAK1"
FORMAT_VERSION = 1
CHUNK_BYTES = 1024 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024
_LENGTH = struct.Struct(">I")
_CHUNK_POSITION = struct.Struct(">QB")  # chunk index, final flag
_TAG_BYTES = 16
_WRAP_AAD = b"veiviser/backup-key/v1"
_CHUNK_AAD = b"veiviser/backup-chunk/v1\x00"
_FINGERPRINT_LABEL = b"veiviser/master-key-fingerprint/v1"
# libpq reads these from the environment; the password never reaches a command line.
_PG_QUERY_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "service": "PGSERVICE",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


class BackupError(RuntimeError):
    """A backup or restore cannot go on. Operator-facing; never holds data or key material."""


def master_key_fingerprint(master_key: bytes) -> str:
    """A short, stable name for a master key that reveals nothing about it."""
    return hmac.new(master_key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def database_kind(url: str | URL) -> str:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise BackupError(f"backups of {backend} databases are not supported")


def sqlite_path(url: str | URL) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


# -- what a database holds ----------------------------------------------------------


def user_tables(conn: Connection) -> list[str]:
    """Tables of the connection's default schema (where Veiviser keeps everything)."""
    return sorted(inspect(conn).get_table_names())


def row_counts(conn: Connection) -> dict[str, int]:
    return {
        name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
        for name in user_tables(conn)
    }


def is_empty(conn: Connection) -> bool:
    """No tables at all, or only an alembic_version table without rows.

    On PostgreSQL every schema counts: a dump restores all the schemas it holds.
    """
    if conn.dialect.name == "postgresql":
        names = list(
            conn.scalars(
                text(
                    "SELECT schemaname || '.' || tablename FROM pg_tables "
                    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                )
            )
        )
        if any(not name.endswith(".alembic_version") for name in names):
            return False
    tables = user_tables(conn)
    if not tables:
        return True
    if tables != ["alembic_version"]:
        return False
    return not conn.scalar(text("SELECT count(*) FROM alembic_version"))


def describe(conn: Connection, master_fingerprint: str) -> dict[str, Any]:
    """The manifest's facts about the database seen by `conn` (ids and counts, no values)."""
    tables = set(user_tables(conn))
    revision = (
        conn.scalar(text("SELECT version_num FROM alembic_version"))
        if "alembic_version" in tables
        else None
    )
    keys: list[dict[str, Any]] = []
    if "data_keys" in tables:
        for key_id, purpose, status, wrapped in conn.execute(
            text("SELECT id, purpose, status, wrapped_key IS NOT NULL FROM data_keys ORDER BY id")
        ):
            keys.append(
                {
                    "id": int(key_id),
                    "purpose": str(purpose),
                    "status": str(status),
                    # A retired key's material is erased: nothing wraps it any more.
                    "wrapped_by": f"master:{master_fingerprint}" if wrapped else None,
                }
            )
    head: dict[str, Any] | None = None
    if "audit_chain_head" in tables:
        found = conn.execute(
            text("SELECT seq, key_id, head_mac FROM audit_chain_head WHERE id = 1")
        ).first()
        if found is not None:
            head = {
                "seq": int(found[0]),
                "key_id": found[1],
                "head_mac": bytes(found[2]).hex() if found[2] is not None else None,
            }
    return {
        "schema_revision": revision,
        "data_keys": keys,
        "audit_head": head,
        "row_counts": row_counts(conn),
    }


# -- snapshots ----------------------------------------------------------------------


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[name] = str(value)
    for key, variable in _PG_QUERY_ENV.items():
        option = url.query.get(key)
        if isinstance(option, str):
            env[variable] = option
    return env


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found: install the PostgreSQL client tools of the server's "
            "version (Debian: apt-get install postgresql-client-15)"
        )
    return found


def pg_tool_major(tool: str) -> int:
    output = subprocess.run(  # noqa: S603 - fixed arguments, tool found on PATH
        [tool, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\)\s*(\d+)", output) or re.search(r"(\d+)", output)
    if match is None:
        raise BackupError(f"cannot tell the version of {tool}")
    return int(match.group(1))


def _check_tool_version(conn: Connection, tool: str) -> int:
    server = int(conn.scalar(text("SHOW server_version_num")) or 0) // 10000
    client = pg_tool_major(tool)
    if client < server:
        raise BackupError(
            f"{Path(tool).name} is version {client} but the server runs PostgreSQL {server}: "
            f"install postgresql-client-{server}"
        )
    return client


def _run_pg(arguments: list[str], url: URL, what: str) -> None:
    done = subprocess.run(  # noqa: S603 - arguments built here, no shell
        arguments, env=_pg_env(url), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        # Only the error lines: PostgreSQL's DETAIL and "Command was" lines may quote row
        # values (a duplicate key, say), and those must not reach a terminal or a log.
        errors = [
            line[:300]
            for line in done.stderr.splitlines()
            if "error:" in line.lower() or "fatal:" in line.lower()
        ]
        detail = " ".join(errors[-2:]) or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def snapshot(engine: Engine, url: str | URL, dump: Path, master_fingerprint: str) -> dict[str, Any]:
    """Write a consistent copy of the database to `dump`; return the manifest's facts.

    The facts are read from the very snapshot that is dumped: on PostgreSQL the
    snapshot is exported from a read-only repeatable-read transaction and handed
    to pg_dump; on SQLite they are read from the copy itself.
    """
    url = make_url(url)
    if database_kind(url) == "sqlite":
        source = sqlite_path(url)
        if not source.is_file():
            raise BackupError(f"the database file does not exist: {source}")
        with (
            _closing(sqlite3.connect(source)) as src,
            _closing(sqlite3.connect(dump)) as dst,
        ):
            src.backup(dst)  # one step: a read transaction, so a consistent copy
        copy = create_engine(f"sqlite:///{dump}")
        try:
            with copy.connect() as conn:
                facts = describe(conn, master_fingerprint)
        finally:
            copy.dispose()
        return facts | {"database": "sqlite"}

    pg_dump = pg_tool("pg_dump")
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            snapshot_id = conn.scalar(text("SELECT pg_export_snapshot()"))
            version = _check_tool_version(conn, pg_dump)
            facts = describe(conn, master_fingerprint)
            # The exporting transaction stays open until pg_dump has imported the snapshot.
            _run_pg(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    "--no-password",
                    f"--file={dump}",
                ],
                url,
                "pg_dump",
            )
    return facts | {"database": "postgresql", "pg_dump_major": version}


@contextmanager
def _closing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield connection
    finally:
        connection.close()


def pg_restore(engine: Engine, url: str | URL, dump: Path, dump_major: int | None) -> None:
    """Load a custom-format dump into the (empty) database, all or nothing."""
    url = make_url(url)
    tool = pg_tool("pg_restore")
    with engine.begin() as conn:
        client = _check_tool_version(conn, tool)
        if dump_major is not None and client < dump_major:
            raise BackupError(
                f"the dump was made by pg_dump {dump_major}; pg_restore {client} cannot read it"
            )
        # An empty alembic_version (from a failed first upgrade) would clash with the dump's.
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    _run_pg(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={url.database}",
            str(dump),
        ],
        url,
        "pg_restore",
    )


# -- the file -------------------------------------------------------------------


@dataclass(frozen=True)
class BackupHeader:
    manifest: dict[str, Any]
    manifest_bytes: bytes
    body_offset: int


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _chunk_aad(manifest_digest: bytes, index: int, final: bool) -> bytes:
    return _CHUNK_AAD + manifest_digest + _CHUNK_POSITION.pack(index, int(final))


def write_backup(
    dump: Path, output: Path, facts: Mapping[str, Any], master_key: bytes, created_at: str
) -> dict[str, Any]:
    """Seal `dump` into the new file `output` (mode 0600); return the manifest written.

    The file appears under its name only when complete (written aside, then renamed).
    """
    if output.exists():
        raise BackupError(f"{output} already exists; choose another file name")
    checksum, size = _sha256_file(dump)
    backup_key = secrets.token_bytes(KEY_BYTES)
    wrap_nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = wrap_nonce + AESGCM(master_key).encrypt(wrap_nonce, backup_key, _WRAP_AAD)
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "created_at": created_at,
        **facts,
        "master_key_fingerprint": master_key_fingerprint(master_key),
        "dump_sha256": checksum,
        "dump_bytes": size,
        "chunk_bytes": CHUNK_BYTES,
        "cipher": "AES-256-GCM",
        "wrapped_backup_key": base64.b64encode(wrapped).decode("ascii"),
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
    digest = hashlib.sha256(manifest_bytes).digest()
    aead = AESGCM(backup_key)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, dump.open("rb") as source:
            out.write(MAGIC + _LENGTH.pack(len(manifest_bytes)) + manifest_bytes)
            index = 0
            block = source.read(CHUNK_BYTES)
            while True:
                following = source.read(CHUNK_BYTES)
                final = not following
                nonce = secrets.token_bytes(NONCE_BYTES)
                sealed = aead.encrypt(nonce, block, _chunk_aad(digest, index, final))
                out.write(nonce + _LENGTH.pack(len(sealed)) + sealed)
                if final:
                    break
                block, index = following, index + 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def read_header(path: Path) -> BackupHeader:
    """The manifest of the backup at `path`, parsed but NOT yet authenticated."""
    try:
        with path.open("rb") as handle:
            start = handle.read(len(MAGIC) + _LENGTH.size)
            if len(start) < len(MAGIC) + _LENGTH.size or start[: len(MAGIC)] != MAGIC:
                raise BackupError(f"{path} is not a Veiviser backup file")
            (length,) = _LENGTH.unpack_from(start, len(MAGIC))
            if length > MAX_MANIFEST_BYTES:
                raise BackupError("the backup's manifest is damaged")
            manifest_bytes = handle.read(length)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from exc
    if len(manifest_bytes) != length:
        raise BackupError("the backup file is truncated")
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError("the backup's manifest is damaged") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise BackupError("the backup's manifest is damaged or of an unknown format")
    return BackupHeader(manifest, manifest_bytes, len(MAGIC) + _LENGTH.size + length)


def unwrap_backup_key(header: BackupHeader, master_key: bytes) -> bytes:
    """The backup key, or a clear error when the master key is another one."""
    mine = master_key_fingerprint(master_key)
    theirs = header.manifest.get("master_key_fingerprint")
    if theirs != mine:
        raise BackupError(
            f"this backup was made with another master key (fingerprint {theirs}); "
            f"the configured master key has fingerprint {mine}"
        )
    try:
        wrapped = base64.b64decode(str(header.manifest["wrapped_backup_key"]), validate=True)
        key = AESGCM(master_key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _WRAP_AAD)
    except (KeyError, binascii.Error, ValueError, InvalidTag) as exc:
        raise BackupError("the backup file is damaged or was tampered with") from exc
    return key


def _read_exact(handle: IO[bytes], size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise BackupError("the backup file is truncated")
    return data


def decrypt_backup(path: Path, header: BackupHeader, master_key: bytes, out: IO[bytes]) -> None:
    """Authenticate and decrypt the dump of `path` into `out`, chunk by chunk.

    Raises BackupError on any mismatch — edited manifest, altered, missing,
    reordered or extra chunks, wrong checksum. The caller must discard `out` then.
    """
    aead = AESGCM(unwrap_backup_key(header, master_key))
    digest = hashlib.sha256(header.manifest_bytes).digest()
    checksum = hashlib.sha256()
    limit = int(header.manifest.get("chunk_bytes", CHUNK_BYTES)) + _TAG_BYTES
    damaged = "the backup file is damaged or was tampered with"
    with path.open("rb") as handle:
        handle.seek(header.body_offset)
        index = 0
        while True:
            start = _read_exact(handle, NONCE_BYTES + _LENGTH.size)
            (length,) = _LENGTH.unpack_from(start, NONCE_BYTES)
            if length > limit:
                raise BackupError(damaged)
            sealed = _read_exact(handle, length)
            nonce = start[:NONCE_BYTES]
            plain = None
            for final in (False, True):
                try:
                    plain = aead.decrypt(nonce, sealed, _chunk_aad(digest, index, final))
                except InvalidTag:
                    continue
                break
            if plain is None:
                raise BackupError(damaged)
            checksum.update(plain)
            out.write(plain)
            if final:
                break
            index += 1
        if handle.read(1):
            raise BackupError(damaged)
    if checksum.hexdigest() != header.manifest.get("dump_sha256"):
        raise BackupError("the restored dump does not match the manifest's checksum")
