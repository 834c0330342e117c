"""Tasks: something someone must do by a date, about one participant.

A task comes from a follow-up's next actions or is set by hand. Its title may name
personal matters, so it is sealed; the dates, the participant and the people stay
clear, so "My tasks" and the caseload sort and group in SQL.

Who may do what:
* create a task: a user with `Action.TASK_WORK` on the participant (the assigned
  advisors and the leaders of the participant's unit);
* hold a task (be its assignee): a user who may read the participant and holds a
  role that does task work (`can(user, TASK_WORK, participant)`);
* mark a task done or open it again: its assignee, or an advisor of the participant.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Select,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from models.accounts import Role, User
from models.base import Base, UTCDateTime, Versioned, utcnow
from models.crypto import Encrypted, Referenced, Sealed
from models.errors import N_, Forbidden, NotFound, StaleEdit, ValidationFailed
from models.participants import Participant
from models.policy import Action, Actor, Grant, can, scoped

if TYPE_CHECKING:
    from models.followups import FollowUp

MAX_TITLE = 200
# Not law: the horizon of "due soon" on the My tasks page and the overview.
DUE_SOON_DAYS = 7
# A due date further ahead than this is almost certainly a typing error.
MAX_DUE_AHEAD = timedelta(days=3 * 366)
# How many completed tasks "My tasks" shows, and how far back.
RECENTLY_DONE_LIMIT = 10
RECENTLY_DONE_DAYS = 14
# The overview lists a participant's open tasks up to this many.
OVERVIEW_TASKS = 10


class TaskDue(enum.StrEnum):
    OVERDUE = "overdue"
    SOON = "soon"
    LATER = "later"
    DONE = "done"


TASK_DUE_LABELS = {
    TaskDue.OVERDUE: N_("Overdue"),
    TaskDue.SOON: N_("Due within 7 days"),
    TaskDue.LATER: N_("Later"),
    TaskDue.DONE: N_("Done"),
}


def due_status(due_on: date, today: date, *, done: bool = False) -> TaskDue:
    """Due today counts as soon, not overdue; due yesterday is overdue; the soon window
    ends `DUE_SOON_DAYS` after today (inclusive)."""
    if done:
        return TaskDue.DONE
    if due_on < today:
        return TaskDue.OVERDUE
    if due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return TaskDue.SOON
    return TaskDue.LATER


class Task(Referenced, Versioned, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_open", "assignee_id", "done_at", "due_on"),
        Index("ix_tasks_participant_open", "participant_id", "done_at", "due_on"),
        # "Tasks you set for others" on My tasks (a seq scan of 200k tasks without it).
        Index("ix_tasks_creator_open", "created_by_id", "done_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Sealed: "call the doctor about the pregnancy" names a personal matter.
    title_sealed: Mapped[bytes | None] = mapped_column("title", Sealed)
    title = Encrypted("title_sealed")
    due_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    participant: Mapped[Participant] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id], lazy="joined")
    follow_up: Mapped[FollowUp | None] = relationship(back_populates="tasks")

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def status(self, today: date) -> TaskDue:
        return due_status(self.due_on, today, done=self.is_done)


# -- checks ----------------------------------------------------------------------


def may_hold(user: User | None, participant: Participant) -> bool:
    """May `user` be assigned a task about `participant`? They must see the record and
    hold a role that does task work on it."""
    return (
        user is not None
        and user.is_active
        and can(user, Action.PARTICIPANT_READ, participant)
        and can(user, Action.TASK_WORK, participant)
    )


def check_title(title: str, field_name: str = "title") -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed(N_("Say what is to be done."), field_name)
    if len(title) > MAX_TITLE:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), field_name, max=MAX_TITLE
        )
    return title


def check_due(due_on: date | None, today: date, field_name: str = "due_on") -> date:
    if due_on is None:
        raise ValidationFailed(N_("Enter the due date."), field_name)
    if due_on < today:
        raise ValidationFailed(N_("The due date cannot be in the past."), field_name)
    if due_on > today + MAX_DUE_AHEAD:
        raise ValidationFailed(
            N_("Check the due date: it is more than three years ahead."), field_name
        )
    return due_on


def check_assignee(
    user: User | None, participant: Participant, field_name: str = "assignee"
) -> User:
    if user is None or not may_hold(user, participant):
        raise ValidationFailed(N_("Choose someone who works with this participant."), field_name)
    return user


def assignee_candidates(session: Session, participant: Participant) -> list[User]:
    """The people a task about `participant` may be given to, by name: those who may
    read the record (one query) and hold task work on it (checked on that short list)."""
    from models.access import staff_who_may_read

    return [u for u in staff_who_may_read(session, participant) if may_hold(u, participant)]


# -- next actions: the task rows of a follow-up or a housing note ------------------

MAX_NEXT_ACTIONS = 3


@dataclass
class NextAction:
    """One row of "next actions" in a form; an empty row is skipped."""

    title: str = ""
    assignee: User | None = None
    assignee_given: bool = False  # something was chosen, even if unknown
    due_on: date | None = None

    @property
    def is_empty(self) -> bool:
        return not self.title.strip() and not self.assignee_given and self.due_on is None


def clean_next_actions(
    actions: list[NextAction], participant: Participant, today: date
) -> list[tuple[str, User, date]]:
    """The filled rows, checked (title, an assignee who may hold the task, a due date);
    errors name the row's field (`action1_title`, …)."""
    if len(actions) > MAX_NEXT_ACTIONS:
        raise ValidationFailed(
            N_("At most %(max)d next actions at a time."), None, max=MAX_NEXT_ACTIONS
        )
    clean = []
    for number, action in enumerate(actions, start=1):
        if action.is_empty:
            continue
        prefix = f"action{number}_"
        title = check_title(action.title, prefix + "title")
        assignee = check_assignee(action.assignee, participant, prefix + "assignee")
        due_on = check_due(action.due_on, today, prefix + "due_on")
        clean.append((title, assignee, due_on))
    return clean


# -- operations --------------------------------------------------------------------


def new_task(
    session: Session,
    actor: Actor,
    participant: Participant,
    *,
    title: str,
    assignee: User,
    due_on: date,
    follow_up_id: int | None = None,
) -> Task:
    """Build a task from checked values (no policy check, no audit event: the caller's
    operation does both)."""
    task = Task(
        participant_id=participant.id,
        follow_up_id=follow_up_id,
        assignee_id=assignee.id,
        due_on=due_on,
        created_by_id=actor.user.id if actor.user else None,
    )
    task.title = title
    session.add(task)
    return task


def add_task(
    session: Session,
    actor: Actor,
    participant: Participant,
    *,
    title: str,
    assignee: User | None,
    due_on: date | None,
    today: date,
) -> Task:
    """Set a task by hand. Callers: anyone with TASK_WORK on the participant."""
    grant = actor.authorise(Action.TASK_WORK, participant)
    clean_title = check_title(title)
    holder = check_assignee(assignee, participant)
    due = check_due(due_on, today)
    task = new_task(session, actor, participant, title=clean_title, assignee=holder, due_on=due)
    session.flush()
    actor.record(
        session,
        "task.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("tasks",),
    )
    return task


def get_task(session: Session, ref: str) -> Task:
    task = session.scalar(select(Task).options(joinedload(Task.participant)).where(Task.ref == ref))
    if task is None:
        raise NotFound()
    return task


def _authorise_completion(actor: Actor, task: Task) -> Grant | None:
    """The assignee, or an advisor of the participant; anyone else who cannot see the
    participant gets 404, someone who can but is neither gets 403."""
    grant = actor.authorise(Action.TASK_WORK, task.participant)
    user = actor.user
    if user is None:
        return grant
    is_advisor = grant is not None and grant.role is Role.ADVISOR
    if user.id != task.assignee_id and not is_advisor:
        raise Forbidden()
    return grant


def set_done(
    session: Session, actor: Actor, task: Task, done: bool, expected_version: int | None = None
) -> bool:
    """Mark `task` done (or open it again). Returns False when nothing changed (someone
    else did it already). Callers: the assignee or an advisor of the participant."""
    grant = _authorise_completion(actor, task)
    if expected_version is not None and task.version != expected_version:
        if task.is_done == done:
            return False
        raise StaleEdit()
    if task.is_done == done:
        return False
    if done:
        task.done_at = utcnow()
        task.done_by_id = actor.user.id if actor.user else None
    else:
        task.done_at = None
        task.done_by_id = None
    session.flush()
    actor.record(
        session,
        "task.done" if done else "task.reopen",
        grant,
        object_type="participant",
        object_ref=task.participant.ref,
        field_categories=("tasks",),
    )
    return True


# -- reading -----------------------------------------------------------------------


def _visible_participants(user: User) -> Select[Any]:
    stmt = scoped(select(Participant.id), user, Action.TASK_WORK, Participant)
    return stmt.where(Participant.anonymised_at.is_(None))


def my_open_tasks(user: User) -> Select[Task]:
    """The user's open tasks, about participants they may still see, earliest due first."""
    return (
        select(Task)
        .options(joinedload(Task.participant))
        .where(
            Task.assignee_id == user.id,
            Task.done_at.is_(None),
            Task.participant_id.in_(_visible_participants(user)),
        )
        .order_by(Task.due_on, Task.id)
    )


def my_recently_done(session: Session, user: User, now: datetime) -> list[Task]:
    return list(
        session.scalars(
            select(Task)
            .options(joinedload(Task.participant))
            .where(
                Task.assignee_id == user.id,
                Task.done_at.is_not(None),
                Task.done_at >= now - timedelta(days=RECENTLY_DONE_DAYS),
                Task.participant_id.in_(_visible_participants(user)),
            )
            .order_by(Task.done_at.desc(), Task.id.desc())
            .limit(RECENTLY_DONE_LIMIT)
        )
    )


def created_for_others(user: User) -> Select[Task]:
    """Open tasks the user set for somebody else, about participants they may still see."""
    return (
        select(Task)
        .options(joinedload(Task.participant))
        .where(
            Task.created_by_id == user.id,
            Task.assignee_id != user.id,
            Task.done_at.is_(None),
            Task.participant_id.in_(_visible_participants(user)),
        )
        .order_by(Task.due_on, Task.id)
    )


def count_due(session: Session, user: User, today: date) -> tuple[int, int]:
    """(overdue, due today) among the user's open tasks, for the home page."""
    base = (
        select(func.count())
        .select_from(Task)
        .where(
            Task.assignee_id == user.id,
            Task.done_at.is_(None),
            Task.participant_id.in_(_visible_participants(user)),
        )
    )
    overdue = int(session.scalar(base.where(Task.due_on < today)) or 0)
    due_today = int(session.scalar(base.where(Task.due_on == today)) or 0)
    return overdue, due_today


@dataclass(frozen=True)
class TaskGroups:
    overdue: list[Task]
    soon: list[Task]
    later: list[Task]


def group(tasks: list[Task], today: date) -> TaskGroups:
    groups: dict[TaskDue, list[Task]] = {s: [] for s in TaskDue}
    for task in tasks:
        groups[task.status(today)].append(task)
    return TaskGroups(groups[TaskDue.OVERDUE], groups[TaskDue.SOON], groups[TaskDue.LATER])


def open_tasks_of(
    session: Session, participant: Participant, limit: int = OVERVIEW_TASKS
) -> list[Task]:
    """A participant's open tasks, earliest due first (the caller checked the section)."""
    return list(
        session.scalars(
            select(Task)
            .where(Task.participant_id == participant.id, Task.done_at.is_(None))
            .order_by(Task.due_on, Task.id)
            .limit(limit)
        )
    )


def tasks_of(participant: Participant) -> Select[Task]:
    """Every task of a participant: open ones first by due date, then done ones, newest first."""
    return (
        select(Task)
        .where(Task.participant_id == participant.id)
        .order_by(Task.done_at.is_not(None), Task.due_on, Task.done_at.desc(), Task.id)
    )


def next_open_tasks(session: Session, participant_ids: list[int]) -> dict[int, Task]:
    """Each listed participant's earliest open task, in one query (the caseload's column).
    The caller passes only participants the viewer may see."""
    if not participant_ids:
        return {}
    ranked = (
        select(
            Task.id.label("task_id"),
            func.row_number()
            .over(partition_by=Task.participant_id, order_by=(Task.due_on, Task.id))
            .label("rank"),
        )
        .where(Task.participant_id.in_(participant_ids), Task.done_at.is_(None))
        .subquery()
    )
    rows = session.scalars(
        select(Task).join(ranked, ranked.c.task_id == Task.id).where(ranked.c.rank == 1)
    )
    return {task.participant_id: task for task in rows}
