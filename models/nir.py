"""The national-register (NIR) report, the backlog of unreported events and the readiness
for the yearly 28 February clean-up (Norway only).

The report is one row per Norwegian participant of a unit with programme activity in a
year; `models.exports` turns it into a CSV/XLSX file. An *event* is a programme fact the
municipality must report: the programme decision, the start, the start and the end of a
plan element, a leave and the end of the programme. Events are derived from the live
tables every time; only the mark that one was reported is stored (`NirReported`). The
programme's decision, start and end are keyed by their date, so a corrected date is a new
event to report; elements and leave are keyed by their ref.

Callers (the NIR views, the export job) check the leader's unit scope first: nothing in
here looks at who asks.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    Select,
    String,
    UniqueConstraint,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Subquery

from models.base import Base, UTCDateTime, utcnow
from models.codes import Country, ParticipantStatus
from models.crypto import keyring_of
from models.decisions import ProgrammeEnd
from models.errors import N_, ValidationFailed
from models.exports import ExportTable
from models.language import Leave, absence_summaries
from models.participants import Participant
from models.plans import CareerGuidance, Plan, PlanElement
from models.rules import add_months

BATCH = 500  # participants per batch of the report: one query per related table each
BACKLOG_MONTHS = 2  # an event older than this and not reported is overdue
FIRST_YEAR = 2021  # integreringsloven (and NIR reporting under it) from 1 January 2021
MINUTES_PER_HOUR = 60


class EventKind(enum.StrEnum):
    DECISION = "decision"
    START = "start"
    ELEMENT_START = "element_start"
    ELEMENT_END = "element_end"
    LEAVE = "leave"
    END = "end"


EVENT_KIND_LABELS = {
    EventKind.DECISION: N_("Programme decision"),
    EventKind.START: N_("Programme start"),
    EventKind.ELEMENT_START: N_("Plan element started"),
    EventKind.ELEMENT_END: N_("Plan element ended"),
    EventKind.LEAVE: N_("Leave"),
    EventKind.END: N_("Programme end"),
}


class Problem(enum.StrEnum):
    """A data-quality problem that blocks a clean yearly report."""

    END_WITHOUT_DETAILS = "end_without_details"
    START_WITHOUT_DECISION = "start_without_decision"
    ELEMENT_WITHOUT_EXTENT = "element_without_extent"
    MISSING_END_GOAL = "missing_end_goal"


PROBLEM_LABELS = {
    Problem.END_WITHOUT_DETAILS: N_("Programme ended without a recorded kind and reason"),
    Problem.START_WITHOUT_DECISION: N_("Programme started without a decision date"),
    Problem.ELEMENT_WITHOUT_EXTENT: N_("Plan element without hours per week"),
    Problem.MISSING_END_GOAL: N_("Programme started without a plan and end goal"),
}


class NirReported(Base):
    """The mark that one event of a participant was reported to the national register."""

    __tablename__ = "nir_reported"
    __table_args__ = (UniqueConstraint("participant_id", "event_kind", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique constraint below leads with participant_id: it is the index too.
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    event_kind: Mapped[str] = mapped_column(String(20))
    # The element's or leave's ref, or the ISO date for the once-only programme events.
    event_key: Mapped[str] = mapped_column(String(40))
    event_on: Mapped[date] = mapped_column(Date)
    reported_on: Mapped[date] = mapped_column(Date)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- shared SQL pieces ---------------------------------------------------------------------


def _start_on() -> Any:
    # The participant's own start date when typed, else the plan's.
    return func.coalesce(Participant.programme_start_on, Plan.programme_start_on)


def _end_on() -> Any:
    # The recorded end wins; a bare end date on the participant is an end without details.
    return func.coalesce(ProgrammeEnd.ended_on, Participant.programme_end_on)


def _unit_participants(unit_id: int) -> Any:
    return and_(
        Participant.unit_id == unit_id,
        Participant.country == Country.NORWAY,
        Participant.anonymised_at.is_(None),
    )


def _with_plan_and_end(stmt: Select[Any]) -> Select[Any]:
    return stmt.outerjoin(Plan, Plan.participant_id == Participant.id).outerjoin(
        ProgrammeEnd, ProgrammeEnd.participant_id == Participant.id
    )


def _iso(column: Any) -> Any:
    # Both SQLite (text dates) and PostgreSQL (DateStyle ISO) give YYYY-MM-DD.
    return cast(column, String)


def events_subquery(unit_id: int) -> Subquery:
    """Every reportable event of the unit's Norwegian participants, from the live tables:
    columns participant_id, event_kind, event_key, event_on."""
    # The unit's participants once (PostgreSQL materialises a CTE used more than once),
    # instead of one scan of the participants per kind of event.
    unit = (
        select(
            Participant.id,
            Participant.programme_decision_on,
            Participant.programme_start_on,
            Participant.programme_end_on,
        )
        .where(_unit_participants(unit_id))
        .cte("nir_unit")
    )
    start_on = func.coalesce(unit.c.programme_start_on, Plan.programme_start_on)
    end_on = func.coalesce(ProgrammeEnd.ended_on, unit.c.programme_end_on)
    parts: list[Any] = [
        select(
            unit.c.id.label("participant_id"),
            literal(EventKind.DECISION.value).label("event_kind"),
            _iso(unit.c.programme_decision_on).label("event_key"),
            unit.c.programme_decision_on.label("event_on"),
        ).where(unit.c.programme_decision_on.is_not(None)),
        select(unit.c.id, literal(EventKind.START.value), _iso(start_on), start_on)
        .select_from(unit)
        .outerjoin(Plan, Plan.participant_id == unit.c.id)
        .where(start_on.is_not(None)),
        select(unit.c.id, literal(EventKind.END.value), _iso(end_on), end_on)
        .select_from(unit)
        .outerjoin(ProgrammeEnd, ProgrammeEnd.participant_id == unit.c.id)
        .where(end_on.is_not(None)),
    ]
    for kind, column in (
        (EventKind.ELEMENT_START, PlanElement.start_on),
        (EventKind.ELEMENT_END, PlanElement.end_on),
    ):
        parts.append(
            select(PlanElement.participant_id, literal(kind.value), PlanElement.ref, column)
            .join(unit, unit.c.id == PlanElement.participant_id)
            .where(column.is_not(None))
        )
    parts.append(
        select(
            Leave.participant_id, literal(EventKind.LEAVE.value), Leave.ref, Leave.starts_on
        ).join(unit, unit.c.id == Leave.participant_id)
    )
    return union_all(*parts).subquery("nir_events")


def _unreported(events: Subquery) -> Any:
    return ~exists().where(
        NirReported.participant_id == events.c.participant_id,
        NirReported.event_kind == events.c.event_kind,
        NirReported.event_key == events.c.event_key,
    )


# -- the report ---------------------------------------------------------------------------

REPORT_HEADERS = [
    "national_id",
    "reference",
    "municipality",
    "decision_on",
    "start_on",
    "end_goal",
    "competence_mapping_on",
    "career_guidance_on",
    "elements",
    "leave",
    "absence_hours",
    "end_on",
    "end_kind",
    "end_reason",
    "activity_after",
]


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _overlaps(start: Any, end: Any, first: date, last: date) -> Any:
    """`start`..`end` (open-ended when `end` is NULL) meets `first`..`last`."""
    return and_(start.is_not(None), start <= last, or_(end.is_(None), end >= first))


def report_participant_ids(session: Session, unit_id: int, year: int) -> list[int]:
    """The ids of the unit's Norwegian participants with programme activity in `year`:
    decided, in the programme (started and not ended before it), ended, in a plan element
    or on leave during the year."""
    return list(session.scalars(_report_ids(unit_id, year).order_by(Participant.id)))


def _report_ids(unit_id: int, year: int) -> Select[Any]:
    first, last = _year_bounds(year)
    start_on, end_on = _start_on(), _end_on()
    element_in_year = exists().where(
        PlanElement.participant_id == Participant.id,
        _overlaps(PlanElement.start_on, PlanElement.end_on, first, last),
    )
    leave_in_year = exists().where(
        Leave.participant_id == Participant.id,
        _overlaps(Leave.starts_on, Leave.ends_on, first, last),
    )
    stmt = _with_plan_and_end(select(Participant.id)).where(
        _unit_participants(unit_id),
        or_(
            Participant.programme_decision_on.between(first, last),
            _overlaps(start_on, end_on, first, last),
            end_on.between(first, last),
            element_in_year,
            leave_in_year,
        ),
    )
    return stmt


def _hours(value: float) -> str:
    return f"{round(float(value), 2):g}"


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _report_batch(
    session: Session, ids: list[int], first: date, last: date
) -> Iterator[Sequence[object]]:
    start_on, end_on = _start_on(), _end_on()
    people = session.execute(
        _with_plan_and_end(
            select(
                Participant.id,
                Participant.ref,
                Participant.national_id_sealed,
                Participant.settlement_municipality,
                Participant.programme_decision_on,
                start_on,
                Plan.end_goal,
                Participant.competence_mapping_on,
                end_on,
                ProgrammeEnd.kind,
                ProgrammeEnd.reason,
                ProgrammeEnd.activity_after,
            )
        )
        .where(Participant.id.in_(ids))
        .order_by(Participant.id)
    ).all()
    guidance: dict[int, date] = {
        pid: first_given
        for pid, first_given in session.execute(
            select(CareerGuidance.participant_id, func.min(CareerGuidance.given_on))
            .where(CareerGuidance.participant_id.in_(ids))
            .group_by(CareerGuidance.participant_id)
        )
    }
    elements: dict[int, list[str]] = defaultdict(list)
    for pid, kind, e_start, e_end, hours in session.execute(
        select(
            PlanElement.participant_id,
            PlanElement.element_type,
            PlanElement.start_on,
            PlanElement.end_on,
            PlanElement.hours_per_week,
        )
        .where(
            PlanElement.participant_id.in_(ids),
            _overlaps(PlanElement.start_on, PlanElement.end_on, first, last),
        )
        .order_by(PlanElement.participant_id, PlanElement.start_on, PlanElement.id)
    ):
        elements[pid].append(f"{kind.value}:{_day(e_start)}..{_day(e_end)}:{_hours(hours)}")
    leaves: dict[int, list[str]] = defaultdict(list)
    for pid, leave_type, l_start, l_end in session.execute(
        select(Leave.participant_id, Leave.leave_type, Leave.starts_on, Leave.ends_on)
        .where(
            Leave.participant_id.in_(ids), _overlaps(Leave.starts_on, Leave.ends_on, first, last)
        )
        .order_by(Leave.participant_id, Leave.starts_on, Leave.id)
    ):
        leaves[pid].append(f"{leave_type.value}:{_day(l_start)}..{_day(l_end)}")
    absence = absence_summaries(session, ids, first, last)
    keyring = keyring_of(session)
    for (
        pid,
        ref,
        sealed_id,
        municipality,
        decided_on,
        started_on,
        end_goal,
        mapped_on,
        ended_on,
        end_kind,
        end_reason,
        activity_after,
    ) in people:
        national_id = (
            keyring.open(session, sealed_id, Participant.__tablename__, "national_id", ref)
            if sealed_id is not None
            else ""
        )
        summary = absence.get(pid)
        unexcused = summary.unexcused_minutes if summary else 0
        yield (
            national_id,
            ref,
            municipality or "",
            _day(decided_on),
            _day(started_on),
            end_goal.value if end_goal else "",
            _day(mapped_on),
            _day(guidance.get(pid)),
            ";".join(elements.get(pid, ())),
            ";".join(leaves.get(pid, ())),
            round(unexcused / MINUTES_PER_HOUR, 2),
            _day(ended_on),
            end_kind.value if end_kind else "",
            end_reason.value if end_reason else "",
            activity_after.value if activity_after else "",
        )


def report_table(session: Session, unit_id: int, year: int) -> ExportTable:
    """The NIR report of `unit_id` for `year`, for the export job (kind "nir_report").

    The caller has checked the unit scope. Rows are produced batch by batch while the
    table is iterated (the total is known at once); each row holds the decrypted national
    id, so the rows go into the sealed export file and nowhere else.
    """
    ids = report_participant_ids(session, unit_id, year)
    first, last = _year_bounds(year)

    def rows() -> Iterator[Sequence[object]]:
        for offset in range(0, len(ids), BATCH):
            yield from _report_batch(session, ids[offset : offset + BATCH], first, last)

    return ExportTable(headers=list(REPORT_HEADERS), total=len(ids), rows=rows())


# -- backlog ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacklogEvent:
    participant_ref: str
    kind: EventKind
    event_on: date
    age_days: int


def backlog_cutoff(today: date) -> date:
    """Events before this day and not reported are overdue."""
    return add_months(today, -BACKLOG_MONTHS)


def backlog_counts(session: Session, unit_id: int, today: date) -> dict[EventKind, int]:
    """Overdue unreported events of the unit per kind (every kind present, zero or more)."""
    events = events_subquery(unit_id)
    rows = session.execute(
        select(events.c.event_kind, func.count())
        .where(events.c.event_on < backlog_cutoff(today), _unreported(events))
        .group_by(events.c.event_kind)
    )
    counts = dict.fromkeys(EventKind, 0)
    for kind, count in rows:
        counts[EventKind(kind)] = int(count)
    return counts


def backlog_page(
    session: Session, unit_id: int, today: date, page: int, size: int
) -> tuple[list[BacklogEvent], int]:
    """One page of the overdue unreported events, oldest first, and their total."""
    events = events_subquery(unit_id)
    where = (events.c.event_on < backlog_cutoff(today), _unreported(events))
    # The total rides along as a window count (computed before LIMIT), so the union of
    # the event tables is read once; only a page past the end needs the count alone.
    rows = session.execute(
        select(Participant.ref, events.c.event_kind, events.c.event_on, func.count().over())
        .join(Participant, Participant.id == events.c.participant_id)
        .where(*where)
        .order_by(events.c.event_on, Participant.ref, events.c.event_kind, events.c.event_key)
        .limit(size)
        .offset(max(page - 1, 0) * size)
    ).all()
    if rows:
        total = int(rows[0][3])
    else:
        total = int(session.scalar(select(func.count()).select_from(events).where(*where)) or 0)
    items = [
        BacklogEvent(ref, EventKind(kind), on, (today - on).days) for ref, kind, on, _n in rows
    ]
    return items, total


# -- marking ------------------------------------------------------------------------------


def mark_reported(
    session: Session, unit_id: int, up_to: date, user_id: int | None, today: date
) -> dict[EventKind, int]:
    """Mark every unreported event of the unit dated `up_to` or earlier as reported today.

    Insert-if-absent against the unique (participant, kind, key): marking twice, or two
    leaders at once, adds nothing the second time. Returns how many were marked per kind.
    The caller commits and audits.
    """
    if up_to > today:
        raise ValidationFailed(N_("The date cannot be in the future."), "up_to")
    columns = [
        "participant_id",
        "event_kind",
        "event_key",
        "event_on",
        "reported_on",
        "reported_by_id",
        "created_at",
    ]
    insert_into = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    events = events_subquery(unit_id)
    source = select(
        events.c.participant_id,
        events.c.event_kind,
        events.c.event_key,
        events.c.event_on,
        literal(today, Date),
        literal(user_id, Integer),
        literal(utcnow(), UTCDateTime),
    ).where(events.c.event_on <= up_to, _unreported(events))
    table = Base.metadata.tables[NirReported.__tablename__]  # Core: no ORM bulk-insert path
    # RETURNING names only the rows this statement added (not those skipped on conflict),
    # on both SQLite and PostgreSQL.
    statement = (
        insert_into(table)
        .from_select(columns, source)
        .on_conflict_do_nothing()
        .returning(table.c.event_kind)
    )
    marked = dict.fromkeys(EventKind, 0)
    for kind in session.execute(statement).scalars():
        marked[EventKind(kind)] += 1
    return marked


# -- readiness for 28 February --------------------------------------------------------------


def next_deadline(today: date) -> date:
    """The next 28 February (today included)."""
    this_year = date(today.year, 2, 28)
    return this_year if today <= this_year else date(today.year + 1, 2, 28)


def readiness_year(today: date) -> int:
    """The year the next 28 February clean-up covers: the calendar year before it."""
    return next_deadline(today).year - 1


@dataclass(frozen=True)
class ProblemCase:
    problem: Problem
    participant_ref: str


@dataclass(frozen=True)
class Readiness:
    year: int
    deadline: date
    days_left: int
    unreported: dict[EventKind, int]
    problems: dict[Problem, int]
    cases: list[ProblemCase]  # the first few of each problem, to fix

    @property
    def unreported_total(self) -> int:
        return sum(self.unreported.values())

    @property
    def problems_total(self) -> int:
        return sum(self.problems.values())

    @property
    def is_ready(self) -> bool:
        return self.unreported_total == 0 and not any(self.problems.values())


CASES_PER_PROBLEM = 20


def readiness(session: Session, unit_id: int, today: date) -> Readiness:
    """Is the unit ready for the next 28 February clean-up? Unreported events of the year
    it covers (up to today) and the data-quality problems among that year's report rows."""
    year = readiness_year(today)
    deadline = next_deadline(today)
    first, last = _year_bounds(year)
    events = events_subquery(unit_id)
    unreported = dict.fromkeys(EventKind, 0)
    for kind, count in session.execute(
        select(events.c.event_kind, func.count())
        .where(
            events.c.event_on.between(first, min(last, today)),
            _unreported(events),
        )
        .group_by(events.c.event_kind)
    ):
        unreported[EventKind(kind)] = int(count)

    problems = dict.fromkeys(Problem, 0)
    cases: list[ProblemCase] = []
    # Not correlated: the inner query reads its own participants, plans and ends.
    in_report = Participant.id.in_(_report_ids(unit_id, year).correlate(None))
    for problem, stmt in _problem_checks(first, last).items():
        # The count as a window (computed before LIMIT): one query per problem, not two.
        found = stmt.add_columns(func.count().over()).where(in_report)
        rows = session.execute(found.order_by(Participant.id).limit(CASES_PER_PROBLEM)).all()
        problems[problem] = int(rows[0][1]) if rows else 0
        cases.extend(ProblemCase(problem, ref) for ref, _n in rows)
    return Readiness(
        year=year,
        deadline=deadline,
        days_left=(deadline - today).days,
        unreported=unreported,
        problems=problems,
        cases=cases,
    )


def _problem_checks(first: date, last: date) -> dict[Problem, Select[Any]]:
    """For each data-quality problem: the refs of the participants that have it."""
    start_on = _start_on()
    return {
        Problem.END_WITHOUT_DETAILS: _with_plan_and_end(select(Participant.ref)).where(
            or_(
                Participant.programme_end_on.is_not(None),
                Participant.status == ParticipantStatus.ENDED,
            ),
            ProgrammeEnd.id.is_(None),
        ),
        Problem.START_WITHOUT_DECISION: _with_plan_and_end(select(Participant.ref)).where(
            start_on.is_not(None), Participant.programme_decision_on.is_(None)
        ),
        Problem.ELEMENT_WITHOUT_EXTENT: select(Participant.ref).where(
            exists().where(
                PlanElement.participant_id == Participant.id,
                _overlaps(PlanElement.start_on, PlanElement.end_on, first, last),
                or_(PlanElement.hours_per_week.is_(None), PlanElement.hours_per_week <= 0),
            )
        ),
        Problem.MISSING_END_GOAL: _with_plan_and_end(select(Participant.ref)).where(
            Participant.programme_start_on.is_not(None), Plan.id.is_(None)
        ),
    }
