"""Outcome figures for a unit leader: shares, medians and counts, never persons.

Every figure is an aggregate computed in SQL over the clear columns (codes and
dates) of programme ends, participants, plans and test results; no participant
row is loaded into Python and nothing sealed is decrypted. The one exception is
the median on SQLite, which has no percentile function: there only the integer
day counts of a group are fetched, ordered, and the middle taken in Python
(PostgreSQL computes it with `percentile_cont`).

The **cohort** of a year is every programme end recorded by the unit with an end
date in that year (`ProgrammeEnd.unit_id`, the unit responsible when it ended).
A participant counts for the advisor who is their primary advisor now.

Cells whose count n is below the deployment's small-number threshold are
suppressed (`Cell.suppressed`) so that no person can be recognised from a figure.
Who may call: the views, after checking the acting user leads the unit
(`leader_units`); the functions themselves only read.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
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
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from models.accounts import Role, Unit, User
from models.codes import (
    CefrLevel,
    EndGoal,
    MainActivity,
    ParticipantStatus,
    ProgrammeEndReason,
    Skill,
)
from models.decisions import ProgrammeEnd
from models.errors import N_
from models.language import TestKind, TestResult
from models.participants import Participant
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

WORK_OR_EDUCATION = (
    MainActivity.WORK,
    MainActivity.EDUCATION,
    MainActivity.WORK_AND_EDUCATION,
)
# CEFR levels from the lowest up: a result "at or above" a goal is a later one in this list.
CEFR_ORDER = list(CefrLevel)
UNIT_TOTAL = 0  # the group key of the unit's own row
NO_ADVISOR = -1  # participants without a primary advisor


class Kind(enum.StrEnum):
    SHARE = "share"
    MEDIAN_DAYS = "median_days"


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
            "Share of the programme ends in the year whose main activity right after the "
            "programme is work, education, or work and education. n: programme ends in the year."
        ),
        Kind.SHARE,
        NATIONAL_WORK_OR_EDUCATION_TARGET,
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
    """One figure for one group. `value` is a share (0–1) or a number of days."""

    n: int
    count: int | None  # the numerator of a share; None for a median
    value: float | None
    suppressed: bool

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

    @property
    def groups(self) -> list[Group]:
        return [self.total, *self.advisors]


def leader_units(session: Session, user: User) -> list[Unit]:
    """The active units `user` leads, by name: the only units whose figures they may read."""
    ids = user.unit_ids(Role.LEADER)
    if not ids:
        return []
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))


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


def _language_goal_flags() -> list[Any]:
    """Per skill: has the plan a goal for it (n), and was it reached by the end (count).

    The plan keeps its goals as "skill:LEVEL,…" (models.plans.format_language_goals); a
    LIKE on "skill:LEVEL" is exact because no skill name or level is part of another.
    """
    flags: list[Any] = []
    for skill in Skill:
        has_goal = exists().where(
            Plan.participant_id == Participant.id,
            Plan.language_goals.like(f"%{skill.value}:%"),
        )
        reached = []
        for rank, level in enumerate(CEFR_ORDER):
            reached.append(
                and_(
                    exists().where(
                        Plan.participant_id == Participant.id,
                        Plan.language_goals.like(f"%{skill.value}:{level.value}%"),
                    ),
                    exists().where(
                        TestResult.participant_id == Participant.id,
                        TestResult.kind == TestKind.NORWEGIAN,
                        TestResult.skill == skill,
                        TestResult.taken_on <= ProgrammeEnd.ended_on,
                        TestResult.level.in_(CEFR_ORDER[rank:]),
                    ),
                )
            )
        flags += [_flag(has_goal), _flag(or_(*reached))]
    return flags


def _outcome_counts(session: Session, cohort: Any) -> dict[int, list[int]]:
    agreed = exists().where(
        PlanVersion.participant_id == Participant.id, PlanVersion.agreed_on.is_not(None)
    )
    took_social = exists().where(
        TestResult.participant_id == Participant.id,
        TestResult.kind == TestKind.SOCIAL_STUDIES,
    )
    passed_social = exists().where(
        TestResult.participant_id == Participant.id,
        TestResult.kind == TestKind.SOCIAL_STUDIES,
        TestResult.passed.is_(True),
    )
    key = _advisor_key()
    stmt = (
        select(
            key,
            func.count(),
            _flag(ProgrammeEnd.activity_after.in_(WORK_OR_EDUCATION)),
            _flag(ProgrammeEnd.reason == ProgrammeEndReason.GOAL_REACHED),
            _flag(ProgrammeEnd.activity_12m.is_not(None)),
            _flag(ProgrammeEnd.activity_12m.in_(WORK_OR_EDUCATION)),
            _flag(agreed),
            _flag(took_social),
            _flag(passed_social),
            *_language_goal_flags(),
        )
        .select_from(ProgrammeEnd)
        .join(Participant, Participant.id == ProgrammeEnd.participant_id)
        .where(cohort)
        .group_by(key)
    )
    return _sum_rows(session.execute(stmt), 8 + 2 * len(Skill))


def _process(
    session: Session, cohort: Any, dialect: str, threshold: int
) -> dict[int, dict[str, Cell]]:
    """Per group: the median days from settlement to each step and the share within 91 days."""
    key = _advisor_key()
    cells: dict[int, dict[str, Cell]] = defaultdict(dict)
    for median_key, within_key, column in _PROCESS:
        days = _days(column, Participant.settlement_on, dialect)
        base = (
            select(key.label("g"), days.label("d"))
            .select_from(ProgrammeEnd)
            .join(Participant, Participant.id == ProgrammeEnd.participant_id)
            .where(cohort, column.is_not(None), Participant.settlement_on.is_not(None))
        )
        counts: dict[int, tuple[int, int]] = {}
        medians: dict[int, float | None] = {}
        if dialect == "postgresql":
            sub = base.subquery()
            pct = func.percentile_cont(0.5).within_group(sub.c.d)
            within = _flag(sub.c.d <= THREE_MONTHS_DAYS)
            for g, n, w, m in session.execute(
                select(sub.c.g, func.count(), within, pct).group_by(sub.c.g)
            ):
                counts[g] = (int(n), int(w))
                medians[g] = float(m) if m is not None else None
            n, w, m = session.execute(select(func.count(), within, pct)).one()
            counts[UNIT_TOTAL] = (int(n), int(w))
            medians[UNIT_TOTAL] = float(m) if m is not None else None
            for g, (n, w) in counts.items():
                if n < threshold:
                    cells[g][median_key] = Cell(n, None, None, True)
                else:
                    cells[g][median_key] = Cell(n, None, medians[g], False)
                cells[g][within_key] = _share(w, n, threshold)
        else:
            # SQLite has no percentile: fetch the day counts only (integers), in order.
            values: dict[int, list[int]] = defaultdict(list)
            for g, d in session.execute(base.order_by(key, days)):
                values[g].append(int(d))
                values[UNIT_TOTAL].append(int(d))
            for g, ds in values.items():
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


def _trend(session: Session, unit_id: int, year: int, threshold: int) -> list[QuarterPoint]:
    """Work-or-education share by quarter of the end date, over the year and the one before."""
    start, end = date(year - 1, 1, 1), date(year, 12, 31)
    y = extract("year", ProgrammeEnd.ended_on)
    m = extract("month", ProgrammeEnd.ended_on)
    stmt = (
        select(y, m, func.count(), _flag(ProgrammeEnd.activity_after.in_(WORK_OR_EDUCATION)))
        .where(_cohort(unit_id, start, end))
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
    """Work-or-education share by the plan's end goal (participants without a plan apart)."""
    stmt = (
        select(
            Plan.end_goal,
            func.count(),
            _flag(ProgrammeEnd.activity_after.in_(WORK_OR_EDUCATION)),
        )
        .select_from(ProgrammeEnd)
        .join(Participant, Participant.id == ProgrammeEnd.participant_id)
        .outerjoin(Plan, Plan.participant_id == Participant.id)
        .where(cohort)
        .group_by(Plan.end_goal)
    )
    found = {goal: (int(n), int(w)) for goal, n, w in session.execute(stmt)}
    return [
        EndGoalPoint(goal, _share(found[goal][1], found[goal][0], threshold))
        for goal in [*EndGoal, None]
        if goal in found
    ]


def unit_report(session: Session, unit: Unit, year: int, *, today: date, threshold: int) -> Report:
    """The figures of `unit` for programme ends in `year`, the unit total and per advisor.

    The caller has checked that the acting user leads `unit`. Reads only.
    """
    dialect = session.get_bind().dialect.name
    cohort = _cohort(unit.id, date(year, 1, 1), date(year, 12, 31))
    outcome = _outcome_counts(session, cohort)
    process = _process(session, cohort, dialect, threshold)
    overdue = _review_overdue(session, unit.id, today)

    keys = (set(outcome) | set(process) | set(overdue)) - {UNIT_TOTAL}
    advisor_ids = [k for k in keys if k > 0]
    names: dict[int, str] = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(advisor_ids))
        )
    }

    def build(key: int, label: str) -> Group:
        group = Group(key, label)
        counts = outcome.get(key, [0] * (8 + 2 * len(Skill)))
        n, we, goal, n12, we12, agreed, took, passed = counts[:8]
        for index, skill in enumerate(Skill):
            with_goal, reached = counts[8 + 2 * index : 10 + 2 * index]
            group.cells[f"norwegian_goal_{skill.value}"] = _share(reached, with_goal, threshold)
        group.cells["work_or_education"] = _share(we, n, threshold)
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
        return group

    advisors = [build(k, names.get(k, "")) for k in advisor_ids]
    advisors.sort(key=lambda g: g.label.casefold())
    if NO_ADVISOR in keys:
        advisors.append(build(NO_ADVISOR, ""))
    return Report(
        unit=unit,
        year=year,
        threshold=threshold,
        total=build(UNIT_TOTAL, unit.name),
        advisors=advisors,
        trend=_trend(session, unit.id, year, threshold),
        by_end_goal=_by_end_goal(session, cohort, threshold),
    )
