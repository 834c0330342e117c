"""Follow-ups: logged meetings, calls and visits, with next actions that become tasks.

The summary and the names of external attendees are sealed (they are free text
about a person); the time, the kind, the interpreter and the staff attendees stay
clear. A follow-up is corrected in place under optimistic locking.

Who may do what: the participant's assigned advisors log and correct follow-ups
(`Action.FOLLOW_UP_WRITE`); reading is `PARTICIPANT_READ` plus the record's
follow-up section, which the view checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Select,
    String,
    Table,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from models.accounts import Role, User
from models.base import LOCAL_ZONE, Base, UTCDateTime, Versioned, code_enum, utcnow
from models.codes import FollowUpKind
from models.crypto import Encrypted, Referenced, Sealed
from models.errors import N_, NotFound, StaleEdit, ValidationFailed
from models.participants import LANGUAGE_CODE_LENGTH, LANGUAGE_PATTERN, Participant
from models.policy import Action, Actor, can
from models.tasks import (
    NextAction,
    Task,
    clean_next_actions,
    new_task,
)

MAX_SUMMARY = 8000
MAX_EXTERNALS = 500
MAX_ATTENDEES = 20
OVERVIEW_FOLLOW_UPS = 3
# Not law: a follow-up older than this is almost certainly a typing error in the year.
MAX_AGE = timedelta(days=5 * 366)


follow_up_attendees = Table(
    "follow_up_attendees",
    Base.metadata,
    Column(
        "follow_up_id",
        ForeignKey("follow_ups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class FollowUp(Referenced, Versioned, Base):
    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_participant_occurred", "participant_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[FollowUpKind] = mapped_column(code_enum(FollowUpKind, 30))
    interpreter_used: Mapped[bool] = mapped_column(Boolean, default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(LANGUAGE_CODE_LENGTH))
    # Free text about people outside Veiviser ("the participant's sister", "NAV's X"): sealed.
    externals_sealed: Mapped[bytes | None] = mapped_column("externals", Sealed)
    externals = Encrypted("externals_sealed")
    summary_sealed: Mapped[bytes | None] = mapped_column("summary", Sealed)
    summary = Encrypted("summary_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendees: Mapped[list[User]] = relationship(
        secondary=follow_up_attendees, order_by=User.display_name
    )
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    tasks: Mapped[list[Task]] = relationship(
        back_populates="follow_up", order_by=(Task.due_on, Task.id)
    )

    @property
    def local_time(self) -> datetime:
        return self.occurred_at.astimezone(LOCAL_ZONE)

    @property
    def summary_first_line(self) -> str:
        text = (self.summary or "").strip()
        first = text.splitlines()[0] if text else ""
        return first if len(first) <= 120 else first[:119] + "…"


@dataclass
class FollowUpInput:
    """What the follow-up form hands to the domain, already typed."""

    occurred_on: date | None = None
    occurred_time: time | None = None
    kind: FollowUpKind | None = None
    interpreter_used: bool = False
    interpreter_language: str = ""
    attendees: list[User] = field(default_factory=list)
    attendees_valid: bool = True  # False when an unknown user id was posted
    externals: str = ""
    summary: str = ""
    next_actions: list[NextAction] = field(default_factory=list)


@dataclass(frozen=True)
class _Clean:
    occurred_at: datetime
    kind: FollowUpKind
    interpreter_used: bool
    interpreter_language: str | None
    attendees: list[User]
    externals: str | None
    summary: str


def may_attend(user: User, participant: Participant) -> bool:
    """Staff named as attendees must be people who may see the participant."""
    return (
        user.is_active
        and bool(user.roles() & {Role.ADVISOR, Role.LEADER})
        and can(user, Action.PARTICIPANT_READ, participant)
    )


def attendee_candidates(session: Session, participant: Participant) -> list[User]:
    """Staff who may see the record (and so may be named as attendees), by name."""
    from models.access import staff_who_may_read

    return staff_who_may_read(session, participant)


def _clean(data: FollowUpInput, participant: Participant, now: datetime) -> _Clean:
    if data.occurred_on is None:
        raise ValidationFailed(N_("Enter the date of the follow-up."), "occurred_on")
    if data.occurred_time is None:
        raise ValidationFailed(N_("Enter the time of the follow-up."), "occurred_time")
    local_now = now.astimezone(LOCAL_ZONE)
    if data.occurred_on > local_now.date():
        raise ValidationFailed(
            N_("A follow-up is logged after it took place: the date cannot be in the future."),
            "occurred_on",
        )
    if data.occurred_on < local_now.date() - MAX_AGE:
        raise ValidationFailed(N_("Check the date: it is more than five years ago."), "occurred_on")
    occurred_at = datetime.combine(data.occurred_on, data.occurred_time, tzinfo=LOCAL_ZONE)
    if data.kind is None:
        raise ValidationFailed(N_("Choose the kind of follow-up."), "kind")
    language = (data.interpreter_language or "").strip().lower()
    if language and not LANGUAGE_PATTERN.match(language):
        raise ValidationFailed(N_("Choose a language from the list."), "interpreter_language")
    if language and not data.interpreter_used:
        raise ValidationFailed(
            N_('Tick "interpreter used" or leave the language empty.'), "interpreter_language"
        )
    if not data.attendees_valid or len(data.attendees) > MAX_ATTENDEES:
        raise ValidationFailed(N_("Choose attendees from the list."), "attendees")
    attendees = list({u.id: u for u in data.attendees}.values())
    if any(not may_attend(u, participant) for u in attendees):
        raise ValidationFailed(
            N_("Choose attendees from the list: only staff who may see the participant."),
            "attendees",
        )
    externals = " ".join((data.externals or "").split())
    if len(externals) > MAX_EXTERNALS:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), "externals", max=MAX_EXTERNALS
        )
    summary = (data.summary or "").strip()
    if not summary:
        raise ValidationFailed(N_("Write a summary of the follow-up."), "summary")
    if len(summary) > MAX_SUMMARY:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), "summary", max=MAX_SUMMARY
        )
    return _Clean(
        occurred_at=occurred_at,
        kind=data.kind,
        interpreter_used=data.interpreter_used,
        interpreter_language=language or None,
        attendees=attendees,
        externals=externals or None,
        summary=summary,
    )


def _apply(follow_up: FollowUp, clean: _Clean) -> set[str]:
    changed: set[str] = set()
    for name in ("occurred_at", "kind", "interpreter_used", "interpreter_language"):
        if getattr(follow_up, name) != getattr(clean, name):
            setattr(follow_up, name, getattr(clean, name))
            changed.add("interpreter" if name.startswith("interpreter") else name)
    for name in ("externals", "summary"):
        if getattr(follow_up, name) != getattr(clean, name):
            setattr(follow_up, name, getattr(clean, name))
            changed.add("attendees" if name == "externals" else name)
    if {u.id for u in follow_up.attendees} != {u.id for u in clean.attendees}:
        follow_up.attendees = list(clean.attendees)
        changed.add("attendees")
    return changed


def log_follow_up(
    session: Session,
    actor: Actor,
    participant: Participant,
    data: FollowUpInput,
    *,
    today: date,
) -> FollowUp:
    """Log a follow-up; every filled next-action row becomes a task linked to it.
    Callers: the participant's assigned advisors (FOLLOW_UP_WRITE)."""
    grant = actor.authorise(Action.FOLLOW_UP_WRITE, participant)
    clean = _clean(data, participant, utcnow())
    actions = clean_next_actions(data.next_actions, participant, today)
    follow_up = FollowUp(
        participant_id=participant.id,
        created_by_id=actor.user.id if actor.user else None,
    )
    # Seal the values before the row is in the session: the object has its ref already.
    _apply(follow_up, clean)
    session.add(follow_up)
    session.flush()
    for title, assignee, due_on in actions:
        new_task(
            session,
            actor,
            participant,
            title=title,
            assignee=assignee,
            due_on=due_on,
            follow_up_id=follow_up.id,
        )
    session.flush()
    categories = ["follow_up", "summary", "attendees"]
    if actions:
        categories.append("tasks")
    actor.record(
        session,
        "follow_up.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=tuple(categories),
    )
    return follow_up


def correct_follow_up(
    session: Session,
    actor: Actor,
    follow_up: FollowUp,
    participant: Participant,
    expected_version: int,
    data: FollowUpInput,
) -> set[str]:
    """Correct a logged follow-up (its tasks are worked on separately).
    Callers: the participant's assigned advisors (FOLLOW_UP_WRITE)."""
    grant = actor.authorise(Action.FOLLOW_UP_WRITE, participant)
    if follow_up.participant_id != participant.id:
        raise NotFound()
    if follow_up.version != expected_version:
        raise StaleEdit()
    clean = _clean(data, participant, utcnow())
    changed = _apply(follow_up, clean)
    if not changed:
        return changed
    follow_up.updated_at = utcnow()
    follow_up.updated_by_id = actor.user.id if actor.user else None
    session.flush()
    actor.record(
        session,
        "follow_up.update",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=tuple(sorted({"follow_up", *changed})),
    )
    return changed


# -- reading -----------------------------------------------------------------------


def follow_ups_of(participant: Participant) -> Select[FollowUp]:
    """Newest first; attendees come in one extra query per page, not one per row."""
    return (
        select(FollowUp)
        .options(selectinload(FollowUp.attendees))
        .where(FollowUp.participant_id == participant.id)
        .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc())
    )


def get_follow_up(session: Session, participant: Participant, ref: str) -> FollowUp:
    follow_up = session.scalar(
        select(FollowUp)
        .options(selectinload(FollowUp.attendees), selectinload(FollowUp.tasks))
        .where(FollowUp.ref == ref, FollowUp.participant_id == participant.id)
    )
    if follow_up is None:
        raise NotFound()
    return follow_up


def latest(
    session: Session, participant: Participant, limit: int = OVERVIEW_FOLLOW_UPS
) -> list[FollowUp]:
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.participant_id == participant.id)
            .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc())
            .limit(limit)
        )
    )
