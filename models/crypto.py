"""Field encryption, envelope keys and blind indexes (DESIGN §4).

* A **master key** lives outside the database (a 0600 file or an environment
  variable). It only wraps data keys.
* **Data keys** (one active per purpose: field encryption, blind index, audit MAC)
  are stored wrapped in `data_keys`. Rotation adds a new active key; the old one
  turns *retiring* (decrypt only) and is *retired* — its key material erased —
  once no value uses it.
* An encrypted value is ``version (1) | key id (4) | nonce (12) | ciphertext+tag``
  sealed with AES-256-GCM. The associated data binds it to the deployment, the
  table, the field and the row's public reference, so a ciphertext copied to
  another row or column fails to open.
* A **blind index** is HMAC-SHA256 over a normalised value, truncated so that
  several rows share each index value (CipherSweet's guidance): it narrows a
  lookup to candidates, which are then decrypted and compared.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import os
import secrets
import struct
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Enum, Index, LargeBinary, String, event, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session
from sqlalchemy.types import TypeDecorator

from models.base import Base, UTCDateTime, new_ref, utcnow
from models.errors import N_

ENVELOPE_VERSION = 1
_HEADER = struct.Struct(">BI")  # version, key id
NONCE_BYTES = 12
KEY_BYTES = 32
DEFAULT_BLIND_INDEX_BITS = 16
# How long a process trusts its idea of which key is active; another process may
# have rotated meanwhile, and a rotation only retires a key once nothing uses it.
ACTIVE_KEY_TTL_SECONDS = 5.0


class KeyMaterialError(RuntimeError):
    """The master key or a data key is missing, malformed or does not match.

    Operator-facing; the message never contains key material.
    """


class DecryptionFailed(RuntimeError):
    """A sealed value failed authentication: tampered, moved or under an unknown key."""


class KeyPurpose(enum.StrEnum):
    FIELD = "field"
    BLIND_INDEX = "blind_index"
    AUDIT = "audit"


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


KEY_PURPOSE_LABELS: dict[KeyPurpose, str] = {
    KeyPurpose.FIELD: N_("Field encryption"),
    KeyPurpose.BLIND_INDEX: N_("Search index (blind index)"),
    KeyPurpose.AUDIT: N_("Audit log seal"),
}
KEY_STATUS_LABELS: dict[KeyStatus, str] = {
    KeyStatus.ACTIVE: N_("Active"),
    KeyStatus.RETIRING: N_("Being replaced"),
    KeyStatus.RETIRED: N_("Retired"),
}


class DataKey(Base):
    """A per-purpose data key, stored wrapped by the master key."""

    __tablename__ = "data_keys"
    __table_args__ = (
        # At most one active key per purpose, enforced by the database itself.
        Index(
            "uq_data_keys_active_purpose",
            "purpose",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[KeyPurpose] = mapped_column(
        Enum(
            KeyPurpose, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
        )
    )
    status: Mapped[KeyStatus] = mapped_column(
        Enum(
            KeyStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
        )
    )
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def load_master_key(path: str | os.PathLike[str] | None, value: str | None = None) -> bytes:
    """Read the base64 master key from `value` or the file at `path`."""
    if value:
        raw = value
    elif path:
        file = Path(path)
        if not file.is_file():
            raise KeyMaterialError(f"master key file not found: {file}")
        raw = file.read_text(encoding="ascii").strip()
    else:
        raise KeyMaterialError("no master key configured (VEIVISER_MASTER_KEY_FILE)")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyMaterialError("master key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyMaterialError("master key must be 32 bytes (256 bits)")
    return key


def write_master_key_file(path: Path) -> None:
    """Create a new random master key file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n")


def _wrap_aad(key_id: int, purpose: KeyPurpose) -> bytes:
    return f"veiviser/data-key/{key_id}/{purpose.value}".encode()


@dataclass(frozen=True)
class _OpenKey:
    purpose: KeyPurpose
    material: bytes

    @property
    def aead(self) -> AESGCM:
        # Building the cipher object costs about a third of a small decryption; keep one.
        cached: AESGCM | None = self.__dict__.get("_aead")
        if cached is None:
            cached = AESGCM(self.material)
            object.__setattr__(self, "_aead", cached)
        return cached


class KeyRing:
    """Unwrapped data keys of one deployment, shared by the sessions of a process.

    Unwrapped keys are cached (a key id always names the same bytes); which key is
    *active* is re-read from the database every few seconds, so a rotation started
    by another process is followed without restarting this one.
    """

    def __init__(
        self,
        master_key: bytes,
        deployment_id: str,
        blind_index_bits: int = DEFAULT_BLIND_INDEX_BITS,
        active_key_ttl: float = ACTIVE_KEY_TTL_SECONDS,
    ) -> None:
        if not 8 <= blind_index_bits <= 64:
            raise ValueError("blind index bits must be between 8 and 64")
        self._master = AESGCM(master_key)
        self.deployment_id = deployment_id
        self.blind_index_bits = blind_index_bits
        self.active_key_ttl = active_key_ttl
        self._open_keys: dict[int, _OpenKey] = {}
        self._active: dict[KeyPurpose, tuple[int, float]] = {}
        self._lock = threading.Lock()

    # -- key management ---------------------------------------------------

    def _unwrap(self, key: DataKey) -> _OpenKey:
        if key.wrapped_key is None:
            raise KeyMaterialError(f"data key {key.id} is retired; its values cannot be opened")
        nonce, body = key.wrapped_key[:NONCE_BYTES], key.wrapped_key[NONCE_BYTES:]
        try:
            material = self._master.decrypt(nonce, body, _wrap_aad(key.id, key.purpose))
        except InvalidTag as exc:
            raise KeyMaterialError(
                "the master key does not match the data keys in this database"
            ) from exc
        return _OpenKey(key.purpose, material)

    def _key(self, session: Session, key_id: int) -> _OpenKey:
        open_key = self._open_keys.get(key_id)
        if open_key is None:
            stored = session.get(DataKey, key_id)
            if stored is None:
                raise DecryptionFailed(f"unknown data key {key_id}")
            open_key = self._unwrap(stored)
            with self._lock:
                self._open_keys[key_id] = open_key
        return open_key

    def active_key_id(self, session: Session, purpose: KeyPurpose) -> int:
        cached = self._active.get(purpose)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self.active_key_ttl:
            return cached[0]
        key_id = session.scalar(
            select(DataKey.id).where(DataKey.purpose == purpose, DataKey.status == KeyStatus.ACTIVE)
        )
        if key_id is None:
            raise KeyMaterialError(
                f"no active {purpose.value} key: run `veiviser db upgrade` to create the keys"
            )
        with self._lock:
            self._active[purpose] = (key_id, now)
        return key_id

    def forget_active(self) -> None:
        """Drop the cached active-key ids (after this process rotated a key itself)."""
        with self._lock:
            self._active.clear()

    def create_data_key(self, session: Session, purpose: KeyPurpose) -> DataKey:
        """Add a new active data key for `purpose`; the caller demotes the old one first."""
        material = secrets.token_bytes(KEY_BYTES)
        key = DataKey(purpose=purpose, status=KeyStatus.ACTIVE)
        session.add(key)
        session.flush()  # the id is part of the wrapping's associated data
        nonce = secrets.token_bytes(NONCE_BYTES)
        key.wrapped_key = nonce + self._master.encrypt(nonce, material, _wrap_aad(key.id, purpose))
        with self._lock:
            self._open_keys[key.id] = _OpenKey(purpose, material)
        return key

    def ensure_data_keys(self, session: Session) -> list[KeyPurpose]:
        """Create the missing active keys; returns the purposes it created. Idempotent."""
        existing = set(
            session.scalars(select(DataKey.purpose).where(DataKey.status == KeyStatus.ACTIVE))
        )
        created = [p for p in KeyPurpose if p not in existing]
        for purpose in created:
            self.create_data_key(session, purpose)
        return created

    def check_master_key(self, session: Session) -> None:
        """Raise KeyMaterialError unless the master key opens every stored data key."""
        for key in session.scalars(select(DataKey).where(DataKey.status != KeyStatus.RETIRED)):
            self._unwrap(key)

    def rewrap_all(self, session: Session, new_master_key: bytes) -> int:
        """Re-wrap every live data key under a new master key (master-key rotation)."""
        new_master = AESGCM(new_master_key)
        count = 0
        for key in session.scalars(select(DataKey).where(DataKey.status != KeyStatus.RETIRED)):
            material = self._unwrap(key).material
            nonce = secrets.token_bytes(NONCE_BYTES)
            key.wrapped_key = nonce + new_master.encrypt(
                nonce, material, _wrap_aad(key.id, key.purpose)
            )
            count += 1
        self._master = new_master
        return count

    # -- values -----------------------------------------------------------

    def _aad(self, table: str, field: str, row_ref: str) -> bytes:
        return "|".join(("veiviser", "v1", self.deployment_id, table, field, row_ref)).encode()

    def seal(self, session: Session, plaintext: str, table: str, field: str, row_ref: str) -> bytes:
        key_id = self.active_key_id(session, KeyPurpose.FIELD)
        key = self._key(session, key_id)
        nonce = secrets.token_bytes(NONCE_BYTES)
        body = key.aead.encrypt(nonce, plaintext.encode("utf-8"), self._aad(table, field, row_ref))
        return _HEADER.pack(ENVELOPE_VERSION, key_id) + nonce + body

    def open(self, session: Session, sealed: bytes, table: str, field: str, row_ref: str) -> str:
        version, key_id = envelope_header(sealed)
        if version != ENVELOPE_VERSION:
            raise DecryptionFailed(f"unsupported envelope version {version}")
        key = self._key(session, key_id)
        if key.purpose is not KeyPurpose.FIELD:
            raise DecryptionFailed(f"data key {key_id} is not a field-encryption key")
        start = _HEADER.size
        nonce, body = sealed[start : start + NONCE_BYTES], sealed[start + NONCE_BYTES :]
        try:
            plain = key.aead.decrypt(nonce, body, self._aad(table, field, row_ref))
        except InvalidTag as exc:
            # Deliberately vague: which row or field failed is the caller's business.
            raise DecryptionFailed("a sealed value failed authentication") from exc
        return plain.decode("utf-8")

    def blind_index(self, session: Session, domain: str, normalised: str) -> int:
        """Truncated HMAC of `normalised` in `domain` (e.g. "participants.national_id")."""
        key = self._key(session, self.active_key_id(session, KeyPurpose.BLIND_INDEX))
        digest = hmac.new(
            key.material, f"{domain}\x00{normalised}".encode(), hashlib.sha256
        ).digest()
        return int.from_bytes(digest[:8], "big") >> (64 - self.blind_index_bits)

    def mac(self, session: Session, key_id: int, message: bytes) -> bytes:
        key = self._key(session, key_id)
        if key.purpose is not KeyPurpose.AUDIT:
            raise KeyMaterialError(f"data key {key_id} is not an audit key")
        return hmac.new(key.material, message, hashlib.sha256).digest()


def lookup_by_blind_index(
    session: Session,
    stmt: Any,
    index_column: Any,
    field: Encrypted,
    domain: str,
    normalised: str,
    normalise: Any = None,
) -> list[Any]:
    """Rows of `stmt` whose encrypted `field` equals `normalised`.

    The blind index narrows the search to candidates (by design several values
    share an index value); each candidate is decrypted and compared, so a
    collision never returns the wrong person. `stmt` should already be the
    caller's scoped query when the result is shown to a user.
    """
    index_value = keyring_of(session).blind_index(session, domain, normalised)
    candidates = session.scalars(stmt.where(index_column == index_value))
    normalise = normalise or (lambda value: value)
    return [
        row
        for row in candidates
        if (plain := field.__get__(row)) is not None and normalise(plain) == normalised
    ]


def envelope_header(sealed: bytes) -> tuple[int, int]:
    if len(sealed) < _HEADER.size + NONCE_BYTES + 16:
        raise DecryptionFailed("sealed value is too short")
    version, key_id = _HEADER.unpack_from(sealed)
    return int(version), int(key_id)


def keyring_of(session: Session) -> KeyRing:
    keyring = session.info.get("keyring")
    if not isinstance(keyring, KeyRing):
        raise KeyMaterialError("this database session has no key ring")
    return keyring


class Sealed(TypeDecorator[bytes]):
    """Column type for encrypted values: refuses anything that is not an envelope.

    It makes writing plaintext into an encrypted column a programming error
    instead of a silent leak.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, bytes | bytearray) or value[:1] != bytes([ENVELOPE_VERSION]):
            raise TypeError("only sealed envelopes may be written to an encrypted column")
        return bytes(value)


class Referenced:
    """A random public reference (`ref`) set as soon as the object is built.

    Encrypted fields bind their ciphertext to it, and URLs and audit events use it
    instead of the database id.
    """

    ref: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)


@event.listens_for(Referenced, "init", propagate=True)
def _give_ref(target: Referenced, _args: Any, kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("ref", new_ref())


class Encrypted:
    """A plaintext attribute stored sealed in another mapped column.

    ``national_id = Encrypted("national_id_sealed")`` — reading opens the value with
    the session's key ring; writing seals it at once when the object belongs to a
    session, or at the next flush when it is new.
    """

    registry: ClassVar[list[tuple[type[Any], Encrypted]]] = []

    def __init__(self, sealed_attr: str) -> None:
        self.sealed_attr = sealed_attr
        self.name = ""
        self.table = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name
        self.table = owner.__tablename__
        Encrypted.registry.append((owner, self))

    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        pending: dict[str, str | None] = obj.__dict__.get("_veiviser_pending", {})
        if self.name in pending:
            return pending[self.name]
        sealed = getattr(obj, self.sealed_attr)
        if sealed is None:
            return None
        cache: dict[str, tuple[bytes, str]] = obj.__dict__.setdefault("_veiviser_plain", {})
        hit = cache.get(self.name)
        if hit is not None and hit[0] is sealed:
            return hit[1]
        session = object_session(obj)
        if session is None:
            raise KeyMaterialError("cannot decrypt a value outside a database session")
        plain = keyring_of(session).open(session, sealed, self.table, self.name, obj.ref)
        cache[self.name] = (sealed, plain)
        return plain

    def __set__(self, obj: Any, value: str | None) -> None:
        session = object_session(obj)
        if session is None:
            obj.__dict__.setdefault("_veiviser_pending", {})[self.name] = value
            return
        self.seal_into(session, obj, value)

    def seal_into(self, session: Session, obj: Any, value: str | None) -> None:
        obj.__dict__.get("_veiviser_pending", {}).pop(self.name, None)
        if value is None:
            setattr(obj, self.sealed_attr, None)
            return
        keyring = keyring_of(session)
        setattr(obj, self.sealed_attr, keyring.seal(session, value, self.table, self.name, obj.ref))


@event.listens_for(Session, "before_flush")
def _seal_pending(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new):
        pending = obj.__dict__.get("_veiviser_pending")
        if not pending:
            continue
        for _owner, field in Encrypted.registry:
            if isinstance(obj, _owner) and field.name in pending:
                field.seal_into(session, obj, pending[field.name])
