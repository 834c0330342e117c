"""Outcome figures for a unit leader: shares, medians and counts, never persons.

Every figure is an aggregate computed in SQL over the clear columns (codes, dates
and minutes) of programme ends, participants, plans, test results, attendance and
placements; no participant row is loaded into Python and nothing sealed is
decrypted. The one exception is
the median on SQLite, which has no percentile function: there only the integer
day counts of a group are fetched, ordered, and the middle taken in Python
(PostgreSQL computes it with `percentile_cont`).

The **cohort** of a year is every programme end recorded by the unit with an end
date in that year (`ProgrammeEnd.unit_id`, the unit responsible when it ended).
A participant counts for the advisor who is their primary advisor now. The share
in work or education (the national 70 % target) counts Norwegian participants
only; the Swedish share self-supporting (the 50 % goal) counts Swedish ones only.
Absence and placements are not tied to the cohort: they count the attendance rows
and placements dated in the year of the unit's participants today.

Cells whose count n is below the deployment's small-number threshold are
suppressed (`Cell.suppressed`) so that no person can be recognised from a figure.
**Complementary suppression**: in a set of cells that add up to a total shown on
the page (the advisor rows of a figure and the unit's cell; the quarters of the
chosen year and the year's cell; the end-goal rows and the unit's cell), if
exactly one cell with n > 0 is suppressed while the total is shown, the next
smallest shown cell of the set is suppressed too (`Cell.complementary`), so that
the hidden one cannot be worked out by subtracting the others from the total.
Empty cells (n = 0) that are hidden reveal nobody and need no partner.
Who may call: the views, after checking the acting user leads the unit
(`models.access.led_units`); the functions themselves only read.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from models.accounts import Unit, User
from models.base import tune_for_unit_report
from models.codes import (
    CefrLevel,
    Country,
    EndGoal,
    MainActivity,
    ParticipantStatus,
    ProgrammeEndReason,
    Skill,
)
from models.decisions import ProgrammeEnd
from models.errors import N_
from models.language import AttendanceMonth, TestKind, TestResult
from models.participants import Participant
from models.placements import JobOutcome, Placement, PlacementStatus
from models.plans import Plan, PlanVersion

# The national target (integreringsloven, Meld. St. 30 (2015–2016)): 70 % of the
# participants in work or education directly after the introduction programme.
NATIONAL_WORK_OR_EDUCATION_TARGET = 0.70
# Default smallest count shown; deployments set SMALL_CELL_THRESHOLD.
DEFAULT_SMALL_CELL_THRESHOLD = 5
# "Within three months" is counted in days so that PostgreSQL and SQLite agree:
# a quarter of a year, 365 / 4 rounded down.
THREE_MONTHS_DAYS = 91
# The first year a leader may choose (the figures go back no further than the app).
FIRST_YEAR = 2000

# The Swedish establishment programme's goal (etableringsprogrammet): at least half
# self-supporting through work or studies within the establishment period.
SWEDISH_SELF_SUPPORTING_GOAL = 0.50

WORK_OR_EDUCATION = (
    MainActivity.WORK,
    MainActivity.EDUCATION,
    MainActivity.WORK_AND_EDUCATION,
)
# Sweden counts unemployment insurance (a-kassa, earned by work) as self-supporting.
SELF_SUPPORTING = (*WORK_OR_EDUCATION, MainActivity.UNEMPLOYMENT_INSURANCE)
# CEFR levels from the lowest up: a result "at or above" a goal is a later one in this list.
CEFR_ORDER = list(CefrLevel)
UNIT_TOTAL = 0  # the group key of the unit's own row
NO_ADVISOR = -1  # participants without a primary advisor


class Kind(enum.StrEnum):
    SHARE = "share"  # count / n, both people or placements
    RATE = "rate"  # minutes / minutes, shown as a percentage; n is people
    MEDIAN_DAYS = "median_days"
    COUNT = "count"  # value == n


@dataclass(frozen=True)
class FigureDef:
    """What a figure means; the page prints the definition beside the number."""

    key: str
    label: str
    definition: str
    kind: Kind
    target: float | None = None


_NORWEGIAN_GOAL = N_(
    "Share whose Norwegian test result in this skill, taken no later than the end of the "
    "programme, is at or above the plan's goal for the skill, among the programme ends in "
    "the year whose plan sets a goal for it. n: those with a goal."
)

FIGURES: tuple[FigureDef, ...] = (
    FigureDef(
        "work_or_education",
        N_("In work or education after the programme"),
        N_(
            "Share of the programme ends in the year of participants under Norwegian rules "
            "whose main activity right after the programme is work, education, or work and "
            "education. Swedish participants are not counted here. n: those programme ends."
        ),
        Kind.SHARE,
        NATIONAL_WORK_OR_EDUCATION_TARGET,
    ),
    FigureDef(
        "self_supporting_se",
        N_("Sweden: self-supporting after the establishment programme"),
        N_(
            "Share of the programme ends in the year of participants under Swedish rules whose "
            "main activity right after the programme is work, education, work and education, "
            "or unemployment insurance. Shown when the unit has Swedish programme ends in the "
            "year. n: those programme ends."
        ),
        Kind.SHARE,
        SWEDISH_SELF_SUPPORTING_GOAL,
    ),
    FigureDef(
        "goal_reached",
        N_("End goal reached"),
        N_(
            "Share of the programme ends in the year recorded with the reason “End goal "
            "reached”. Interrupted and stopped programmes count in n. n: programme ends in "
            "the year."
        ),
        Kind.SHARE,
    ),
    FigureDef(
        "work_or_education_12m",
        N_("In work or education 12 months later"),
        N_(
            "Share in work or education 12 months after the end, among the programme ends "
            "in the year whose status 12 months later has been recorded. n: those recorded."
        ),
        Kind.SHARE,
    ),
    FigureDef(
        "plan_agreed",
        N_("Plan agreed"),
        N_(
            "Share of the programme ends in the year whose participant has at least one plan "
            "version marked agreed. n: programme ends in the year."
        ),
        Kind.SHARE,
    ),
    FigureDef(
        "social_studies_passed",
        N_("Social studies test passed"),
        N_(
            "Share who passed the social studies test, among the programme ends in the year "
            "whose participant took it at least once. n: those who took it."
        ),
        Kind.SHARE,
    ),
    *(
        FigureDef(f"norwegian_goal_{skill.value}", label, _NORWEGIAN_GOAL, Kind.SHARE)
        for skill, label in (
            (Skill.LISTENING, N_("Norwegian goal reached: listening")),
            (Skill.READING, N_("Norwegian goal reached: reading")),
            (Skill.WRITING, N_("Norwegian goal reached: writing")),
            (Skill.ORAL, N_("Norwegian goal reached: oral")),
        )
    ),
    FigureDef(
        "days_to_mapping",
        N_("Days from settlement to competence mapping (median)"),
        N_(
            "Median number of days from settlement to the competence mapping. n: programme "
            "ends in the year with both dates recorded."
        ),
        Kind.MEDIAN_DAYS,
    ),
    FigureDef(
        "mapping_within_3m",
        N_("Competence mapping within three months"),
        N_("Share mapped at most 91 days after settlement. n: as for the median."),
        Kind.SHARE,
    ),
    FigureDef(
        "days_to_decision",
        N_("Days from settlement to programme decision (median)"),
        N_(
            "Median number of days from settlement to the programme decision. n: programme "
            "ends in the year with both dates recorded."
        ),
        Kind.MEDIAN_DAYS,
    ),
    FigureDef(
        "decision_within_3m",
        N_("Programme decision within three months"),
        N_("Share decided at most 91 days after settlement. n: as for the median."),
        Kind.SHARE,
    ),
    FigureDef(
        "days_to_start",
        N_("Days from settlement to programme start (median)"),
        N_(
            "Median number of days from settlement to the start of the programme. n: "
            "programme ends in the year with both dates recorded."
        ),
        Kind.MEDIAN_DAYS,
    ),
    FigureDef(
        "start_within_3m",
        N_("Programme start within three months"),
        N_("Share started at most 91 days after settlement. n: as for the median."),
        Kind.SHARE,
    ),
    FigureDef(
        "plan_review_overdue",
        N_("Plans overdue for review today"),
        N_(
            "Share of today's participants in the programme (in the programme or on leave) "
            "whose plan's review date has passed. n: those with a plan. Not tied to the year."
        ),
        Kind.SHARE,
    ),
    FigureDef(
        "absence_rate",
        N_("Unexcused absence"),
        N_(
            "Unexcused absence minutes as a share of the scheduled minutes of the registered "
            "language sessions held in the year, leave days left out, for today's participants "
            "of the unit. n: participants with attendance registered in the year."
        ),
        Kind.RATE,
    ),
    FigureDef(
        "placements_started",
        N_("Placements started"),
        N_(
            "Number of work placements of today's participants of the unit starting in the "
            "year (up to today), cancelled ones left out. n: the same number."
        ),
        Kind.COUNT,
    ),
    FigureDef(
        "placement_job",
        N_("Placements leading to a job"),
        N_(
            "Share of the placements of today's participants of the unit that ended in the year "
            "(up to today, cancelled ones left out) with an outcome recorded, whose outcome is a "
            "job offer. n: those with an outcome recorded."
        ),
        Kind.SHARE,
    ),
)
FIGURE_BY_KEY = {f.key: f for f in FIGURES}

# The process measures: figure keys (median, share within) and the participant's date.
_PROCESS: tuple[tuple[str, str, Any], ...] = (
    ("days_to_mapping", "mapping_within_3m", Participant.competence_mapping_on),
    ("days_to_decision", "decision_within_3m", Participant.programme_decision_on),
    ("days_to_start", "start_within_3m", Participant.programme_start_on),
)


@dataclass(frozen=True)
class Cell:
    """One figure for one group. `value` is a share (0–1), a number of days or a count.

    `complementary` marks a cell hidden although its n is large enough, so that a
    small hidden cell of the same set cannot be derived from the total (see above).
    """

    n: int
    count: int | None  # the numerator of a share; None for a median or a rate
    value: float | None
    suppressed: bool
    complementary: bool = False

    def hidden(self) -> Cell:
        """This cell suppressed as the partner of a small one."""
        return Cell(self.n, None, None, True, complementary=True)

    @property
    def empty(self) -> bool:
        return self.n == 0


@dataclass
class Group:
    key: int  # UNIT_TOTAL, NO_ADVISOR or the advisor's user id
    label: str  # the unit's or the advisor's name (staff names are work data)
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass(frozen=True)
class QuarterPoint:
    year: int
    quarter: int
    cell: Cell


@dataclass(frozen=True)
class EndGoalPoint:
    end_goal: EndGoal | None  # None: no plan
    cell: Cell


@dataclass
class Report:
    unit: Unit
    year: int
    threshold: int
    total: Group
    advisors: list[Group]
    trend: list[QuarterPoint]
    by_end_goal: list[EndGoalPoint]
    # The figures the page shows: a country's outcome share only where it has ends.
    figures: tuple[FigureDef, ...] = FIGURES

    @property
    def groups(self) -> list[Group]:
        return [self.total, *self.advisors]

    @property
    def any_complementary(self) -> bool:
        cells = [c for g in self.groups for c in g.cells.values()]
        cells += [p.cell for p in self.trend] + [p.cell for p in self.by_end_goal]
        return any(c.complementary for c in cells)


def _rate(part: int, whole: int, n: int, threshold: int) -> Cell:
    """`part / whole` (minutes) for `n` people; no value when nothing was scheduled."""
    if n < threshold:
        return Cell(n, None, None, True)
    return Cell(n, None, part / whole if whole else None, False)


def _count_cell(n: int, threshold: int) -> Cell:
    if n < threshold:
        return Cell(n, None, None, True)
    return Cell(n, n, float(n), False)


def complement(cells: Sequence[Cell], total: Cell) -> list[Cell]:
    """`cells` (which add up to `total`) with one more hidden where one alone would show.

    If `total` is shown and exactly one cell with n > 0 is suppressed, the shown cell
    with the smallest n (the first of equals) is suppressed as well: the hidden
    figure could otherwise be had by subtracting the shown ones from the total.
    """
    out = list(cells)
    if total.suppressed:
        return out
    if sum(1 for c in out if c.suppressed and c.n > 0) != 1:
        return out
    shown = [i for i, c in enumerate(out) if not c.suppressed]
    if shown:
        partner = min(shown, key=lambda i: out[i].n)
        out[partner] = out[partner].hidden()
    return out


def _share(count: int, n: int, threshold: int) -> Cell:
    if n < threshold:
        return Cell(n, None, None, True)
    if n == 0:  # only with the threshold set to 0: nothing to divide
        return Cell(0, 0, None, False)
    return Cell(n, count, count / n, False)


def _median_cell(values: Sequence[float], threshold: int) -> Cell:
    n = len(values)
    if n < threshold:
        return Cell(n, None, None, True)
    if n == 0:
        return Cell(0, None, None, False)
    return Cell(n, None, float(median(values)), False)


def _flag(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _days(later: Any, earlier: Any, dialect: str) -> Any:
    """Whole days between two date columns, in the database's own arithmetic."""
    if dialect == "postgresql":
        return cast(later, Date) - cast(earlier, Date)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _cohort(unit_id: int, start: date, end: date) -> Any:
    return and_(
        ProgrammeEnd.unit_id == unit_id,
        ProgrammeEnd.ended_on >= start,
        ProgrammeEnd.ended_on <= end,
    )


def _advisor_key() -> Any:
    return func.coalesce(Participant.primary_advisor_id, literal(NO_ADVISOR))


def _sum_rows(rows: Iterable[Any], width: int) -> dict[int, list[int]]:
    """Group key → the `width` counts after the key, plus their sums under UNIT_TOTAL."""
    out: dict[int, list[int]] = {}
    total = [0] * width
    for row in rows:
        key, *counts = row
        out[key] = [int(c or 0) for c in counts]
        total = [a + b for a, b in zip(total, out[key], strict=True)]
    out[UNIT_TOTAL] = total
    return out


def _level_rank(level: Any) -> Any:
    """The CEFR rank (0 = below A1) of a level column; NULL for no level."""
    return case(*((level == lvl, rank) for rank, lvl in enumerate(CEFR_ORDER)), else_=None)


def _goal_rank(skill: Skill) -> Any:
    """The lowest rank the plan's goals give `skill` (NULL: no parsable goal).

    The plan keeps its goals as "skill:LEVEL,…" (models.plans.format_language_goals); a
    LIKE on "skill:LEVEL" is exact because no skill name or level is part of another.
    The lowest rank first: a goal is reached by a result at or above any goal given.
    """
    return case(
        *(
            (Plan.language_goals.like(f"%{skill.value}:{level.value}%"), rank)
            for rank, level in enumerate(CEFR_ORDER)
        ),
        else_=None,
    )


def _test_summary(cohort_end: Any, cohort: Any) -> Any:
    """Per participant of the cohort: social studies taken / passed (ever), and per skill
    the best Norwegian level rank taken no later than the end of the programme.

    One grouped pass over the cohort's test results, joined once to the outcome query,
    instead of a correlated EXISTS per skill and level (which PostgreSQL ran as a scan
    of all plans per probe).
    """
    social = TestResult.kind == TestKind.SOCIAL_STUDIES
    columns = [
        func.max(case((social, 1), else_=0)).label("took_social"),
        func.max(case((and_(social, TestResult.passed.is_(True)), 1), else_=0)).label(
            "passed_social"
        ),
    ]
    for skill in Skill:
        in_time = and_(
            TestResult.kind == TestKind.NORWEGIAN,
            TestResult.skill == skill,
            TestResult.taken_on <= cohort_end.ended_on,
        )
        columns.append(
            func.max(case((in_time, _level_rank(TestResult.level)), else_=None)).label(
                f"best_{skill.value}"
            )
        )
    return (
        select(TestResult.participant_id.label("participant_id"), *columns)
        .join(cohort_end, cohort_end.participant_id == TestResult.participant_id)
        .where(cohort, TestResult.kind.in_((TestKind.NORWEGIAN, TestKind.SOCIAL_STUDIES)))
        .group_by(TestResult.participant_id)
        .subquery()
    )


def _outcome_counts(session: Session, unit_id: int, start: date, end: date) -> dict[int, list[int]]:
    agreed = exists().where(
        PlanVersion.participant_id == Participant.id, PlanVersion.agreed_on.is_not(None)
    )
    # The participant has one programme end (unique): a second alias of the cohort
    # lets the test summary compare each result with the end date on its own.
    cohort_end = aliased(ProgrammeEnd)
    tests = _test_summary(
        cohort_end,
        and_(
            cohort_end.unit_id == unit_id,
            cohort_end.ended_on >= start,
            cohort_end.ended_on <= end,
        ),
    )
    goal_flags: list[Any] = []
    for skill in Skill:
        best = tests.c[f"best_{skill.value}"]
        goal_flags += [
            _flag(Plan.language_goals.like(f"%{skill.value}:%")),
            _flag(_goal_rank(skill) <= best),
        ]
    key = _advisor_key()
    norway = Participant.country == Country.NORWAY
    sweden = Participant.country == Country.SWEDEN
    stmt = (
        select(
            key,
            func.count(),
            _flag(norway),
            _flag(and_(norway, ProgrammeEnd.activity_after.in_(WORK_OR_EDUCATION))),
            _flag(sweden),
            _flag(and_(sweden, ProgrammeEnd.activity_after.in_(SELF_SUPPORTING))),
            _flag(ProgrammeEnd.reason == ProgrammeEndReason.GOAL_REACHED),
            _flag(ProgrammeEnd.activity_12m.is_not(None)),
            _flag(ProgrammeEnd.activity_12m.in_(WORK_OR_EDUCATION)),
            _flag(agreed),
            func.coalesce(func.sum(tests.c.took_social), 0),
            func.coalesce(func.sum(tests.c.passed_social), 0),
            *goal_flags,
        )
        .select_from(ProgrammeEnd)
        .join(Participant, Participant.id == ProgrammeEnd.participant_id)
        # One plan per participant (unique), so the outer joins keep one row per end.
        .outerjoin(Plan, Plan.participant_id == Participant.id)
        .outerjoin(tests, tests.c.participant_id == Participant.id)
        .where(_cohort(unit_id, start, end))
        .group_by(key)
    )
    return _sum_rows(session.execute(stmt), _OUTCOME_WIDTH)


_OUTCOME_WIDTH = 11 + 2 * len(Skill)


def _process(
    session: Session, cohort: Any, dialect: str, threshold: int
) -> dict[int, dict[str, Cell]]:
    """Per group: the median days from settlement to each step and the share within 91 days.

    A measure's cells are set for a group only where it has a day count (n > 0); on
    PostgreSQL the unit's cells are always set.
    """
    key = _advisor_key()
    cells: dict[int, dict[str, Cell]] = defaultdict(dict)
    # A day count is NULL where either date is missing: the aggregates skip it.
    days = [_days(column, Participant.settlement_on, dialect) for _m, _w, column in _PROCESS]
    base = (
        select(key.label("g"), *(d.label(f"d{i}") for i, d in enumerate(days)))
        .select_from(ProgrammeEnd)
        .join(Participant, Participant.id == ProgrammeEnd.participant_id)
        .where(
            cohort,
            Participant.settlement_on.is_not(None),
            or_(*(column.is_not(None) for _m, _w, column in _PROCESS)),
        )
    )
    if dialect == "postgresql":
        # One pass for the three measures; the ROLLUP row (g NULL) is the unit's.
        sub = base.subquery()
        aggregates: list[Any] = []
        for i in range(len(_PROCESS)):
            d = sub.c[f"d{i}"]
            aggregates += [
                func.count(d),
                _flag(d <= THREE_MONTHS_DAYS),
                func.percentile_cont(0.5).within_group(d),
            ]
        stmt = select(sub.c.g, *aggregates).group_by(func.rollup(sub.c.g))
        rows = {g: row for g, *row in session.execute(stmt)}
        for g, row in rows.items():
            group = UNIT_TOTAL if g is None else g
            for i, (median_key, within_key, _column) in enumerate(_PROCESS):
                n, w, m = int(row[3 * i]), int(row[3 * i + 1]), row[3 * i + 2]
                if n == 0 and group != UNIT_TOTAL:
                    continue
                if n < threshold:
                    cells[group][median_key] = Cell(n, None, None, True)
                else:
                    value = float(m) if m is not None else None
                    cells[group][median_key] = Cell(n, None, value, False)
                cells[group][within_key] = _share(w, n, threshold)
        if None not in rows:  # no rows at all: the unit's cells still say n = 0
            for median_key, within_key, _column in _PROCESS:
                cells[UNIT_TOTAL][median_key] = Cell(0, None, None, threshold > 0)
                cells[UNIT_TOTAL][within_key] = _share(0, 0, threshold)
        return cells
    # SQLite has no percentile: fetch the day counts only (integers), in order.
    values: dict[int, list[list[int]]] = defaultdict(lambda: [[] for _p in _PROCESS])
    for g, *ds in session.execute(base.order_by(key)):
        for i, d in enumerate(ds):
            if d is not None:
                values[g][i].append(int(d))
                values[UNIT_TOTAL][i].append(int(d))
    for g, per_measure in values.items():
        for (median_key, within_key, _column), measure in zip(_PROCESS, per_measure, strict=True):
            if not measure:
                continue
            ds = sorted(measure)
            cells[g][median_key] = _median_cell(ds, threshold)
            cells[g][within_key] = _share(
                sum(1 for d in ds if d <= THREE_MONTHS_DAYS), len(ds), threshold
            )
    return cells


def _review_overdue(session: Session, unit_id: int, today: date) -> dict[int, list[int]]:
    key = _advisor_key()
    stmt = (
        select(key, func.count(), _flag(Plan.review_due_on < today))
        .select_from(Plan)
        .join(Participant, Participant.id == Plan.participant_id)
        .where(
            Participant.unit_id == unit_id,
            Participant.status.in_((ParticipantStatus.ACTIVE, ParticipantStatus.ON_LEAVE)),
        )
        .group_by(key)
    )
    return _sum_rows(session.execute(stmt), 2)


def _absence(session: Session, unit_id: int, start: date, end: date) -> dict[int, list[int]]:
    """Per group: participants with attendance, scheduled and unexcused-missed minutes.

    Read from the monthly rollup `AttendanceMonth`, so `start` must be the first day of
    a month and `end` the last day of one (the figures' periods are calendar years).
    The minutes follow `models.language.absence_summaries` (leave rows left out of the
    scheduled minutes; unexcused minutes are those planned but not attended), so the
    rate is `AbsenceSummary.unexcused_percent` over the group instead of one person. A
    participant counts in n when they have any attendance row (leave included) in the
    period: a rollup row exists only for a month with at least one.
    """
    if start.day != 1 or (end + timedelta(days=1)).day != 1:
        raise ValueError("the absence figure needs whole calendar months")
    key = _advisor_key()
    # Per participant first (grouped by the participant's key, on which the advisor
    # depends), then per advisor over the per-person sums: grouping by
    # (participant, advisor) made PostgreSQL sort every row of the year on disk.
    per_person = (
        select(
            key.label("g"),
            func.sum(AttendanceMonth.planned_minutes).label("planned"),
            func.sum(AttendanceMonth.unexcused_minutes).label("unexcused"),
        )
        .select_from(Participant)
        .join(AttendanceMonth, AttendanceMonth.participant_id == Participant.id)
        .where(
            Participant.unit_id == unit_id,
            AttendanceMonth.month >= start,
            AttendanceMonth.month <= end,
        )
        .group_by(Participant.id)
        .subquery()
    )
    stmt = select(
        per_person.c.g,
        func.count(),
        func.coalesce(func.sum(per_person.c.planned), 0),
        func.coalesce(func.sum(per_person.c.unexcused), 0),
    ).group_by(per_person.c.g)
    return _sum_rows(session.execute(stmt), 3)


def _placements(session: Session, unit_id: int, start: date, end: date) -> dict[int, list[int]]:
    """Per group: placements started, and ended with an outcome recorded / with a job."""
    live = Placement.status != PlacementStatus.CANCELLED
    started = and_(live, Placement.start_on >= start, Placement.start_on <= end)
    ended = and_(
        live,
        Placement.end_on.is_not(None),
        Placement.end_on >= start,
        Placement.end_on <= end,
        Placement.outcome.in_((JobOutcome.YES, JobOutcome.NO)),
    )
    key = _advisor_key()
    stmt = (
        select(
            key,
            _flag(started),
            _flag(ended),
            _flag(and_(ended, Placement.outcome == JobOutcome.YES)),
        )
        .select_from(Placement)
        .join(Participant, Participant.id == Placement.participant_id)
        .where(Participant.unit_id == unit_id, or_(started, ended))
        .group_by(key)
    )
    return _sum_rows(session.execute(stmt), 3)


def _trend(session: Session, unit_id: int, year: int, threshold: int) -> list[QuarterPoint]:
    """Work-or-education share (Norway) by quarter of the end, over the year and the one before."""
    start, end = date(year - 1, 1, 1), date(year, 12, 31)
    y = extract("year", ProgrammeEnd.ended_on)
    m = extract("month", ProgrammeEnd.ended_on)
    stmt = (
        select(y, m, func.count(), _flag(ProgrammeEnd.activity_after.in_(WORK_OR_EDUCATION)))
        .join(Participant, Participant.id == ProgrammeEnd.participant_id)
        .where(_cohort(unit_id, start, end), Participant.country == Country.NORWAY)
        .group_by(y, m)
    )
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for yy, mm, n, w in session.execute(stmt):
        quarter = (int(mm) - 1) // 3 + 1
        sums[(int(yy), quarter)][0] += int(n)
        sums[(int(yy), quarter)][1] += int(w)
    return [
        QuarterPoint(yy, q, _share(sums[(yy, q)][1], sums[(yy, q)][0], threshold))
        for yy in (year - 1, year)
        for q in (1, 2, 3, 4)
    ]


def _by_end_goal(session: Session, cohort: Any, threshold: int) -> list[EndGoalPoint]:
    """Work-or-education share (Norway) by the plan's end goal (no plan apart)."""
    stmt = (
        select(
            Plan.end_goal,
            func.count(),
            _flag(ProgrammeEnd.activity_after.in_(WORK_OR_EDUCATION)),
        )
        .select_from(ProgrammeEnd)
        .join(Participant, Participant.id == ProgrammeEnd.participant_id)
        .outerjoin(Plan, Plan.participant_id == Participant.id)
        .where(cohort, Participant.country == Country.NORWAY)
        .group_by(Plan.end_goal)
    )
    found = {goal: (int(n), int(w)) for goal, n, w in session.execute(stmt)}
    return [
        EndGoalPoint(goal, _share(found[goal][1], found[goal][0], threshold))
        for goal in [*EndGoal, None]
        if goal in found
    ]


def _visible_figures(n_norway: int, n_sweden: int) -> tuple[FigureDef, ...]:
    """Each country's outcome share where the cohort has its ends (Norway when none)."""
    hide = set()
    if n_sweden == 0:
        hide.add("self_supporting_se")
    elif n_norway == 0:
        hide.add("work_or_education")
    return tuple(f for f in FIGURES if f.key not in hide)


def _complement_report(report: Report) -> None:
    """Apply the complementary suppression to each set that adds up to a shown total."""
    for figure in FIGURES:
        cells = complement(
            [g.cells[figure.key] for g in report.advisors], report.total.cells[figure.key]
        )
        for group, cell in zip(report.advisors, cells, strict=True):
            group.cells[figure.key] = cell
    total = report.total.cells["work_or_education"]
    this_year = [i for i, p in enumerate(report.trend) if p.year == report.year]
    cells = complement([report.trend[i].cell for i in this_year], total)
    for i, cell in zip(this_year, cells, strict=True):
        report.trend[i] = QuarterPoint(report.year, report.trend[i].quarter, cell)
    cells = complement([p.cell for p in report.by_end_goal], total)
    report.by_end_goal = [
        EndGoalPoint(p.end_goal, cell) for p, cell in zip(report.by_end_goal, cells, strict=True)
    ]


def unit_report(session: Session, unit: Unit, year: int, *, today: date, threshold: int) -> Report:
    """The figures of `unit` for `year`, the unit total and per advisor (see the module).

    The caller has checked that the acting user leads `unit`. Reads only.
    """
    dialect = session.get_bind().dialect.name
    tune_for_unit_report(session)
    first, last = date(year, 1, 1), date(year, 12, 31)
    cohort = _cohort(unit.id, first, last)
    outcome = _outcome_counts(session, unit.id, first, last)
    process = _process(session, cohort, dialect, threshold)
    overdue = _review_overdue(session, unit.id, today)
    absence = _absence(session, unit.id, first, last)
    placements = _placements(session, unit.id, first, min(last, today))

    keys = (set(outcome) | set(process) | set(overdue) | set(absence) | set(placements)) - {
        UNIT_TOTAL
    }
    advisor_ids = [k for k in keys if k > 0]
    names: dict[int, str] = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(advisor_ids))
        )
    }

    def build(key: int, label: str) -> Group:
        group = Group(key, label)
        counts = outcome.get(key, [0] * _OUTCOME_WIDTH)
        n, n_no, we_no, n_se, ss_se, goal, n12, we12, agreed, took, passed = counts[:11]
        for index, skill in enumerate(Skill):
            with_goal, reached = counts[11 + 2 * index : 13 + 2 * index]
            group.cells[f"norwegian_goal_{skill.value}"] = _share(reached, with_goal, threshold)
        group.cells["work_or_education"] = _share(we_no, n_no, threshold)
        group.cells["self_supporting_se"] = _share(ss_se, n_se, threshold)
        group.cells["goal_reached"] = _share(goal, n, threshold)
        group.cells["work_or_education_12m"] = _share(we12, n12, threshold)
        group.cells["plan_agreed"] = _share(agreed, n, threshold)
        group.cells["social_studies_passed"] = _share(passed, took, threshold)
        for median_key, within_key, _column in _PROCESS:
            empty = Cell(0, None, None, threshold > 0)
            group.cells[median_key] = process.get(key, {}).get(median_key, empty)
            group.cells[within_key] = process.get(key, {}).get(within_key, empty)
        with_plan, late = overdue.get(key, [0, 0])
        group.cells["plan_review_overdue"] = _share(late, with_plan, threshold)
        people, scheduled, unexcused = absence.get(key, [0, 0, 0])
        group.cells["absence_rate"] = _rate(unexcused, scheduled, people, threshold)
        started, with_outcome, job = placements.get(key, [0, 0, 0])
        group.cells["placements_started"] = _count_cell(started, threshold)
        group.cells["placement_job"] = _share(job, with_outcome, threshold)
        return group

    advisors = [build(k, names.get(k, "")) for k in advisor_ids]
    advisors.sort(key=lambda g: g.label.casefold())
    if NO_ADVISOR in keys:
        advisors.append(build(NO_ADVISOR, ""))
    total_counts = outcome[UNIT_TOTAL]
    report = Report(
        unit=unit,
        year=year,
        threshold=threshold,
        total=build(UNIT_TOTAL, unit.name),
        advisors=advisors,
        trend=_trend(session, unit.id, year, threshold),
        by_end_goal=_by_end_goal(session, cohort, threshold),
        figures=_visible_figures(total_counts[1], total_counts[3]),
    )
    _complement_report(report)
    return report
