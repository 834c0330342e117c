"""Administration operations: units, users, memberships, passwords and MFA resets.

Each operation takes the acting `Actor`, checks the policy, changes state and
records its audit event in the same transaction; the caller commits. Any change
that alters what a user may do or how they authenticate ends their sessions, so
it takes effect on their next request.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import sessions as server_sessions
from models.accounts import (
    LOCALES,
    Membership,
    Role,
    Unit,
    UnitKind,
    User,
    check_password_rules,
    check_version,
    hash_password,
    validate_display_name,
    validate_new_email,
    validate_unit_name,
)
from models.base import utcnow
from models.errors import N_, NotFound, ValidationFailed
from models.policy import Action, Actor


def create_unit(session: Session, actor: Actor, name: str, kind: UnitKind) -> Unit:
    grant = actor.authorise(Action.ADMINISTER_UNITS)
    unit = Unit(name=validate_unit_name(session, name), kind=kind, is_active=True)
    session.add(unit)
    session.flush()
    actor.record(session, "unit.create", grant, object_type="unit", object_ref=str(unit.id))
    return unit


def update_unit(
    session: Session,
    actor: Actor,
    unit: Unit,
    expected_version: int | None,
    name: str,
    kind: UnitKind,
    is_active: bool,
) -> None:
    grant = actor.authorise(Action.ADMINISTER_UNITS, unit)
    check_version(unit, expected_version)
    new_name = validate_unit_name(session, name, unit)
    if not is_active and unit.is_active:
        _refuse_losing_last_admin(session, unit_id=unit.id)
    affected = _member_ids(session, unit.id) if is_active != unit.is_active else set()
    unit.name, unit.kind, unit.is_active = new_name, kind, is_active
    for user_id in affected:
        server_sessions.end_all_for_user(session, user_id)
    actor.record(session, "unit.update", grant, object_type="unit", object_ref=str(unit.id))


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    display_name: str,
    password: str,
    unit: Unit | None = None,
    role: Role | None = None,
) -> User:
    grant = actor.authorise(Action.ADMINISTER_USERS)
    email = validate_new_email(session, email)
    display_name = validate_display_name(display_name)
    check_password_rules(password, [email, display_name])
    user = User(email=email, display_name=display_name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    actor.record(session, "user.create", grant, object_type="user", object_ref=user.ref)
    if unit is not None and role is not None:
        add_membership(session, actor, user, unit, role)
    return user


def update_user(
    session: Session,
    actor: Actor,
    user: User,
    expected_version: int | None,
    *,
    email: str,
    display_name: str,
    locale: str | None,
) -> None:
    grant = actor.authorise(Action.ADMINISTER_USERS, user)
    check_version(user, expected_version)
    new_email = validate_new_email(session, email, user)
    new_name = validate_display_name(display_name)
    if locale is not None and locale not in LOCALES:
        raise ValidationFailed(N_("Choose a language from the list."), "locale")
    email_changed = new_email != user.email
    user.email, user.display_name, user.locale = new_email, new_name, locale
    if email_changed:
        # The login name changed: whoever is logged in must prove it again.
        server_sessions.end_all_for_user(session, user.id)
    actor.record(session, "user.update", grant, object_type="user", object_ref=user.ref)


def set_user_active(session: Session, actor: Actor, user: User, active: bool) -> None:
    grant = actor.authorise(Action.ADMINISTER_USERS, user)
    if user.is_active == active:
        return
    if not active:
        _refuse_losing_last_admin(session, user_id=user.id)
    user.is_active = active
    server_sessions.end_all_for_user(session, user.id)
    actor.record(
        session,
        "user.enable" if active else "user.disable",
        grant,
        object_type="user",
        object_ref=user.ref,
    )


def add_membership(session: Session, actor: Actor, user: User, unit: Unit, role: Role) -> None:
    grant = actor.authorise(Action.ADMINISTER_USERS, user)
    if any(m.unit_id == unit.id and m.role is role for m in user.memberships):
        raise ValidationFailed(N_("The user already has this role in this unit."), "role")
    if not unit.is_active:
        raise ValidationFailed(N_("The unit is closed; choose an active unit."), "unit")
    user.memberships.append(Membership(unit=unit, role=role, unit_id=unit.id))
    session.flush()
    server_sessions.end_all_for_user(session, user.id)
    actor.record(
        session,
        "membership.add",
        grant,
        object_type="user",
        object_ref=user.ref,
        field_categories=(f"role:{role.value}", f"unit:{unit.id}"),
    )


def remove_membership(session: Session, actor: Actor, user: User, membership_id: int) -> None:
    grant = actor.authorise(Action.ADMINISTER_USERS, user)
    membership = next((m for m in user.memberships if m.id == membership_id), None)
    if membership is None:
        raise NotFound()
    if membership.role is Role.ADMIN:
        _refuse_losing_last_admin(session, membership_id=membership.id)
    role, unit_id = membership.role, membership.unit_id
    user.memberships.remove(membership)
    session.flush()
    server_sessions.end_all_for_user(session, user.id)
    actor.record(
        session,
        "membership.remove",
        grant,
        object_type="user",
        object_ref=user.ref,
        field_categories=(f"role:{role.value}", f"unit:{unit_id}"),
    )


def reset_mfa(session: Session, actor: Actor, user: User) -> None:
    """Recovery for a lost authenticator: the user enrols again at their next login."""
    grant = actor.authorise(Action.ADMINISTER_USERS, user)
    user.totp_secret = None
    user.totp_last_step = None
    user.mfa_enrolled_at = None
    server_sessions.end_all_for_user(session, user.id)
    actor.record(session, "user.mfa_reset", grant, object_type="user", object_ref=user.ref)


def set_password(session: Session, actor: Actor, user: User, password: str) -> None:
    """An administrator sets a new password (e.g. a forgotten one)."""
    grant = actor.authorise(Action.ADMINISTER_USERS, user)
    check_password_rules(password, [user.email, user.display_name])
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    server_sessions.end_all_for_user(session, user.id)
    actor.record(session, "user.password_set", grant, object_type="user", object_ref=user.ref)


def _member_ids(session: Session, unit_id: int) -> set[int]:
    return set(session.scalars(select(Membership.user_id).where(Membership.unit_id == unit_id)))


def _refuse_losing_last_admin(
    session: Session,
    *,
    user_id: int | None = None,
    unit_id: int | None = None,
    membership_id: int | None = None,
) -> None:
    """Refuse a change that takes away the last active administrator (nobody could undo it)."""
    stmt = (
        select(func.count(func.distinct(User.id)))
        .join(Membership, Membership.user_id == User.id)
        .join(Unit, Unit.id == Membership.unit_id)
        .where(Membership.role == Role.ADMIN, User.is_active.is_(True), Unit.is_active.is_(True))
    )
    before = session.scalar(stmt)
    if user_id is not None:
        stmt = stmt.where(User.id != user_id)
    if unit_id is not None:
        stmt = stmt.where(Unit.id != unit_id)
    if membership_id is not None:
        stmt = stmt.where(Membership.id != membership_id)
    if before and not session.scalar(stmt):
        raise ValidationFailed(
            N_("This would leave no active administrator. Give someone else the role first.")
        )
