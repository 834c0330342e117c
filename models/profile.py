"""What users do to their own account: password, language, MFA enrolment."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy.orm import Session

from models import audit
from models import sessions as server_sessions
from models.accounts import (
    LOCALES,
    User,
    _verify_password,
    check_password_rules,
    hash_password,
    verify_totp,
)
from models.base import utcnow
from models.crypto import DecryptionFailed, keyring_of
from models.errors import N_, ValidationFailed


def change_password(
    session: Session, user: User, current: str, new: str, request_id: str | None = None
) -> None:
    """Change one's own password; every session of the user ends, this one included."""
    if not _verify_password(user.password_hash, current):
        raise ValidationFailed(N_("The current password is wrong."), "current_password")
    if current == new:
        raise ValidationFailed(
            N_("The new password must differ from the current one."), "new_password"
        )
    try:
        check_password_rules(new, [user.email, user.display_name])
    except ValidationFailed as exc:
        exc.field = "new_password"
        raise
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    server_sessions.end_all_for_user(session, user.id)
    audit.record(
        session,
        "account.password_change",
        actor_user_id=user.id,
        object_type="user",
        object_ref=user.ref,
        request_id=request_id,
    )


def set_locale(user: User, locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationFailed(N_("Choose a language from the list."), "locale")
    user.locale = locale


_PENDING_TABLE, _PENDING_FIELD = "server_sessions", "totp_pending"


def seal_pending_secret(session: Session, user: User, secret: str) -> str:
    """The not-yet-confirmed TOTP secret, sealed for keeping in the login session.

    Session rows are not encrypted columns; the secret must not sit there in clear.
    """
    sealed = keyring_of(session).seal(session, secret, _PENDING_TABLE, _PENDING_FIELD, user.ref)
    return base64.b64encode(sealed).decode("ascii")


def open_pending_secret(session: Session, user: User, token: str) -> str | None:
    try:
        sealed = base64.b64decode(token, validate=True)
        return keyring_of(session).open(session, sealed, _PENDING_TABLE, _PENDING_FIELD, user.ref)
    except (ValueError, DecryptionFailed):
        return None


def confirm_mfa_enrolment(
    session: Session,
    user: User,
    secret: str,
    code: str,
    now: datetime,
    request_id: str | None = None,
) -> None:
    """Store the TOTP secret once the user has shown a code from their authenticator app."""
    step = verify_totp(secret, None, code, now)
    if step is None:
        raise ValidationFailed(
            N_("The code does not match. Check the time on your phone and try a new code."),
            "otp",
        )
    user.totp_secret = secret
    user.totp_last_step = step
    user.mfa_enrolled_at = now
    audit.record(
        session,
        "account.mfa_enrol",
        actor_user_id=user.id,
        object_type="user",
        object_ref=user.ref,
        request_id=request_id,
    )
