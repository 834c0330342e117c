"""Units, users, memberships (user × unit × role), passwords, TOTP and login throttling."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from zxcvbn import zxcvbn

from models.base import Base, UTCDateTime, Versioned, code_enum, utcnow
from models.crypto import Encrypted, Referenced, Sealed
from models.errors import N_, DomainError, NotFound, StaleEdit, Throttled, ValidationFailed

MAX_UNIT_NAME = 120
MAX_USER_NAME = 120
MAX_EMAIL = 254
MIN_PASSWORD = 12
MAX_PASSWORD = 128
# zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from offline attack".
MIN_PASSWORD_SCORE = 3
# Estimating a very long passphrase is slow and adds nothing: its head decides.
PASSWORD_ESTIMATE_CHARS = 64
LOCALES = ("nb", "sv", "en")

# Login throttling, per account: a few free attempts, then an exponential back-off
# capped so an attacker can slow one account down but never lock anyone out for long.
FREE_LOGIN_FAILURES = 5
MAX_LOGIN_BACKOFF_SECONDS = 15 * 60
LOGIN_FAILURE_MEMORY = timedelta(hours=24)


class Role(enum.StrEnum):
    ADVISOR = "advisor"
    TEACHER = "teacher"
    LEADER = "leader"
    ADMIN = "admin"
    PARTNER = "partner"


ROLE_LABELS: dict[Role, str] = {
    Role.ADVISOR: N_("Advisor"),
    Role.TEACHER: N_("Teacher"),
    Role.LEADER: N_("Unit leader"),
    Role.ADMIN: N_("Administrator"),
    Role.PARTNER: N_("Partner service"),
}


class UnitKind(enum.StrEnum):
    REFUGEE_SERVICE = "refugee_service"
    ADULT_LEARNING = "adult_learning"
    NAV = "nav"
    HOUSING = "housing"
    HEALTH = "health"
    OTHER = "other"


UNIT_KIND_LABELS: dict[UnitKind, str] = {
    UnitKind.REFUGEE_SERVICE: N_("Refugee service"),
    UnitKind.ADULT_LEARNING: N_("Adult learning centre"),
    UnitKind.NAV: N_("NAV / employment service"),
    UnitKind.HOUSING: N_("Housing office"),
    UnitKind.HEALTH: N_("Health service"),
    UnitKind.OTHER: N_("Other service"),
}


class Unit(Versioned, Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_UNIT_NAME), unique=True)
    kind: Mapped[UnitKind] = mapped_column(code_enum(UnitKind, 30), default=UnitKind.OTHER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Referenced, Versioned, Base):
    """A member of staff. Staff names and e-mails are work data, kept in clear for login."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL), unique=True)
    display_name: Mapped[str] = mapped_column(String(MAX_USER_NAME))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    totp_secret_sealed: Mapped[bytes | None] = mapped_column("totp_secret", Sealed)
    totp_secret = Encrypted("totp_secret_sealed")
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded on demand: a user joined onto another row (an advisor on a participant) does not
    # need them; the acting user and the admin's list load them eagerly where they are used.
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="select"
    )

    # The user protocol Flask-Login expects (implemented here: models import no Flask).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def has_mfa(self) -> bool:
        return self.mfa_enrolled_at is not None and self.totp_secret_sealed is not None

    def roles(self) -> set[Role]:
        return {m.role for m in self.memberships if m.unit.is_active}

    def unit_ids(self, role: Role) -> set[int]:
        return {m.unit_id for m in self.memberships if m.role is role and m.unit.is_active}

    def has_role(self, role: Role, unit_id: int | None = None) -> bool:
        return any(
            m.role is role and m.unit.is_active and (unit_id is None or m.unit_id == unit_id)
            for m in self.memberships
        )


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "unit_id", "role", name="uq_membership"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[Role] = mapped_column(code_enum(Role, 20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    unit: Mapped[Unit] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed-login state per account name (also for names with no account, so the
    answer never tells whether an e-mail address is registered)."""

    __tablename__ = "login_throttles"

    account_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- passwords ---------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


def configure_password_hashing(hasher: PasswordHasher) -> None:
    """Set the process's argon2id parameters (tests use cheap ones)."""
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: dict[str, str] = {}


def _equalise_timing(password: str) -> None:
    """Spend an argon2 verification when there is no account, like there would be with one."""
    dummy = _DUMMY_HASH.setdefault("hash", _hasher.hash("no account has this password"))
    _verify_password(dummy, password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _personal_words(values: list[str] | None) -> list[str]:
    """Words a password must not be built from: names and e-mail parts, apart and joined."""
    words: set[str] = set()
    for value in values or []:
        local = value.split("@")[0].lower()
        parts = [p for p in re.split(r"[\s._+\-@]+", local) if p]
        words.update(parts)
        words.add("".join(parts))
    return sorted(w for w in words if len(w) >= 3)


def check_password_rules(password: str, user_inputs: list[str] | None = None) -> None:
    """Length 12–128 and not easy to guess (zxcvbn); no composition rules (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            N_("The password must be at least %(min)d characters long."),
            "password",
            min=MIN_PASSWORD,
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(
            N_("The password can be at most %(max)d characters long."), "password", max=MAX_PASSWORD
        )
    estimate = zxcvbn(password[:PASSWORD_ESTIMATE_CHARS], user_inputs=_personal_words(user_inputs))
    if estimate["score"] < MIN_PASSWORD_SCORE:
        raise ValidationFailed(
            N_(
                "This password is too common or too easy to guess. A few unrelated words "
                "make a good password."
            ),
            "password",
        )


# -- TOTP --------------------------------------------------------------------

TOTP_ISSUER = "Veiviser"
TOTP_VALID_WINDOW = 1  # one 30-second step either side, for clock drift


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def verify_totp(secret: str, last_step: int | None, code: str, now: datetime) -> int | None:
    """Return the time step the code belongs to, or None.

    A step at or before `last_step` is refused: each code is single-use.
    """
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# -- throttling --------------------------------------------------------------


def _account_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


def _throttle(session: Session, email: str) -> LoginThrottle:
    """The account's throttle row, locked for this transaction (created if missing).

    Failures arrive at several processes at once: the row is re-read under the lock
    (populate_existing, since check_throttle may have loaded it unlocked), and a first
    failure racing another one's INSERT loses in a savepoint and then locks the winner's.
    """
    key = _account_key(email)
    row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(account_key=key, failures=0))
        except IntegrityError:
            pass
        row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        if row is None:  # created and deleted (a successful login) in between
            row = LoginThrottle(account_key=key, failures=0)
            session.add(row)
    return row


def check_throttle(session: Session, email: str, now: datetime) -> None:
    row = session.get(LoginThrottle, _account_key(email))
    if row is not None and row.blocked_until is not None and row.blocked_until > now:
        raise Throttled(max(1, int((row.blocked_until - now).total_seconds() + 0.999)))


def register_failure(session: Session, email: str, now: datetime) -> None:
    row = _throttle(session, email)
    if row.last_failure_at is not None and now - row.last_failure_at > LOGIN_FAILURE_MEMORY:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    excess = row.failures - FREE_LOGIN_FAILURES
    if excess >= 0:
        delay = min(2**excess, MAX_LOGIN_BACKOFF_SECONDS)
        row.blocked_until = now + timedelta(seconds=delay)


def clear_failures(session: Session, email: str) -> None:
    row = session.get(LoginThrottle, _account_key(email))
    if row is not None:
        session.delete(row)


# -- authentication ------------------------------------------------------------


class LoginFailed(DomainError):
    """Wrong e-mail, password or code — deliberately not saying which."""

    status_code = 400

    def __init__(self, user: User | None = None) -> None:
        super().__init__(N_("The e-mail address, password or code is wrong."))
        self.user = user


@dataclass(frozen=True)
class LoginResult:
    user: User
    needs_mfa_enrolment: bool


def authenticate(
    session: Session,
    email: str,
    password: str,
    otp: str | None,
    now: datetime,
    require_mfa: bool,
) -> LoginResult:
    """Check a login attempt. Raises Throttled or LoginFailed; never says which part was wrong.

    The caller records the audit event and commits (failures must be recorded even
    though no login happens).
    """
    check_throttle(session, email, now)
    # Locked: two logins of one account at once (two tabs, two processes) both write the
    # versioned user row (TOTP step, last login); unlocked, the second failed with a 500,
    # and a TOTP code could be used twice. The second now waits and sees the first's step.
    # FOR NO KEY UPDATE: the account's other sessions keep writing audit events (whose
    # foreign key share-locks this row) during the password check instead of waiting.
    user = session.scalar(
        select(User)
        .where(User.email == normalise_email(email))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if user is None:
        _equalise_timing(password)
        register_failure(session, email, now)
        raise LoginFailed()
    if not _verify_password(user.password_hash, password) or not user.is_active:
        register_failure(session, email, now)
        raise LoginFailed(user)
    if require_mfa and user.has_mfa:
        secret = user.totp_secret
        step = verify_totp(secret, user.totp_last_step, otp or "", now) if secret else None
        if step is None:
            register_failure(session, email, now)
            raise LoginFailed(user)
        user.totp_last_step = step
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    clear_failures(session, email)
    user.last_login_at = now
    return LoginResult(user=user, needs_mfa_enrolment=require_mfa and not user.has_mfa)


# -- administration ----------------------------------------------------------


def check_version(record: Versioned, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise StaleEdit()


def get_user_by_ref(session: Session, ref: str) -> User:
    user = session.scalar(select(User).where(User.ref == ref))
    if user is None:
        raise NotFound()
    return user


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound()
    return unit


def find_unit_by_name(session: Session, name: str) -> Unit | None:
    return session.scalar(select(Unit).where(func.lower(Unit.name) == name.strip().lower()))


def validate_unit_name(session: Session, name: str, unit: Unit | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(N_("Enter the unit's name."), "name")
    if len(name) > MAX_UNIT_NAME:
        raise ValidationFailed(
            N_("The name can be at most %(max)d characters long."), "name", max=MAX_UNIT_NAME
        )
    other = find_unit_by_name(session, name)
    if other is not None and other is not unit:
        raise ValidationFailed(N_("A unit with this name already exists."), "name")
    return name


def validate_new_email(session: Session, email: str, user: User | None = None) -> str:
    email = normalise_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise ValidationFailed(N_("Enter a valid e-mail address."), "email")
    other = session.scalar(select(User).where(User.email == email))
    if other is not None and other is not user:
        raise ValidationFailed(N_("A user with this e-mail address already exists."), "email")
    return email


def validate_display_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(N_("Enter the person's name."), "display_name")
    if len(name) > MAX_USER_NAME:
        raise ValidationFailed(
            N_("The name can be at most %(max)d characters long."),
            "display_name",
            max=MAX_USER_NAME,
        )
    return name
