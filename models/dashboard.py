"""The unit leader's dashboard: caseload figures per unit and per advisor, bulk
reassignment and a search of the audit log.

Every figure is an aggregate computed in SQL (GROUP BY) over the leader's scoped
participants, so the dashboard costs the same few queries at 100 or 100 000
participants; no participant is loaded into Python to be counted. Only leaders call
these functions (the views check `Action.PARTICIPANT_REASSIGN`); `reassign_many`
changes advisors, the rest read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from models.access import led_units
from models.accounts import Membership, Role, User
from models.audit import AuditEvent
from models.base import LOCAL_ZONE, tune_for_unit_report
from models.codes import ParticipantStatus
from models.deadlines import DUE_SOON_DAYS
from models.errors import N_, ValidationFailed
from models.participants import Participant, reassign
from models.plans import Plan
from models.policy import Action, Actor, scoped
from models.tasks import Task

# A participant in one of these statuses is expected to have a next step.
OPEN_STATUSES = (
    ParticipantStatus.REGISTERED,
    ParticipantStatus.ACTIVE,
    ParticipantStatus.ON_LEAVE,
)
# One bulk reassignment changes at most this many records (a page or a few of them).
MAX_REASSIGN = 200
MAX_AUDIT_USER_QUERY = 254
MAX_REF = 40
# How far back the audit search may reach in one go; the log is long.
MAX_AUDIT_PERIOD = timedelta(days=366 * 2)


@dataclass
class AdvisorFigures:
    """One row of the per-advisor table; `advisor_id` None is "no primary advisor"."""

    advisor_id: int | None
    name: str | None
    caseload: int = 0
    overdue_tasks: int = 0
    reviews_due: int = 0
    deadlines_due: int = 0
    without_next_step: int = 0


@dataclass
class UnitFigures:
    unit_id: int
    name: str
    by_status: dict[str, int] = field(default_factory=dict)
    advisors: list[AdvisorFigures] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def totals(self) -> AdvisorFigures:
        row = AdvisorFigures(None, None)
        for advisor in self.advisors:
            row.caseload += advisor.caseload
            row.overdue_tasks += advisor.overdue_tasks
            row.reviews_due += advisor.reviews_due
            row.deadlines_due += advisor.deadlines_due
            row.without_next_step += advisor.without_next_step
        return row


def leader_participants(user: User, columns: Sequence[Any]) -> Select[Any]:
    """`columns` of the participants of the units `user` leads, through the policy.

    The policy's list scope may add participants the user sees as an advisor elsewhere;
    the dashboard is about the led units only, so it is narrowed to them.
    """
    stmt = scoped(select(*columns), user, Action.PARTICIPANT_LIST, Participant)
    return stmt.where(
        Participant.unit_id.in_(user.unit_ids(Role.LEADER) or {-1}),
        Participant.anonymised_at.is_(None),
    )


def advisors_of(session: Session, unit_ids: set[int]) -> list[tuple[int, User]]:
    """(unit id, advisor) for the active advisors of `unit_ids`, by name."""
    if not unit_ids:
        return []
    rows = session.execute(
        select(Membership.unit_id, User)
        .join(User, Membership.user_id == User.id)
        .where(
            Membership.unit_id.in_(unit_ids),
            Membership.role == Role.ADVISOR,
            User.is_active.is_(True),
        )
        .order_by(User.display_name, User.id)
    )
    return [(unit_id, user) for unit_id, user in rows]


def dashboard(session: Session, user: User, today: date) -> list[UnitFigures]:
    """The figures of every unit `user` leads. Two aggregate queries in all."""
    units = led_units(session, user)
    if not units:
        return []
    tune_for_unit_report(session)
    figures = {u.id: UnitFigures(u.id, u.name) for u in units}
    soon = today + timedelta(days=DUE_SOON_DAYS)
    rows: dict[tuple[int, int | None], AdvisorFigures] = {}

    def row(unit_id: int, advisor_id: int | None) -> AdvisorFigures:
        key = (unit_id, advisor_id)
        if key not in rows:
            rows[key] = AdvisorFigures(advisor_id, None)
        return rows[key]

    for unit_id, advisor in advisors_of(session, set(figures)):
        row(unit_id, advisor.id).name = advisor.display_name

    # One pass over the led units' participants, grouped by advisor and status (the status
    # counts are summed from it), with each participant's open and overdue tasks counted
    # in one grouped read of the open-task index: two passes and two correlated counts
    # per participant made the page miss its p95 under load. The participants and plans
    # are read from covering indexes (migration 0016).
    led = leader_participants(user, (Participant.id,))
    tasks = (
        select(
            Task.participant_id,
            func.count().label("open"),
            func.count().filter(Task.due_on < today).label("overdue"),
        )
        .where(Task.done_at.is_(None), Task.participant_id.in_(led))
        .group_by(Task.participant_id)
        .subquery("open_tasks")
    )
    open_tasks = func.coalesce(tasks.c.open, 0)
    without_next_step = and_(
        Participant.status.in_(OPEN_STATUSES),
        Participant.next_deadline_on.is_(None),
        open_tasks == 0,
    )
    review_due = and_(Participant.status.in_(OPEN_STATUSES), Plan.review_due_on <= soon)
    per_advisor = (
        leader_participants(
            user,
            (
                Participant.unit_id,
                Participant.primary_advisor_id,
                Participant.status,
                func.count(Participant.id),
                func.sum(case((Participant.next_deadline_on <= soon, 1), else_=0)),
                func.sum(case((without_next_step, 1), else_=0)),
                func.sum(func.coalesce(tasks.c.overdue, 0)),
                func.sum(case((review_due, 1), else_=0)),
            ),
        )
        # One plan per participant (unique): the outer join keeps one row each.
        .outerjoin(Plan, Plan.participant_id == Participant.id)
        .outerjoin(tasks, tasks.c.participant_id == Participant.id)
        .group_by(Participant.unit_id, Participant.primary_advisor_id, Participant.status)
    )
    for unit_id, advisor_id, status, count, deadlines, idle, overdue, reviews in session.execute(
        per_advisor
    ):
        if unit_id in figures:
            by_status = figures[unit_id].by_status
            key = ParticipantStatus(status).value
            by_status[key] = by_status.get(key, 0) + int(count)
        item = row(unit_id, advisor_id)
        item.caseload += int(count)
        item.deadlines_due += int(deadlines or 0)
        item.without_next_step += int(idle or 0)
        item.overdue_tasks += int(overdue or 0)
        item.reviews_due += int(reviews or 0)

    for (unit_id, _advisor_id), item in rows.items():
        if unit_id in figures:
            figures[unit_id].advisors.append(item)
    for unit in figures.values():
        # Named advisors by name; the "no primary advisor" row last.
        unit.advisors.sort(key=lambda a: (a.advisor_id is None, (a.name or "").casefold()))
    # An assigned advisor who is no longer an advisor of the unit has no name yet.
    missing = {a.advisor_id for u in figures.values() for a in u.advisors if a.name is None}
    missing.discard(None)
    if missing:
        names = dict(
            session.execute(select(User.id, User.display_name).where(User.id.in_(missing))).all()
        )
        for unit in figures.values():
            for figure in unit.advisors:
                if figure.advisor_id in names:
                    figure.name = names[figure.advisor_id]
    return list(figures.values())


# -- reassignment -------------------------------------------------------------------


def reassign_many(
    session: Session, actor: Actor, refs: Sequence[str], primary: User | None
) -> list[Participant]:
    """A leader gives the participants `refs` (of their units) to a new primary advisor.

    Each participant goes through `models.participants.reassign` (one audit event
    each); the secondary advisor stays unless it is the new primary. Raises
    `ValidationFailed` before changing anything when the choice is empty or a
    participant is not the leader's, and `reassign` refuses an advisor of another
    unit; the caller rolls back on any error, so nothing is half-saved.
    """
    assert actor.user is not None
    wanted = list(dict.fromkeys(r for r in refs if r))
    if not wanted:
        raise ValidationFailed(N_("Choose at least one participant."), "participants")
    if len(wanted) > MAX_REASSIGN:
        raise ValidationFailed(
            N_("Choose at most %(max)d participants at a time."), "participants", max=MAX_REASSIGN
        )
    if primary is None:
        raise ValidationFailed(N_("Choose the new primary advisor."), "primary_advisor")
    found = list(
        session.scalars(
            leader_participants(actor.user, (Participant,))
            .where(Participant.ref.in_(wanted))
            .order_by(Participant.id)
        )
    )
    if len(found) != len(wanted):
        raise ValidationFailed(N_("Choose participants from the list."), "participants")
    for participant in found:
        secondary = participant.secondary_advisor
        if secondary is not None and secondary.id == primary.id:
            secondary = None
        reassign(session, actor, participant, primary, secondary)
    return found


# -- audit search -------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    participant_ref: str = ""
    user: str = ""
    date_from: date | None = None
    date_to: date | None = None


def staff_ids(session: Session, unit_ids: set[int]) -> Select[Any]:
    return select(Membership.user_id).where(Membership.unit_id.in_(unit_ids or {-1}))


def _matching_staff(session: Session, unit_ids: set[int], text: str) -> list[int]:
    """Staff of `unit_ids` whose e-mail equals, or whose name contains, `text`."""
    needle = text.strip().casefold()
    rows = session.execute(
        select(User.id, User.email, User.display_name)
        .where(User.id.in_(staff_ids(session, unit_ids)))
        .order_by(User.id)
    )
    return [
        ident
        for ident, email, name in rows
        if email.casefold() == needle or needle in (name or "").casefold()
    ]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_ZONE)


def audit_search(session: Session, user: User, query: AuditQuery, today: date) -> Select[Any]:
    """Audit events the leader `user` may see, newest first, narrowed by `query`.

    A leader sees events about the participants of the units they lead and events by
    the staff of those units, nothing else. Raises `ValidationFailed` for a bad period
    or a user that matches nobody of the staff.
    """
    units = user.unit_ids(Role.LEADER)
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise ValidationFailed(N_("The start of the period must be before its end."), "date_from")
    if query.date_from and query.date_from > today:
        raise ValidationFailed(N_("The period cannot start in the future."), "date_from")
    if query.date_from and query.date_to and query.date_to - query.date_from > MAX_AUDIT_PERIOD:
        raise ValidationFailed(N_("Choose a period of at most two years."), "date_to")
    unit_refs = select(Participant.ref).where(Participant.unit_id.in_(units or {-1}))
    about_unit = and_(AuditEvent.object_type == "participant", AuditEvent.object_ref.in_(unit_refs))
    by_staff = AuditEvent.actor_user_id.in_(staff_ids(session, units))
    stmt = select(AuditEvent).where(or_(about_unit, by_staff))
    ref = query.participant_ref.strip()
    if ref:
        stmt = stmt.where(AuditEvent.object_type == "participant", AuditEvent.object_ref == ref)
    if query.user.strip():
        matches = _matching_staff(session, units, query.user)
        if not matches:
            raise ValidationFailed(N_("Nobody of your unit's staff matches this."), "user")
        stmt = stmt.where(AuditEvent.actor_user_id.in_(matches))
    if query.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= _start_of(query.date_from))
    if query.date_to:
        stmt = stmt.where(AuditEvent.occurred_at < _start_of(query.date_to + timedelta(days=1)))
    return stmt.order_by(AuditEvent.seq.desc())
