"""Who may see which participant, and which sections of the record.

The rules here are registered with the one policy (`models.policy`), so views
ask `require()` / `scoped()` as for anything else:

* an **advisor** sees the participants they are primary or secondary advisor
  for, in a unit where they hold the advisor role — every section;
* a **leader** sees every participant of their unit(s), all sections but health;
* a **partner** (NAV, health, housing office) sees the name and exactly the
  sections an active consent shares with their unit;
* **break-the-glass**: an advisor or leader of the participant's unit may open
  the record for a limited time by giving a written reason; the grant is
  flagged in the audit log and reviewed by the unit's leader;
* a **restricted** record (GDPR art. 18) is readable by its primary advisor only;
* teachers and administrators see no participant record here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Select, String, and_, exists, false, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.accounts import Role, Unit, User
from models.base import Base, UTCDateTime, Versioned, local_today, utcnow
from models.codes import CONSENTABLE_SECTIONS, Section
from models.crypto import Encrypted, Referenced, Sealed
from models.errors import N_, NotFound, ValidationFailed
from models.participants import Participant
from models.policy import Action, Actor, Grant, register_scope

DEFAULT_BREAK_GLASS_HOURS = 2
MIN_REASON = 10
MAX_REASON = 1000
MAX_PURPOSE = 500

ALL_SECTIONS = frozenset(Section)
LEADER_SECTIONS = ALL_SECTIONS - {Section.HEALTH}
# A partner sees the name (to know whom it is about) and only the consented sections.
PARTNER_BASE_SECTIONS: frozenset[Section] = frozenset()
# A teacher of a class the participant is enrolled in sees the name and the language section.
TEACHER_SECTIONS = frozenset({Section.LANGUAGE})

# The advisor's writes on the plan, follow-ups, decisions and the programme's end.
WORK_ACTIONS = frozenset(
    {
        Action.PLAN_EDIT,
        Action.FOLLOW_UP_WRITE,
        Action.DECISION_WRITE,
        Action.PROGRAMME_END,
        Action.HOUSING_WRITE,
        Action.PLACEMENT_WRITE,
    }
)
ADVISOR_ACTIONS = frozenset(
    {
        Action.PARTICIPANT_LIST,
        Action.PARTICIPANT_READ,
        Action.PARTICIPANT_EDIT,
        Action.PARTICIPANT_EXPORT,
        Action.PARTICIPANT_RESTRICT,
        Action.ACCESS_LOG_READ,
        Action.CONSENT_MANAGE,
        *WORK_ACTIONS,
        Action.TASK_WORK,
    }
)
LEADER_ACTIONS = frozenset(
    {
        Action.PARTICIPANT_LIST,
        Action.PARTICIPANT_READ,
        Action.PARTICIPANT_REASSIGN,
        Action.PARTICIPANT_EXPORT,
        Action.PARTICIPANT_RESTRICT,
        Action.ACCESS_LOG_READ,
        Action.BREAK_GLASS_REVIEW,
        Action.TASK_WORK,
    }
)
BREAK_GLASS_ACTIONS = frozenset(
    {
        Action.PARTICIPANT_READ,
        Action.PARTICIPANT_EDIT,
        Action.PARTICIPANT_LIST,
        *WORK_ACTIONS,
        Action.TASK_WORK,
    }
)
# Under restriction, only the primary advisor reads; lifting it stays possible.
RESTRICTED_ACTIONS = frozenset(
    {Action.PARTICIPANT_READ, Action.PARTICIPANT_LIST, Action.PARTICIPANT_RESTRICT}
)


class Consent(Referenced, Versioned, Base):
    """A participant's consent to share named sections with a partner unit, for a purpose."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    partner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    sections: Mapped[str] = mapped_column(String(200))  # Section values, comma-separated
    purpose_sealed: Mapped[bytes | None] = mapped_column("purpose", Sealed)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The purpose is free text and may name the person: sealed.
    purpose = Encrypted("purpose_sealed")

    partner_unit: Mapped[Unit] = relationship(lazy="joined")

    @property
    def section_set(self) -> frozenset[Section]:
        return frozenset(Section(s) for s in self.sections.split(",") if s)

    def is_active(self, today: date) -> bool:
        return (
            self.withdrawn_at is None
            and self.valid_from <= today
            and (self.valid_to is None or today <= self.valid_to)
        )


class BreakGlassGrant(Referenced, Base):
    """Time-boxed emergency access to one participant's record, with a written reason."""

    __tablename__ = "break_glass_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed)
    reason = Encrypted("reason_sealed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    participant: Mapped[Participant] = relationship(lazy="joined")


# -- deciding --------------------------------------------------------------------


def _active_consent_exists(participant_id: Any, unit_ids: set[int], today: date) -> Any:
    return exists(
        select(Consent.id).where(
            Consent.participant_id == participant_id,
            Consent.partner_unit_id.in_(unit_ids),
            Consent.withdrawn_at.is_(None),
            Consent.valid_from <= today,
            or_(Consent.valid_to.is_(None), Consent.valid_to >= today),
        )
    )


def _active_grant_exists(participant_id: Any, user_id: int, now: datetime) -> Any:
    return exists(
        select(BreakGlassGrant.id).where(
            BreakGlassGrant.participant_id == participant_id,
            BreakGlassGrant.user_id == user_id,
            BreakGlassGrant.expires_at > now,
        )
    )


def active_grant(session: Session, user: User, participant: Participant) -> BreakGlassGrant | None:
    return session.scalar(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.participant_id == participant.id,
            BreakGlassGrant.user_id == user.id,
            BreakGlassGrant.expires_at > utcnow(),
        )
        .order_by(BreakGlassGrant.expires_at.desc())
    )


def active_consents(session: Session, participant: Participant, today: date) -> list[Consent]:
    rows = session.scalars(
        select(Consent).where(Consent.participant_id == participant.id).order_by(Consent.id)
    )
    return [c for c in rows if c.is_active(today)]


def _session_of(obj: Any) -> Session:
    from sqlalchemy.orm import object_session

    session = object_session(obj)
    if session is None:
        raise RuntimeError("participant is not attached to a database session")
    return session


def _participant_rule(user: User, action: Action, participant: Any) -> Grant | None:
    assert isinstance(participant, Participant)
    unit_id = participant.unit_id
    is_advisor = user.has_role(Role.ADVISOR, unit_id) and user.id in participant.advisor_ids()
    if participant.is_restricted:
        if (
            action in RESTRICTED_ACTIONS
            and user.has_role(Role.ADVISOR, unit_id)
            and user.id == participant.primary_advisor_id
        ):
            return Grant(Role.ADVISOR, unit_id)
        if action is Action.PARTICIPANT_RESTRICT and user.has_role(Role.LEADER, unit_id):
            return Grant(Role.LEADER, unit_id)
        return None
    if is_advisor and action in ADVISOR_ACTIONS:
        return Grant(Role.ADVISOR, unit_id)
    if user.has_role(Role.LEADER, unit_id) and action in LEADER_ACTIONS:
        return Grant(Role.LEADER, unit_id)
    if action is Action.BREAK_GLASS:
        for role in (Role.ADVISOR, Role.LEADER):
            if user.has_role(role, unit_id):
                return Grant(role, unit_id)
        return None
    session = _session_of(participant)
    if action in BREAK_GLASS_ACTIONS:
        grant = active_grant(session, user, participant)
        if grant is not None and user.has_role(Role(grant.role), unit_id):
            return Grant(Role(grant.role), unit_id, via="break_glass")
    # Language training (issue 5): a teacher reads the language section of, and records
    # for, a participant actively enrolled in one of their classes; nothing else.
    if action in (Action.PARTICIPANT_READ, Action.LANGUAGE_RECORD) and user.has_role(Role.TEACHER):
        from models.language import teacher_class_unit

        class_unit = teacher_class_unit(session, user, participant)
        if class_unit is not None:
            return Grant(Role.TEACHER, class_unit, via="class")
    if action in (Action.PARTICIPANT_READ, Action.PARTICIPANT_LIST):
        today = local_today()
        for partner_unit in sorted(user.unit_ids(Role.PARTNER)):
            if any(
                c.partner_unit_id == partner_unit
                for c in active_consents(session, participant, today)
            ):
                return Grant(Role.PARTNER, partner_unit, via="consent")
    return None


def _participant_scope(stmt: Select[Any], user: User, action: Action) -> Select[Any]:
    now = utcnow()
    conditions = []
    advisor_units = user.unit_ids(Role.ADVISOR)
    if advisor_units and action in ADVISOR_ACTIONS:
        conditions.append(
            and_(
                Participant.unit_id.in_(advisor_units),
                or_(
                    Participant.primary_advisor_id == user.id,
                    Participant.secondary_advisor_id == user.id,
                ),
                or_(
                    Participant.is_restricted.is_(False),
                    Participant.primary_advisor_id == user.id,
                ),
            )
        )
    leader_units = user.unit_ids(Role.LEADER)
    if leader_units and action in LEADER_ACTIONS:
        conditions.append(
            and_(Participant.unit_id.in_(leader_units), Participant.is_restricted.is_(False))
        )
    if action in BREAK_GLASS_ACTIONS and (advisor_units or leader_units):
        conditions.append(
            and_(
                Participant.unit_id.in_(advisor_units | leader_units),
                Participant.is_restricted.is_(False),
                _active_grant_exists(Participant.id, user.id, now),
            )
        )
    partner_units = user.unit_ids(Role.PARTNER)
    if partner_units and action in (Action.PARTICIPANT_READ, Action.PARTICIPANT_LIST):
        conditions.append(
            and_(
                Participant.is_restricted.is_(False),
                _active_consent_exists(Participant.id, partner_units, now.date()),
            )
        )
    if not conditions:
        return stmt.where(false())
    return stmt.where(or_(*conditions))


register_scope(Participant, _participant_rule, _participant_scope)


def led_units(session: Session, user: User) -> list[Unit]:
    """The active units `user` leads, by name: the scope of every leader page (dashboard,
    reassignment, outcome figures, exports, NIR). Another unit is out of scope."""
    ids = user.unit_ids(Role.LEADER)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Unit).where(Unit.id.in_(ids), Unit.is_active.is_(True)).order_by(Unit.name)
        )
    )


def staff_who_may_read(session: Session, participant: Participant) -> list[User]:
    """Active advisors and leaders who may read `participant` now, by name, in one query.

    The same answer as `require(user, PARTICIPANT_READ, participant)` for each member
    of the unit (assigned advisors, the unit's leaders, an active break-the-glass grant;
    only the primary advisor under restriction), for lists such as "who may be given
    a task": calling the policy per user would cost queries per user. Built from small
    candidate sets (the unit's leaders, the two advisors, the grant holders), so it
    does not grow with the number of users.
    """
    from models.accounts import Membership

    def members(role: Role) -> Select[Any]:
        return (
            select(Membership.user_id)
            .join(Unit, Unit.id == Membership.unit_id)
            .where(
                Membership.unit_id == participant.unit_id,
                Membership.role == role,
                Unit.is_active.is_(True),
            )
        )

    advisors = members(Role.ADVISOR)
    if participant.is_restricted:
        if participant.primary_advisor_id is None:
            return []
        allowed = and_(User.id == participant.primary_advisor_id, User.id.in_(advisors))
    else:
        leaders = members(Role.LEADER)
        assigned = list(participant.advisor_ids())
        glass = select(BreakGlassGrant.user_id).where(
            BreakGlassGrant.participant_id == participant.id,
            BreakGlassGrant.expires_at > utcnow(),
        )
        allowed = or_(
            User.id.in_(leaders),
            and_(User.id.in_(assigned), User.id.in_(advisors)) if assigned else false(),
            and_(User.id.in_(glass), User.id.in_(advisors)),
        )
    return list(
        session.scalars(
            select(User)
            .where(User.is_active.is_(True), allowed)
            .order_by(User.display_name, User.id)
        )
    )


@dataclass(frozen=True)
class View:
    """What one user may see of one participant: the grant and the sections."""

    grant: Grant
    sections: frozenset[Section]
    sees_protected_address: bool

    def shows(self, section: Section) -> bool:
        return section in self.sections


def view_of(session: Session, user: User, participant: Participant, grant: Grant) -> View:
    """The sections `grant` opens. Call after `require()` has produced the grant."""
    if grant.via == "consent":
        today = local_today()
        shared: set[Section] = set()
        for consent in active_consents(session, participant, today):
            if consent.partner_unit_id == grant.unit_id:
                shared |= consent.section_set
        sections = PARTNER_BASE_SECTIONS | shared
    elif grant.via == "class":
        sections = TEACHER_SECTIONS  # language training: the teacher of a class
    elif grant.role is Role.LEADER and grant.via != "break_glass":
        sections = LEADER_SECTIONS
    else:
        sections = ALL_SECTIONS
    return View(
        grant=grant,
        sections=frozenset(sections),
        sees_protected_address=user.id == participant.primary_advisor_id
        and grant.role is Role.ADVISOR,
    )


# -- operations ------------------------------------------------------------------


def break_glass(
    session: Session,
    actor: Actor,
    participant: Participant,
    reason: str,
    hours: int = DEFAULT_BREAK_GLASS_HOURS,
) -> BreakGlassGrant:
    """Open a record outside one's assignment, for `hours`, with a written reason."""
    assert actor.user is not None
    grant = actor.authorise(Action.BREAK_GLASS, participant)
    assert grant is not None
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise ValidationFailed(
            N_("Explain why you need access (at least %(min)d characters)."),
            "reason",
            min=MIN_REASON,
        )
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            N_("The reason can be at most %(max)d characters long."), "reason", max=MAX_REASON
        )
    now = utcnow()
    record = BreakGlassGrant(
        user_id=actor.user.id,
        participant_id=participant.id,
        unit_id=participant.unit_id,
        role=grant.role.value,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    record.reason = reason
    session.add(record)
    session.flush()
    actor.record(
        session,
        "participant.break_glass",
        Grant(grant.role, grant.unit_id, via="break_glass"),
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("reason",),
    )
    return record


def review_break_glass(session: Session, actor: Actor, grant_ref: str) -> None:
    """A leader marks a break-the-glass access as reviewed."""
    assert actor.user is not None
    record = session.scalar(select(BreakGlassGrant).where(BreakGlassGrant.ref == grant_ref))
    if record is None or not actor.user.has_role(Role.LEADER, record.unit_id):
        raise NotFound()
    policy_grant = Grant(Role.LEADER, record.unit_id)
    if record.reviewed_at is None:
        record.reviewed_at = utcnow()
        record.reviewed_by_id = actor.user.id
    actor.record(
        session,
        "break_glass.review",
        policy_grant,
        object_type="participant",
        object_ref=record.participant.ref,
    )


def break_glass_for_review(
    session: Session, user: User, only_open: bool = True
) -> list[BreakGlassGrant]:
    units = user.unit_ids(Role.LEADER)
    if not units:
        return []
    stmt = select(BreakGlassGrant).where(BreakGlassGrant.unit_id.in_(units))
    if only_open:
        stmt = stmt.where(BreakGlassGrant.reviewed_at.is_(None))
    return list(session.scalars(stmt.order_by(BreakGlassGrant.created_at.desc()).limit(200)))


def add_consent(
    session: Session,
    actor: Actor,
    participant: Participant,
    *,
    partner_unit: Unit,
    sections: list[Section],
    purpose: str,
    valid_from: date,
    valid_to: date | None,
) -> Consent:
    grant = actor.authorise(Action.CONSENT_MANAGE, participant)
    if not sections:
        raise ValidationFailed(N_("Choose at least one section to share."), "sections")
    if any(s not in CONSENTABLE_SECTIONS for s in sections):
        raise ValidationFailed(N_("Choose sections from the list."), "sections")
    if partner_unit.id == participant.unit_id or not partner_unit.is_active:
        raise ValidationFailed(N_("Choose another, active service to share with."), "partner_unit")
    purpose = " ".join(purpose.split())
    if not purpose:
        raise ValidationFailed(N_("Describe the purpose of sharing."), "purpose")
    if len(purpose) > MAX_PURPOSE:
        raise ValidationFailed(
            N_("The purpose can be at most %(max)d characters long."), "purpose", max=MAX_PURPOSE
        )
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed(N_("The end date must not be before the start date."), "valid_to")
    consent = Consent(
        participant_id=participant.id,
        partner_unit_id=partner_unit.id,
        sections=",".join(sorted(s.value for s in set(sections))),
        valid_from=valid_from,
        valid_to=valid_to,
        created_by_id=actor.user.id if actor.user else None,
    )
    consent.purpose = purpose
    session.add(consent)
    session.flush()
    actor.record(
        session,
        "consent.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=tuple(f"section:{s.value}" for s in sections),
    )
    return consent


def withdraw_consent(
    session: Session, actor: Actor, participant: Participant, consent_id: int
) -> None:
    grant = actor.authorise(Action.CONSENT_MANAGE, participant)
    consent = session.get(Consent, consent_id)
    if consent is None or consent.participant_id != participant.id:
        raise NotFound()
    if consent.withdrawn_at is None:
        consent.withdrawn_at = utcnow()
    actor.record(
        session, "consent.withdraw", grant, object_type="participant", object_ref=participant.ref
    )


def set_restriction(
    session: Session, actor: Actor, participant: Participant, restricted: bool
) -> None:
    """Restrict processing (GDPR art. 18): only the primary advisor may read the record."""
    grant = actor.authorise(Action.PARTICIPANT_RESTRICT, participant)
    participant.is_restricted = restricted
    actor.record(
        session,
        "participant.restrict" if restricted else "participant.unrestrict",
        grant,
        object_type="participant",
        object_ref=participant.ref,
    )


def partner_units(session: Session) -> list[Unit]:
    """Units with partner members: the services a consent can name."""
    from models.accounts import Membership

    return list(
        session.scalars(
            select(Unit)
            .where(
                Unit.is_active.is_(True),
                Unit.id.in_(select(Membership.unit_id).where(Membership.role == Role.PARTNER)),
            )
            .order_by(Unit.name)
        )
    )
