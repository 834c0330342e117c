"""Outcome figures: every figure against an independent computation from the raw rows of a
generated cohort, small-cell suppression, unit isolation, the page, charts and exports."""

from __future__ import annotations

import csv
import io
import random
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from models import outcomes
from models.audit import AuditEvent
from models.codes import (
    CefrLevel,
    Country,
    EndGoal,
    MainActivity,
    ParticipantStatus,
    ProgrammeEndKind,
    ProgrammeEndReason,
    Skill,
)
from models.decisions import ProgrammeEnd
from models.language import (
    Attendance,
    AttendanceStatus,
    ClassSession,
    LanguageClass,
    TestKind,
    TestResult,
    refresh_attendance_months,
)
from models.placements import Employer, JobOutcome, Placement, PlacementStatus, PlacementType
from models.plans import Plan, PlanVersion, format_language_goals
from tests.conftest import log_in
from tests.test_fuzz import FUZZ

YEAR = 2025
TODAY = date(2026, 11, 30)
WE = {MainActivity.WORK, MainActivity.EDUCATION, MainActivity.WORK_AND_EDUCATION}
SELF_SUPPORTING = WE | {MainActivity.UNEMPLOYMENT_INSURANCE}
CANARY = "Zzyqanary"


@dataclass
class Raw:
    """What the generator wrote for one participant: the test's own copy of the raw rows."""

    advisor_id: int | None
    ended_on: date | None
    activity_after: MainActivity | None
    reason: ProgrammeEndReason | None
    activity_12m: MainActivity | None
    settlement_on: date | None
    mapping_on: date | None
    decision_on: date | None
    start_on: date | None
    agreed: bool
    social: list[bool]
    status: ParticipantStatus
    review_due_on: date | None
    goals: dict[Skill, CefrLevel] = field(default_factory=dict)
    norwegian: list[tuple[Skill, CefrLevel, date]] = field(default_factory=list)
    end_goal: EndGoal | None = None
    country: Country = Country.NORWAY
    # (held on, status, planned minutes, attended minutes)
    attendance: list[tuple[date, AttendanceStatus, int, int]] = field(default_factory=list)
    # (start, end, status, outcome)
    placements: list[tuple[date, date | None, PlacementStatus, JobOutcome]] = field(
        default_factory=list
    )


def _language_class(db_session: Any, unit: Any) -> Any:
    item = LanguageClass(
        unit_id=unit.id,
        name="Norsk A1",
        weekdays="1,2,3",
        lesson_minutes=45,
        lessons_per_day=4,
        starts_on=date(YEAR - 1, 1, 1),
        ends_on=date(YEAR + 1, 12, 31),
    )
    db_session.add(item)
    db_session.flush()
    return item


def _attend(
    db_session: Any,
    sessions: dict[date, Any],
    item: Any,
    participant_id: int,
    row: tuple[date, AttendanceStatus, int, int],
) -> None:
    on, status, planned, attended = row
    if on not in sessions:
        sessions[on] = ClassSession(class_id=item.id, held_on=on, planned_minutes=planned)
        db_session.add(sessions[on])
        db_session.flush()
    db_session.add(
        Attendance(
            session_id=sessions[on].id,
            participant_id=participant_id,
            held_on=on,
            status=status,
            planned_minutes=planned,
            attended_minutes=attended,
            programme_minutes=attended,
        )
    )


def _place(
    db_session: Any,
    employer: Any,
    participant_id: int,
    row: tuple[date, date | None, PlacementStatus, JobOutcome],
) -> None:
    start, end, status, outcome = row
    db_session.add(
        Placement(
            participant_id=participant_id,
            employer_id=employer.id,
            placement_type=PlacementType.WORK_PRACTICE,
            start_on=start,
            end_on=end,
            days_per_week=5,
            hours_per_week=20,
            status=status,
            outcome=outcome,
        )
    )


def _random_attendance(rng: random.Random) -> list[tuple[date, AttendanceStatus, int, int]]:
    """Days in the year and some before it; now and then only leave, or nothing at all."""
    only_leave = rng.random() < 0.1
    rows = []
    for offset in rng.sample(range(-60, 365), rng.choice([0, 0, 1, 3, 6])):
        status = AttendanceStatus.LEAVE if only_leave else rng.choice(list(AttendanceStatus))
        attended = {
            AttendanceStatus.PRESENT: 180,
            AttendanceStatus.LEAVE: 0,
        }.get(status, rng.randrange(0, 180))
        rows.append((date(YEAR, 1, 1) + timedelta(days=offset), status, 180, attended))
    return rows


def _random_placements(
    rng: random.Random,
) -> list[tuple[date, date | None, PlacementStatus, JobOutcome]]:
    """Starts and ends across three years; some ongoing, cancelled or without an outcome."""
    rows = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        start = date(YEAR - 1, 6, 1) + timedelta(days=rng.randrange(0, 700))
        end = start + timedelta(days=rng.randrange(30, 200)) if rng.random() > 0.25 else None
        rows.append((start, end, rng.choice(list(PlacementStatus)), rng.choice(list(JobOutcome))))
    return rows


def _seed(
    db_session: Any,
    make_participant: Any,
    unit: Any,
    advisors: list[Any],
    counts: list[int],
    seed: int = 7,
) -> list[Raw]:
    """A cohort of programme ends (plus ongoing participants and other years) in `unit`."""
    rng = random.Random(seed)
    raws: list[Raw] = []
    item = _language_class(db_session, unit)
    employer = Employer(unit_id=unit.id, name="Arbeidsgiver AS")
    db_session.add(employer)
    db_session.flush()
    sessions: dict[date, Any] = {}
    attendees: list[int] = []
    owners: list[Any] = []
    for advisor, count in zip(advisors, counts, strict=True):
        owners += [advisor] * count
    for index, advisor in enumerate(owners):
        ongoing = index % 6 == 5  # still in the programme: counts only for plan reviews
        other_year = index % 11 == 3  # ended in the year before: outside the cohort
        settled = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 500))

        def after(days: int, settled: date = settled) -> date | None:
            return settled + timedelta(days=days) if rng.random() > 0.15 else None

        mapping_on = after(rng.randrange(5, 150))
        decision_on = after(rng.randrange(20, 160))
        start_on = after(rng.randrange(30, 200))
        status = (
            rng.choice([ParticipantStatus.ACTIVE, ParticipantStatus.ON_LEAVE])
            if ongoing
            else ParticipantStatus.ENDED
        )
        country = Country.SWEDEN if rng.random() < 0.3 else Country.NORWAY
        participant = make_participant(
            unit=unit,
            advisor=advisor,
            country=country,
            family_name=f"{CANARY}{index}",
            settlement_on=settled if rng.random() > 0.05 else None,
            competence_mapping_on=mapping_on,
            programme_decision_on=decision_on,
            programme_start_on=start_on,
            status=status,
        )
        raw = Raw(
            advisor.id if advisor else None,
            None,
            None,
            None,
            None,
            participant.settlement_on,
            mapping_on,
            decision_on,
            start_on,
            False,
            [],
            status,
            None,
            country=country,
            attendance=_random_attendance(rng),
            placements=_random_placements(rng),
        )
        for attendance in raw.attendance:
            _attend(db_session, sessions, item, participant.id, attendance)
        attendees.append(participant.id)
        for placement in raw.placements:
            _place(db_session, employer, participant.id, placement)
        if not ongoing:
            year = YEAR - 1 if other_year else YEAR
            raw.ended_on = date(year, 1, 1) + timedelta(days=rng.randrange(0, 365))
            raw.activity_after = rng.choice(list(MainActivity))
            raw.reason = rng.choice(list(ProgrammeEndReason))
            kind = rng.choice(list(ProgrammeEndKind))
            if rng.random() < 0.5:
                raw.activity_12m = rng.choice(list(MainActivity))
            db_session.add(
                ProgrammeEnd(
                    participant_id=participant.id,
                    unit_id=unit.id,
                    ended_on=raw.ended_on,
                    kind=kind,
                    reason=raw.reason,
                    activity_after=raw.activity_after,
                    activity_12m=raw.activity_12m,
                    activity_12m_on=raw.ended_on + timedelta(days=370)
                    if raw.activity_12m
                    else None,
                )
            )
        levels = list(CefrLevel)
        if rng.random() < 0.8:
            raw.goals = {s: rng.choice(levels) for s in Skill if rng.random() < 0.7}
            raw.end_goal = rng.choice([EndGoal.WORK, EndGoal.WORK, *list(EndGoal)[1:3]])
            raw.review_due_on = TODAY + timedelta(days=rng.randrange(-60, 60))
            plan = Plan(
                participant_id=participant.id,
                end_goal=raw.end_goal,
                programme_start_on=date(2024, 1, 1),
                planned_end_on=date(2026, 1, 1),
                hours_per_week_norm=37.5,
                review_due_on=raw.review_due_on,
                language_goals=format_language_goals(raw.goals),
            )
            db_session.add(plan)
            db_session.flush()
            for number in (1, 2):
                agreed = rng.random() < 0.35
                raw.agreed = raw.agreed or agreed
                db_session.add(
                    PlanVersion(
                        plan_id=plan.id,
                        participant_id=participant.id,
                        number=number,
                        agreed_on=date(2024, 2, number) if agreed else None,
                    )
                )
        for _attempt in range(rng.choice([0, 0, 1, 2])):
            passed = rng.random() < 0.6
            raw.social.append(passed)
            db_session.add(
                TestResult(
                    participant_id=participant.id,
                    kind=TestKind.SOCIAL_STUDIES,
                    taken_on=date(2024, 5, 1),
                    score=28 if passed else 20,
                    max_score=34,
                    passed=passed,
                )
            )
        for _attempt in range(rng.choice([0, 1, 2, 4])):
            skill, level = rng.choice(list(Skill)), rng.choice(levels)
            # Some results come after the end: those are too late to count.
            taken = (raw.ended_on or TODAY) + timedelta(days=rng.randrange(-400, 60))
            raw.norwegian.append((skill, level, taken))
            db_session.add(
                TestResult(
                    participant_id=participant.id,
                    kind=TestKind.NORWEGIAN,
                    taken_on=taken,
                    skill=skill,
                    level=level,
                )
            )
        # A Norwegian test result must not count as a social-studies attempt.
        db_session.add(
            TestResult(
                participant_id=participant.id,
                kind=TestKind.NORWEGIAN,
                taken_on=date(2024, 5, 1),
                passed=True,
            )
        )
        raws.append(raw)
    # The rows above bypass save_register: build their rollup the way it does.
    db_session.flush()
    refresh_attendance_months(db_session, attendees)
    db_session.commit()
    return raws


def _share(count: int, n: int, threshold: int) -> tuple[int, float | None, bool]:
    if n < threshold:
        return (n, None, True)
    return (n, count / n if n else None, False)


def _expected(raws: list[Raw], threshold: int) -> dict[str, tuple[int, float | None, bool]]:
    """Each figure computed from the raw rows alone, the plain way."""
    cohort = [r for r in raws if r.ended_on is not None and r.ended_on.year == YEAR]
    n = len(cohort)
    norway = [r for r in cohort if r.country is Country.NORWAY]
    sweden = [r for r in cohort if r.country is Country.SWEDEN]
    out = {
        "work_or_education": _share(
            sum(r.activity_after in WE for r in norway), len(norway), threshold
        ),
        "self_supporting_se": _share(
            sum(r.activity_after in SELF_SUPPORTING for r in sweden), len(sweden), threshold
        ),
        "goal_reached": _share(
            sum(r.reason is ProgrammeEndReason.GOAL_REACHED for r in cohort), n, threshold
        ),
        "plan_agreed": _share(sum(r.agreed for r in cohort), n, threshold),
    }
    recorded = [r for r in cohort if r.activity_12m is not None]
    out["work_or_education_12m"] = _share(
        sum(r.activity_12m in WE for r in recorded), len(recorded), threshold
    )
    took = [r for r in cohort if r.social]
    out["social_studies_passed"] = _share(sum(any(r.social) for r in took), len(took), threshold)
    order = list(CefrLevel)
    for skill in Skill:
        with_goal = [r for r in cohort if skill in r.goals]
        reached = [
            r
            for r in with_goal
            if any(
                s is skill
                and r.ended_on is not None
                and on <= r.ended_on
                and order.index(level) >= order.index(r.goals[skill])
                for s, level, on in r.norwegian
            )
        ]
        out[f"norwegian_goal_{skill.value}"] = _share(len(reached), len(with_goal), threshold)
    for median_key, within_key, attr in (
        ("days_to_mapping", "mapping_within_3m", "mapping_on"),
        ("days_to_decision", "decision_within_3m", "decision_on"),
        ("days_to_start", "start_within_3m", "start_on"),
    ):
        days = [
            (getattr(r, attr) - r.settlement_on).days
            for r in cohort
            if getattr(r, attr) is not None and r.settlement_on is not None
        ]
        if len(days) < threshold or not days:
            out[median_key] = (len(days), None, len(days) < threshold)
        else:
            out[median_key] = (len(days), float(statistics.median(days)), False)
        out[within_key] = _share(sum(d <= 91 for d in days), len(days), threshold)
    ongoing = [
        r
        for r in raws
        if r.status in (ParticipantStatus.ACTIVE, ParticipantStatus.ON_LEAVE)
        and r.review_due_on is not None
    ]
    out["plan_review_overdue"] = _share(
        sum(r.review_due_on < TODAY for r in ongoing if r.review_due_on), len(ongoing), threshold
    )
    in_year = [[a for a in r.attendance if a[0].year == YEAR] for r in raws]
    people = sum(1 for rows in in_year if rows)
    scheduled = sum(p for rows in in_year for _on, st_, p, _a in rows if st_ != "leave")
    unexcused = sum(p - a for rows in in_year for _on, st_, p, a in rows if st_ == "unexcused")
    if people < threshold:
        out["absence_rate"] = (people, None, True)
    else:
        out["absence_rate"] = (people, unexcused / scheduled if scheduled else None, False)
    placements = [p for r in raws for p in r.placements if p[2] != PlacementStatus.CANCELLED]
    started = sum(1 for p in placements if p[0].year == YEAR and p[0] <= TODAY)
    out["placements_started"] = (
        (started, None, True) if started < threshold else (started, float(started), False)
    )
    judged = [
        p
        for p in placements
        if p[1] is not None and p[1].year == YEAR and p[3] in (JobOutcome.YES, JobOutcome.NO)
    ]
    out["placement_job"] = _share(
        sum(p[3] is JobOutcome.YES for p in judged), len(judged), threshold
    )
    return out


def _with_complements(
    rows: list[dict[str, tuple[int, float | None, bool]]],
    total: dict[str, tuple[int, float | None, bool]],
) -> list[dict[str, tuple[int, float | None, bool]]]:
    """The test's own reading of the rule: one hidden non-empty cell beside a shown total
    takes the smallest shown cell (the first of equals, in page order) with it."""
    out = [dict(r) for r in rows]
    for key, (_n, _v, total_hidden) in total.items():
        hidden = [r[key] for r in out if r[key][2] and r[key][0] > 0]
        shown = [r for r in out if not r[key][2]]
        if not total_hidden and len(hidden) == 1 and shown:
            smallest = min(shown, key=lambda r: r[key][0])
            smallest[key] = (smallest[key][0], None, True)
    return out


def _actual(group: outcomes.Group) -> dict[str, tuple[int, float | None, bool]]:
    return {key: (c.n, c.value, c.suppressed) for key, c in group.cells.items()}


def _assert_same(
    actual: dict[str, tuple[int, float | None, bool]],
    expected: dict[str, tuple[int, float | None, bool]],
) -> None:
    assert actual.keys() == expected.keys()
    for key in expected:
        n, value, suppressed = actual[key]
        assert (n, suppressed) == expected[key][::2], key
        if expected[key][1] is None:
            assert value is None, key
        else:
            assert value == pytest.approx(expected[key][1]), key


@pytest.fixture
def cohort(make_unit: Any, make_user: Any, make_participant: Any, db_session: Any) -> Any:
    unit = make_unit()
    advisors = [
        make_user("advisor", unit, name="Berit Advisor"),
        make_user("advisor", unit, name="Ali Advisor"),
        make_user("advisor", unit, name="Cato Advisor"),
    ]
    # Cato has too few ends for any figure to be shown; some participants have no advisor.
    raws = _seed(db_session, make_participant, unit, [*advisors, None], [40, 30, 4, 8])
    return unit, advisors, raws


def test_unit_figures_equal_an_independent_computation(db_session: Any, cohort: Any) -> None:
    """Does every unit figure equal the same figure computed from the raw rows? Yes."""
    unit, _advisors, raws = cohort
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=5)
    _assert_same(_actual(report.total), _expected(raws, 5))


@pytest.mark.parametrize("threshold", [5, 9])
def test_advisor_figures_equal_an_independent_computation(
    db_session: Any, cohort: Any, threshold: int
) -> None:
    """Does each advisor's row (and the no-advisor row) equal the raw computation, small
    cells and their complementary partners hidden? Yes."""
    unit, advisors, raws = cohort
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=threshold)
    # Page order: advisors by name, then the participants without one.
    order = [a.id for a in sorted(advisors, key=lambda a: a.display_name)] + [None]
    expected = _with_complements(
        [_expected([r for r in raws if r.advisor_id == key], threshold) for key in order],
        _expected(raws, threshold),
    )
    assert [g.key for g in report.advisors] == [*order[:-1], outcomes.NO_ADVISOR]
    for group, mine in zip(report.advisors, expected, strict=True):
        _assert_same(_actual(group), mine)


def test_small_cells_are_suppressed(db_session: Any, cohort: Any) -> None:
    """Is a figure counting fewer than the threshold hidden, count and value alike? Yes."""
    unit, advisors, _raws = cohort
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=5)
    cato = next(g for g in report.advisors if g.key == advisors[2].id)
    people = {k: c for k, c in cato.cells.items() if k != "placements_started"}
    assert all(c.suppressed and c.value is None and c.count is None for c in people.values())
    started = cato.cells["placements_started"]
    assert started.suppressed == (started.n < 5)


@pytest.mark.parametrize("threshold", [0, 1, 10, 25])
def test_figures_hold_for_any_threshold(db_session: Any, cohort: Any, threshold: int) -> None:
    """Does suppression follow the configured threshold exactly? Yes."""
    unit, _advisors, raws = cohort
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=threshold)
    _assert_same(_actual(report.total), _expected(raws, threshold))


def test_edge_cases_interrupted_stopped_and_no_reason(
    db_session: Any, make_unit: Any, make_user: Any, make_participant: Any
) -> None:
    """Do interrupted, stopped and reason-less ends count in n but not as successes? Yes."""
    unit = make_unit()
    advisor = make_user("advisor", unit)
    cases = [
        (ProgrammeEndKind.INTERRUPTED, ProgrammeEndReason.OWN_WISH, MainActivity.UNKNOWN),
        (ProgrammeEndKind.STOPPED, ProgrammeEndReason.ABSENCE, MainActivity.JOB_SEEKING),
        (ProgrammeEndKind.COMPLETED, ProgrammeEndReason.OTHER, MainActivity.OTHER),
        (ProgrammeEndKind.COMPLETED, ProgrammeEndReason.GOAL_REACHED, MainActivity.WORK),
        (ProgrammeEndKind.INTERRUPTED, ProgrammeEndReason.WORK, MainActivity.WORK),
    ]
    for kind, reason, activity in cases:
        p = make_participant(unit=unit, advisor=advisor, status=ParticipantStatus.ENDED)
        db_session.add(
            ProgrammeEnd(
                participant_id=p.id,
                unit_id=unit.id,
                ended_on=date(YEAR, 6, 1),
                kind=kind,
                reason=reason,
                activity_after=activity,
            )
        )
    db_session.commit()
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=5)
    cells = report.total.cells
    assert (cells["work_or_education"].count, cells["work_or_education"].n) == (2, 5)
    assert (cells["goal_reached"].count, cells["goal_reached"].n) == (1, 5)
    assert cells["work_or_education_12m"].suppressed and cells["work_or_education_12m"].n == 0
    empty = outcomes.unit_report(db_session, unit, YEAR - 5, today=TODAY, threshold=0)
    assert empty.total.cells["work_or_education"].value is None
    assert empty.total.cells["days_to_start"].n == 0


def test_trend_by_quarter_equals_raw(db_session: Any, cohort: Any) -> None:
    """Does the quarterly trend (Norway) equal the raw ends grouped by quarter, with the
    complementary rule over the chosen year's quarters? Yes."""
    unit, _advisors, raws = cohort
    norway = [r for r in raws if r.country is Country.NORWAY and r.ended_on]
    for threshold in (5, 12):
        report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=threshold)
        expected = []
        for point in report.trend:
            ends = [
                r
                for r in norway
                if r.ended_on
                and r.ended_on.year == point.year
                and (r.ended_on.month - 1) // 3 + 1 == point.quarter
            ]
            share = _share(sum(r.activity_after in WE for r in ends), len(ends), threshold)
            expected.append({"we": share})
        total = {"we": _expected(raws, threshold)["work_or_education"]}
        expected[4:] = _with_complements(expected[4:], total)
        for point, want in zip(report.trend, expected, strict=True):
            n, value, suppressed = want["we"]
            assert (point.cell.n, point.cell.suppressed) == (n, suppressed)
            if value is not None:
                assert point.cell.value == pytest.approx(value)


def test_by_end_goal_equals_raw(db_session: Any, cohort: Any) -> None:
    """Does the share by end goal (and "no plan", Norway) equal the raw ends grouped by goal,
    with the complementary rule against the unit's cell? Yes."""
    unit, _advisors, raws = cohort
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=5)
    cohort_rows = [
        r for r in raws if r.ended_on and r.ended_on.year == YEAR and r.country is Country.NORWAY
    ]
    goals = {r.end_goal for r in cohort_rows}
    assert [p.end_goal for p in report.by_end_goal] == [g for g in [*EndGoal, None] if g in goals]
    expected = []
    for point in report.by_end_goal:
        ends = [r for r in cohort_rows if r.end_goal == point.end_goal]
        expected.append({"we": _share(sum(r.activity_after in WE for r in ends), len(ends), 5)})
    expected = _with_complements(expected, {"we": _expected(raws, 5)["work_or_education"]})
    for point, want in zip(report.by_end_goal, expected, strict=True):
        n, value, suppressed = want["we"]
        assert (point.cell.n, point.cell.suppressed) == (n, suppressed)
        if value is not None:
            assert point.cell.value == pytest.approx(value)


def test_other_units_do_not_leak_into_figures(
    db_session: Any, cohort: Any, make_unit: Any, make_user: Any, make_participant: Any
) -> None:
    """Do another unit's ends change this unit's figures? No."""
    unit, _advisors, raws = cohort
    other = make_unit()
    _seed(db_session, make_participant, other, [make_user("advisor", other)], [30], seed=99)
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=5)
    _assert_same(_actual(report.total), _expected(raws, 5))


# -- the page and the exports ---------------------------------------------------------


@pytest.fixture
def leader(make_user: Any, cohort: Any) -> Any:
    unit, _advisors, _raws = cohort
    user = make_user("leader", unit)
    user.locale = "en"
    return user


def _events(db_session: Any, user: Any, action: str) -> list[AuditEvent]:
    return list(
        db_session.scalars(
            select(AuditEvent).where(
                AuditEvent.actor_user_id == user.id, AuditEvent.action == action
            )
        )
    )


def test_leader_reads_the_figures_page_once_audited(
    client: Any, db_session: Any, cohort: Any, leader: Any
) -> None:
    """Does a leader see figures, definitions, charts and no names, with one audit event? Yes."""
    unit, _advisors, _raws = cohort
    log_in(client, leader, db_session)
    response = client.get(f"/unit/outcomes/?year={YEAR}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "In work or education after the programme" in page
    assert "Share of the programme ends in the year" in page
    assert 'role="img"' in page and "<title id=" in page and "<desc id=" in page
    assert "fewer than 5" in page  # Cato's row
    assert CANARY not in page
    assert "style=" not in page.split("<main", 1)[-1]
    events = _events(db_session, leader, "outcomes.read")
    assert len(events) == 1 and events[0].object_ref == str(unit.id)


def test_bad_year_is_a_clear_error(client: Any, db_session: Any, leader: Any) -> None:
    """Does a nonsense year give a 400 with a message, never a 500? Yes."""
    log_in(client, leader, db_session)
    for year in ("abc", "1800", "99999999999999999999", "-1", str(TODAY.year + 50)):
        response = client.get(f"/unit/outcomes/?year={year}")
        assert response.status_code == 400
        assert "Choose a year" in response.get_data(as_text=True)
    assert client.get("/unit/outcomes/export.csv?year=abc").status_code == 400


def test_exports_hold_the_figures_and_no_personal_data(
    client: Any, db_session: Any, cohort: Any, leader: Any
) -> None:
    """Do CSV and XLSX carry every figure, suppressed cells blank, and no participant name?"""
    _unit, _advisors, raws = cohort
    log_in(client, leader, db_session)
    response = client.get(f"/unit/outcomes/export.csv?year={YEAR}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert CANARY not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    unit_rows = {r["figure"]: r for r in rows if r["table"] == "unit"}
    expected = _expected(raws, 5)
    assert unit_rows.keys() == expected.keys() == {f.key for f in outcomes.FIGURES}
    expected.pop("plan_review_overdue")  # the page counts against the real today
    for key, (n, value, suppressed) in expected.items():
        assert unit_rows[key]["suppressed"] == ("yes" if suppressed else "no")
        if not suppressed:
            assert int(unit_rows[key]["n"]) == n
            if value is not None:
                assert float(unit_rows[key]["value"]) == pytest.approx(value, abs=1e-4)
    assert any(r["group"] == "Cato Advisor" and r["n"] == "<5" for r in rows)

    xlsx = client.get(f"/unit/outcomes/export.xlsx?year={YEAR}")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_data()))
    cells = [str(c) for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row]
    assert not any(CANARY in c for c in cells)
    assert "work_or_education" in cells
    assert len(_events(db_session, leader, "outcomes.export")) == 2


def test_leader_of_unit_a_sees_nothing_of_unit_b(
    client: Any, db_session: Any, cohort: Any, make_unit: Any, make_user: Any
) -> None:
    """Can a leader of another unit read or export this unit's figures? No (404)."""
    unit, _advisors, _raws = cohort
    other = make_unit()
    stranger = make_user("leader", other)
    log_in(client, stranger, db_session)
    for path in ("/unit/outcomes/", "/unit/outcomes/export.csv", "/unit/outcomes/export.xlsx"):
        assert client.get(f"{path}?unit={unit.id}&year={YEAR}").status_code == 404
    own = client.get(f"/unit/outcomes/?year={YEAR}").get_data(as_text=True)
    assert "Cato Advisor" not in own and "Berit Advisor" not in own
    own_csv = client.get(f"/unit/outcomes/export.csv?year={YEAR}").get_data(as_text=True)
    assert "Advisor" not in own_csv and unit.name not in own_csv
    assert all(r["n"] in ("0", "<5") for r in csv.DictReader(io.StringIO(own_csv)))


@pytest.mark.parametrize("role", ["advisor", "teacher", "partner", "admin"])
def test_only_leaders_reach_outcomes(
    client: Any, db_session: Any, make_user: Any, role: str
) -> None:
    """Do other roles reach the figures or exports? No (403)."""
    log_in(client, make_user(role), db_session)
    for path in ("/unit/outcomes/", "/unit/outcomes/export.csv", "/unit/outcomes/export.xlsx"):
        assert client.get(path).status_code == 403


@FUZZ
@given(year=st.text(max_size=30), unit=st.text(max_size=30))
def test_any_query_never_fails_the_server(
    client: Any, db_session: Any, make_user: Any, year: str, unit: str
) -> None:
    """Does any `year` or `unit` in the query answer 5xx? No: 200, 400 or 404."""
    if not getattr(client, "_outcomes_leader", None):
        log_in(client, make_user("leader"), db_session)
        client._outcomes_leader = True
    for path in ("/unit/outcomes/", "/unit/outcomes/export.csv"):
        response = client.get(path, query_string={"year": year, "unit": unit})
        assert response.status_code in (200, 400, 404)


# -- Sweden and complementary suppression --------------------------------------------


def _ends(
    db_session: Any,
    make_participant: Any,
    unit: Any,
    advisor: Any,
    rows: list[tuple[Country, MainActivity, date, EndGoal | None]],
) -> None:
    for country, activity, ended_on, goal in rows:
        p = make_participant(
            unit=unit, advisor=advisor, country=country, status=ParticipantStatus.ENDED
        )
        db_session.add(
            ProgrammeEnd(
                participant_id=p.id,
                unit_id=unit.id,
                ended_on=ended_on,
                kind=ProgrammeEndKind.COMPLETED,
                reason=ProgrammeEndReason.OTHER,
                activity_after=activity,
            )
        )
        if goal is not None:
            db_session.add(
                Plan(
                    participant_id=p.id,
                    end_goal=goal,
                    programme_start_on=date(2024, 1, 1),
                    planned_end_on=date(2026, 1, 1),
                    hours_per_week_norm=37.5,
                )
            )
    db_session.commit()


def test_sweden_counts_unemployment_insurance_and_only_swedes(
    db_session: Any, make_unit: Any, make_user: Any, make_participant: Any
) -> None:
    """Is the 50 % figure Swedish ends only (unemployment insurance counting), the 70 % one
    Norwegian only, and is the Swedish row shown only where there are Swedish ends? Yes."""
    unit = make_unit()
    advisor = make_user("advisor", unit)
    on = date(YEAR, 5, 1)
    se, no = Country.SWEDEN, Country.NORWAY
    _ends(
        db_session,
        make_participant,
        unit,
        advisor,
        [
            (se, MainActivity.UNEMPLOYMENT_INSURANCE, on, None),
            (se, MainActivity.WORK, on, None),
            (se, MainActivity.JOB_SEEKING, on, None),
            (se, MainActivity.OTHER, on, None),
            (no, MainActivity.UNEMPLOYMENT_INSURANCE, on, None),
            (no, MainActivity.EDUCATION, on, None),
        ],
    )
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=0)
    se_cell = report.total.cells["self_supporting_se"]
    no_cell = report.total.cells["work_or_education"]
    assert (se_cell.count, se_cell.n) == (2, 4)
    assert (no_cell.count, no_cell.n) == (1, 2)
    assert report.total.cells["goal_reached"].n == 6  # the other figures count everyone
    keys = [f.key for f in report.figures]
    assert "self_supporting_se" in keys and "work_or_education" in keys
    # A year with Norwegian ends only: no Swedish row; with none at all, Norway's stays.
    other = make_unit()
    _ends(db_session, make_participant, other, None, [(no, MainActivity.WORK, on, None)])
    only_no = outcomes.unit_report(db_session, other, YEAR, today=TODAY, threshold=0)
    assert "self_supporting_se" not in [f.key for f in only_no.figures]
    nothing = outcomes.unit_report(db_session, other, YEAR - 3, today=TODAY, threshold=0)
    assert [f.key for f in nothing.figures] == [
        f.key for f in outcomes.FIGURES if f.key != "self_supporting_se"
    ]
    swedish = make_unit()
    _ends(db_session, make_participant, swedish, None, [(se, MainActivity.WORK, on, None)])
    only_se = outcomes.unit_report(db_session, swedish, YEAR, today=TODAY, threshold=0)
    assert "work_or_education" not in [f.key for f in only_se.figures]
    assert "self_supporting_se" in [f.key for f in only_se.figures]


def test_complement_rule() -> None:
    """Does one hidden non-empty cell beside a shown total take the smallest shown one with
    it, and nothing else? Yes."""
    shown = outcomes.Cell(9, 3, 0.3, False)
    small = outcomes.Cell(2, None, None, True)
    empty = outcomes.Cell(0, None, None, True)
    total = outcomes.Cell(30, 10, 0.33, False)
    big = outcomes.Cell(19, 5, 0.26, False)
    out = outcomes.complement([big, small, shown, empty], total)
    assert [c.complementary for c in out] == [False, False, True, False]
    assert out[2].suppressed and out[2].value is None and out[2].count is None
    # Two small ones already hide each other; an empty one alone gives nobody away.
    assert outcomes.complement([big, small, small], total) == [big, small, small]
    assert outcomes.complement([big, shown, empty], total) == [big, shown, empty]
    # A hidden total cannot be subtracted from.
    hidden_total = outcomes.Cell(4, None, None, True)
    assert outcomes.complement([small, shown], hidden_total) == [small, shown]


def test_complementary_suppression_on_page_and_in_exports(
    client: Any, db_session: Any, make_unit: Any, make_user: Any, make_participant: Any
) -> None:
    """With one small advisor, quarter and end goal each, is the next smallest hidden too,
    marked on the page with its note and in the CSV? Yes."""
    unit = make_unit()
    ada = make_user("advisor", unit, name="Ada Advisor")  # 10 ends: Q1, end goal work
    bo = make_user("advisor", unit, name="Bo Advisor")  # 6 ends: Q2, upper secondary
    cy = make_user("advisor", unit, name="Cy Advisor")  # 2 ends: Q3, other
    no = Country.NORWAY
    for advisor, n, month, goal in (
        (ada, 10, 2, EndGoal.WORK),
        (bo, 6, 5, EndGoal.UPPER_SECONDARY_COMPLETED),
        (cy, 2, 8, EndGoal.OTHER),
    ):
        ends: list[tuple[Country, MainActivity, date, EndGoal | None]] = [
            (no, MainActivity.WORK, date(YEAR, month, 1 + i), goal) for i in range(n)
        ]
        _ends(db_session, make_participant, unit, advisor, ends)
    report = outcomes.unit_report(db_session, unit, YEAR, today=TODAY, threshold=5)

    def state(cell: outcomes.Cell) -> str:
        return "complementary" if cell.complementary else "small" if cell.suppressed else "shown"

    advisors = {g.label: state(g.cells["work_or_education"]) for g in report.advisors}
    assert advisors == {
        "Ada Advisor": "shown",
        "Bo Advisor": "complementary",
        "Cy Advisor": "small",
    }
    assert not report.total.cells["work_or_education"].suppressed
    quarters = [state(p.cell) for p in report.trend if p.year == YEAR]
    # Q4 is empty (hidden, gives nobody away); Q3 is small, so Q2 goes with it.
    assert quarters == ["shown", "complementary", "small", "small"]
    assert [state(p.cell) for p in report.by_end_goal] == ["shown", "complementary", "small"]

    leader = make_user("leader", unit)
    leader.locale = "en"
    log_in(client, leader, db_session)
    page = client.get(f"/unit/outcomes/?year={YEAR}").get_data(as_text=True)
    assert "–*" in page and 'id="complementary-note"' in page
    text = client.get(f"/unit/outcomes/export.csv?year={YEAR}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    bo_row = next(
        r for r in rows if r["group"] == "Bo Advisor" and r["figure"] == "work_or_education"
    )
    assert (bo_row["value"], bo_row["n"], bo_row["suppressed"], bo_row["reason"]) == (
        "",
        "",
        "yes",
        "complementary",
    )
    q2 = next(r for r in rows if r["table"] == "quarter" and r["group"] == f"{YEAR}-Q2")
    assert (q2["n"], q2["reason"]) == ("", "complementary")
    xlsx = client.get(f"/unit/outcomes/export.xlsx?year={YEAR}")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_data()))
    sheet_rows = [r for r in book["By advisor"].iter_rows(values_only=True)]
    bo_x = next(r for r in sheet_rows if r[1] == "Bo Advisor" and r[2] == "work_or_education")
    assert bo_x[3] is None and bo_x[5] is None and bo_x[7] == "complementary"
