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
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.selectable import CTE

from models.base import Base, UTCDateTime, tune_for_unit_report, utcnow
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


def _kinds(*kinds: EventKind) -> Subquery:
    """A one-column table of event kinds, to turn one row of a source into one per kind."""
    rows = [select(literal(kind.value, String).label("kind")) for kind in kinds]
    return union_all(*rows).subquery("nir_kinds_" + "_".join(k.value for k in kinds))


def _by_kind(kinds: Subquery, values: dict[EventKind, Any]) -> Any:
    return case(*((kinds.c.kind == kind.value, value) for kind, value in values.items()))


def _unit_rows(unit_id: int) -> CTE:
    """The unit's Norwegian participants, each with plan and end: every event and check
    below reads these columns, so one statement reads the participants once."""
    return _with_plan_and_end(
        select(
            Participant.id,
            Participant.ref,
            Participant.status,
            Participant.programme_decision_on.label("decision_on"),
            Participant.programme_start_on.label("own_start_on"),
            Participant.programme_end_on.label("own_end_on"),
            _start_on().label("start_on"),
            _end_on().label("end_on"),
            Plan.id.label("plan_id"),
            ProgrammeEnd.id.label("end_id"),
        ).where(_unit_participants(unit_id))
    ).cte("nir_unit")


def events_subquery(unit_id: int) -> Subquery:
    """Every reportable event of the unit's Norwegian participants, from the live tables:
    columns participant_id, event_kind, event_key, event_on."""
    return _events(_unit_rows(unit_id))


def _events(unit: CTE) -> Subquery:
    """The events of the participants in `unit` (see `events_subquery`).

    Each source is read once: a participant with plan and end gives its decision, start
    and end; a plan element its start and end (one row per kind, crossed with a table of
    the kinds). Reading a source once per kind of event cost a third of the NIR page.
    """
    programme = _kinds(EventKind.DECISION, EventKind.START, EventKind.END)
    programme_on = _by_kind(
        programme,
        {
            EventKind.DECISION: unit.c.decision_on,
            EventKind.START: unit.c.start_on,
            EventKind.END: unit.c.end_on,
        },
    )
    element = _kinds(EventKind.ELEMENT_START, EventKind.ELEMENT_END)
    element_on = _by_kind(
        element,
        {EventKind.ELEMENT_START: PlanElement.start_on, EventKind.ELEMENT_END: PlanElement.end_on},
    )
    # The first SELECT of the union names the columns.
    programme_events = (
        select(
            unit.c.id.label("participant_id"),
            programme.c.kind.label("event_kind"),
            _iso(programme_on).label("event_key"),
            programme_on.label("event_on"),
        )
        .select_from(unit)
        .join(programme, true())
        .where(programme_on.is_not(None))
    )
    element_events = (
        select(PlanElement.participant_id, element.c.kind, PlanElement.ref, element_on)
        .join(unit, unit.c.id == PlanElement.participant_id)
        .join(element, true())
        .where(element_on.is_not(None))
    )
    leave_events = select(
        Leave.participant_id, literal(EventKind.LEAVE.value, String), Leave.ref, Leave.starts_on
    ).join(unit, unit.c.id == Leave.participant_id)
    return union_all(programme_events, element_events, leave_events).subquery("nir_events")


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
    first, last = _year_bounds(year)
    unit = _unit_rows(unit_id)
    return list(
        session.scalars(select(unit.c.id).where(_active_in(unit, first, last)).order_by(unit.c.id))
    )


def _active_in(unit: CTE, first: date, last: date) -> Any:
    """The participant of a `unit` row has programme activity in `first`..`last`."""
    element_in_year = exists().where(
        PlanElement.participant_id == unit.c.id,
        _overlaps(PlanElement.start_on, PlanElement.end_on, first, last),
    )
    leave_in_year = exists().where(
        Leave.participant_id == unit.c.id,
        _overlaps(Leave.starts_on, Leave.ends_on, first, last),
    )
    return or_(
        unit.c.decision_on.between(first, last),
        _overlaps(unit.c.start_on, unit.c.end_on, first, last),
        unit.c.end_on.between(first, last),
        element_in_year,
        leave_in_year,
    )


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


@dataclass(frozen=True)
class ProblemCase:
    problem: Problem
    participant_ref: str


@dataclass(frozen=True)
class Overview:
    """What the NIR page shows of a unit: its unreported events and data problems."""

    counts: dict[EventKind, int]  # overdue (older than the cutoff), per kind
    year_unreported: dict[EventKind, int]  # of the readiness year up to today, per kind
    items: list[BacklogEvent]  # one page of the overdue events, oldest first
    page: int  # the page shown: the one asked for, or the last one when it was past the end
    problems: dict[Problem, int]  # participants of the readiness year's report per problem
    cases: list[ProblemCase]  # the first few of each problem, to fix

    @property
    def total(self) -> int:
        return sum(self.counts.values())


CASES_PER_PROBLEM = 20

# One statement answers the page; its rows are told apart by this first column.
_COUNT_ROW, _EVENT_ROW, _PROBLEM_ROW = "count", "event", "problem"


def overview(session: Session, unit_id: int, today: date, page: int = 1, size: int = 0) -> Overview:
    """The unit's overdue unreported events per kind, those of the readiness year, one page
    (`size` events; 0 for none) of the overdue ones, oldest first, and the participants
    with a data problem in the readiness year's report.

    One statement: the unit's participants are read once, the unreported events derived
    once (a CTE PostgreSQL materialises, being read twice), and the counts, the page and
    the problems all come from them. Three statements, each deriving the events again,
    made the page grow with the database instead of the unit (1.2 s at 100k).
    """
    tune_for_unit_report(session)
    cutoff = backlog_cutoff(today)
    first, last = _year_bounds(readiness_year(today))
    year_end = min(last, today)
    unit = _unit_rows(unit_id)
    events = _events(unit)
    pending = (
        select(events)
        .where(
            _unreported(events),
            or_(events.c.event_on < cutoff, events.c.event_on.between(first, year_end)),
        )
        .cte("nir_pending")
    )
    no_text, no_day, no_number = literal(None, String), literal(None, Date), literal(None, Integer)
    counts = select(
        literal(_COUNT_ROW).label("row"),
        pending.c.event_kind,
        func.count().filter(pending.c.event_on < cutoff).label("overdue"),
        func.count().filter(pending.c.event_on.between(first, year_end)).label("in_year"),
        no_text.label("ref"),
        no_day.label("event_on"),
        no_number.label("participant_id"),
        no_text.label("event_key"),
    ).group_by(pending.c.event_kind)
    # Ordered by participant id (not ref) among events of one day: the order only has to
    # be stable, and the sort then needs no join before LIMIT.
    page_order = (
        pending.c.event_on,
        pending.c.participant_id,
        pending.c.event_kind,
        pending.c.event_key,
    )
    shown = (
        select(pending)
        .where(pending.c.event_on < cutoff)
        .order_by(*page_order)
        .limit(size)
        .offset(max(page - 1, 0) * size)
        .subquery("nir_page")
    )
    listed = select(
        literal(_EVENT_ROW),
        shown.c.event_kind,
        no_number,
        no_number,
        Participant.ref,
        shown.c.event_on,
        shown.c.participant_id,
        shown.c.event_key,
    ).join(Participant, Participant.id == shown.c.participant_id)
    # Each problem one bit of a mask; only participants with a problem are returned, and
    # the (costly) activity test is made for those few rows only.
    checks = _problem_checks(unit, first, last)
    mask = sum(
        (case((check, 1 << bit), else_=0) for bit, check in enumerate(checks.values())),
        start=literal(0),
    )
    flagged = select(
        literal(_PROBLEM_ROW),
        no_text,
        mask,
        no_number,
        unit.c.ref,
        no_day,
        unit.c.id,
        no_text,
    ).where(or_(*checks.values()), _active_in(unit, first, last))
    parts = [counts, flagged, *([listed] if size else [])]
    rows = session.execute(union_all(*parts)).all()

    overdue_counts = dict.fromkeys(EventKind, 0)
    year_counts = dict.fromkeys(EventKind, 0)
    items: list[BacklogEvent] = []
    problems = dict.fromkeys(Problem, 0)
    cases: list[ProblemCase] = []
    # UNION ALL keeps no order: the page's order (and the problems' by id) is made here.
    for row, kind, n1, n2, ref, event_on, _participant_id, _key in sorted(
        rows, key=lambda r: (r[0], r[5] or today, r[6] or 0, r[1] or "", r[7] or "")
    ):
        if row == _COUNT_ROW:
            overdue_counts[EventKind(kind)] = int(n1)
            year_counts[EventKind(kind)] = int(n2)
        elif row == _EVENT_ROW:
            items.append(BacklogEvent(ref, EventKind(kind), event_on, (today - event_on).days))
        else:
            for bit, problem in enumerate(checks):
                if int(n1) & (1 << bit):
                    problems[problem] += 1
                    if problems[problem] <= CASES_PER_PROBLEM:
                        cases.append(ProblemCase(problem, ref))
    cases.sort(key=lambda c: list(Problem).index(c.problem))  # stable: by id within one
    total = sum(overdue_counts.values())
    last_page = max(1, -(-total // size)) if size else 1
    if size and page > last_page:
        return overview(session, unit_id, today, last_page, size)
    return Overview(
        overdue_counts, year_counts, items, max(1, min(page, last_page)), problems, cases
    )


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


def readiness(
    session: Session, unit_id: int, today: date, known: Overview | None = None
) -> Readiness:
    """Is the unit ready for the next 28 February clean-up? Unreported events of the year
    it covers (up to today) and the data-quality problems among that year's report rows.
    `known`: the unit's overview as of `today` when the caller has it."""
    found = known or overview(session, unit_id, today)
    deadline = next_deadline(today)
    return Readiness(
        year=readiness_year(today),
        deadline=deadline,
        days_left=(deadline - today).days,
        unreported=found.year_unreported,
        problems=found.problems,
        cases=found.cases,
    )


def _problem_checks(unit: CTE, first: date, last: date) -> dict[Problem, Any]:
    """Each data-quality problem as a condition on a `unit` row."""
    return {
        Problem.END_WITHOUT_DETAILS: and_(
            or_(unit.c.own_end_on.is_not(None), unit.c.status == ParticipantStatus.ENDED),
            unit.c.end_id.is_(None),
        ),
        Problem.START_WITHOUT_DECISION: and_(
            unit.c.start_on.is_not(None), unit.c.decision_on.is_(None)
        ),
        Problem.ELEMENT_WITHOUT_EXTENT: exists().where(
            PlanElement.participant_id == unit.c.id,
            _overlaps(PlanElement.start_on, PlanElement.end_on, first, last),
            or_(PlanElement.hours_per_week.is_(None), PlanElement.hours_per_week <= 0),
        ),
        Problem.MISSING_END_GOAL: and_(unit.c.own_start_on.is_not(None), unit.c.plan_id.is_(None)),
    }
