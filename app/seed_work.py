"""Made-up case work at scale for load tests: plans, tasks and follow-ups in bulk.

`veiviser seed --plans --tasks N --follow-ups N` calls this after the participants:
the rows are sealed like the operations seal them (each value bound to its own
row's reference) and inserted in batches with Core, so 100k participants get their
plans in minutes, not hours. Only for benchmark databases; never for production.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from models.accounts import Unit
from models.base import new_ref, utcnow
from models.codes import (
    CefrLevel,
    ElementStatus,
    EndGoal,
    FollowUpKind,
    MainActivity,
    ParticipantStatus,
    PlanElementType,
    ProgrammeEndKind,
    ProgrammeEndReason,
    Skill,
)
from models.crypto import Encrypted, KeyRing, keyring_of
from models.decisions import ProgrammeEnd, twelve_month_opens
from models.followups import FollowUp
from models.language import Leave, LeaveType, TestKind, TestResult
from models.participants import Participant
from models.placements import Employer, JobOutcome, Placement, PlacementStatus, PlacementType
from models.plans import Plan, PlanElement, PlanVersion, snapshot_of
from models.tasks import Task

BATCH = 1000
ELEMENTS = (
    (PlanElementType.LANGUAGE, 0, 540, 20.0),
    (PlanElementType.SOCIAL_STUDIES, 0, 120, 4.0),
    (PlanElementType.LIFE_SKILLS, 0, 90, 2.0),
    (PlanElementType.WORK_PRACTICE, 180, 360, 12.0),
)
TASK_TITLES = (
    "Følge opp fravær",
    "Bestille tolk",
    "Kontakte arbeidsgiver om praksis",
    "Sende søknad om videregående",
)
SUMMARIES = (
    "Gikk gjennom planen; trives på kurset.",
    "Telefon om fravær forrige uke.",
    "Hjemmebesøk med boveileder.",
    "Møte med praksisplass om videre løp.",
)


@dataclass
class WorkCounts:
    plans: int = 0
    tasks: int = 0
    follow_ups: int = 0


class _Sealer:
    """Seals one model's encrypted attribute for a row reference, as `Encrypted` does."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.keyring: KeyRing = keyring_of(session)
        self.fields = {(owner, f.name): f for owner, f in Encrypted.registry}

    def __call__(self, model: type[Any], name: str, plain: str, ref: str) -> bytes:
        field = self.fields[(model, name)]
        return self.keyring.seal(self.session, plain, field.table, field.name, ref)


def _participants(session: Session) -> Iterator[list[tuple[int, int | None, date | None]]]:
    last = 0
    while True:
        rows = session.execute(
            select(Participant.id, Participant.primary_advisor_id, Participant.programme_start_on)
            .where(Participant.id > last)
            .order_by(Participant.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield [(r[0], r[1], r[2]) for r in rows]
        last = rows[-1][0]


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _plans(
    session: Session,
    seal: _Sealer,
    batch: list[tuple[int, int | None, date | None]],
    now: datetime,
    today: date,
) -> int:
    """One plan with one version and four elements per participant in the programme."""
    started = [(pid, start) for pid, _advisor, start in batch if start is not None]
    advisors = {pid: advisor for pid, advisor, _start in batch}
    if not started:
        return 0
    plan_rows, drafts = [], {}
    for pid, start in started:
        ref = new_ref()
        plan = Plan(
            ref=ref,
            end_goal=EndGoal.WORK if pid % 3 else EndGoal.UPPER_SECONDARY_COMPLETED,
            programme_start_on=start,
            planned_end_on=start + timedelta(days=700),
            hours_per_week_norm=37.5,
            has_children_under_18=pid % 4 == 0,
            language_goals="listening:B1,reading:B1,writing:A2,oral:B1",
        )
        plan.long_term_goal = "Fast arbeid innen helse og omsorg."
        drafts[pid] = plan
        plan_rows.append(
            {
                "ref": ref,
                "version": 1,
                "participant_id": pid,
                "end_goal": plan.end_goal,
                "programme_start_on": start,
                "planned_end_on": plan.planned_end_on,
                "hours_per_week_norm": 37.5,
                "has_children_under_18": plan.has_children_under_18,
                "language_goals": plan.language_goals,
                "long_term_goal": seal(Plan, "long_term_goal", plan.long_term_goal, ref),
                "contract_text": None,
                "current_version": 1,
                "last_reviewed_on": None,
                "review_due_on": start + timedelta(days=182),
                "created_at": now,
                "updated_at": now,
            }
        )
    session.execute(insert(_table(Plan)), _complete(Plan, plan_rows))
    ids = dict(
        session.execute(
            select(Plan.participant_id, Plan.id).where(Plan.participant_id.in_(list(drafts)))
        ).all()
    )
    element_rows, version_rows = [], []
    for pid, start in started:
        elements = []
        for kind, begin, end, hours in ELEMENTS:
            element = PlanElement(
                ref=new_ref(),
                element_type=kind,
                start_on=start + timedelta(days=begin),
                end_on=start + timedelta(days=end),
                hours_per_week=hours,
                status=ElementStatus.ONGOING if begin == 0 else ElementStatus.PLANNED,
            )
            elements.append(element)
            element_rows.append(
                {
                    "ref": element.ref,
                    "version": 1,
                    "participant_id": pid,
                    "plan_id": ids[pid],
                    "element_type": kind,
                    "provider_unit_id": None,
                    "start_on": element.start_on,
                    "end_on": element.end_on,
                    "hours_per_week": hours,
                    "status": element.status,
                    "note": None,
                }
            )
        ref = new_ref()
        snapshot = json.dumps(snapshot_of(drafts[pid], elements), ensure_ascii=False)
        version_rows.append(
            {
                "ref": ref,
                "plan_id": ids[pid],
                "participant_id": pid,
                "number": 1,
                "snapshot": seal(PlanVersion, "snapshot_json", snapshot, ref),
                "reason": seal(PlanVersion, "reason", "Første plan.", ref),
                "created_at": now,
                **_agreement(pid, start, advisors.get(pid), today),
            }
        )
    session.execute(insert(_table(PlanElement)), _complete(PlanElement, element_rows))
    session.execute(insert(_table(PlanVersion)), _complete(PlanVersion, version_rows))
    return len(started)


def _agreement(pid: int, start: date, advisor: int | None, today: date) -> dict[str, Any]:
    """Most first versions were agreed with the participant within weeks of the start;
    one in eight not (yet), so the "plan agreed" figure is not a constant 100 %. An
    agreed version is dated at the start: the model refuses an agreement dated before
    the version was saved."""
    agreed = start + timedelta(days=14 + pid % 30)
    if pid % 8 == 0 or agreed > today:
        return {}
    return {
        "created_at": datetime.combine(start, time(9), tzinfo=UTC),
        "agreed_on": agreed,
        "interpreter_used": pid % 3 == 0,
        "agreed_language": "nb",
        "agreed_by_id": advisor,
    }


def _complete(model: type[Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every column present (NULL when not given), so one INSERT shape serves the batch."""
    columns = {c.key: None for c in _table(model).columns if c.key != "id"}
    return [{**columns, **row} for row in rows]


def _tasks(
    session: Session,
    seal: _Sealer,
    batch: list[tuple[int, int | None, date | None]],
    per_participant: int,
    today: date,
    rng: random.Random,
    now: datetime,
) -> int:
    rows = []
    for pid, advisor, _start in batch:
        if advisor is None:
            continue
        for _ in range(per_participant):
            ref = new_ref()
            done = rng.random() < 0.4
            rows.append(
                {
                    "ref": ref,
                    "version": 1,
                    "participant_id": pid,
                    "assignee_id": advisor,
                    "title": seal(Task, "title", rng.choice(TASK_TITLES), ref),
                    "due_on": today + timedelta(days=rng.randint(-20, 60)),
                    "created_by_id": advisor,
                    "created_at": now,
                    "done_at": now if done else None,
                    "done_by_id": advisor if done else None,
                }
            )
    if rows:
        session.execute(insert(_table(Task)), _complete(Task, rows))
    return len(rows)


def _follow_ups(
    session: Session,
    seal: _Sealer,
    batch: list[tuple[int, int | None, date | None]],
    per_participant: int,
    today: date,
    rng: random.Random,
    now: datetime,
) -> int:
    rows = []
    for pid, advisor, _start in batch:
        for _ in range(per_participant):
            ref = new_ref()
            day = today - timedelta(days=rng.randint(1, 700))
            rows.append(
                {
                    "ref": ref,
                    "version": 1,
                    "participant_id": pid,
                    "occurred_at": datetime.combine(day, time(9 + rng.randint(0, 6)), tzinfo=UTC),
                    "kind": rng.choice(list(FollowUpKind)),
                    "interpreter_used": False,
                    "summary": seal(FollowUp, "summary", rng.choice(SUMMARIES), ref),
                    "created_by_id": advisor,
                    "created_at": now,
                }
            )
    if rows:
        session.execute(insert(_table(FollowUp)), _complete(FollowUp, rows))
    return len(rows)


def seed_work(
    session: Session,
    today: date,
    rng: random.Random,
    *,
    plans: bool,
    tasks_per_participant: int,
    follow_ups_per_participant: int,
) -> WorkCounts:
    """Case work for every participant in the database, committed per batch."""
    seal = _Sealer(session)
    now = utcnow()
    counts = WorkCounts()
    for batch in _participants(session):
        if plans:
            counts.plans += _plans(session, seal, batch, now, today)
        counts.tasks += _tasks(session, seal, batch, tasks_per_participant, today, rng, now)
        counts.follow_ups += _follow_ups(
            session, seal, batch, follow_ups_per_participant, today, rng, now
        )
        session.commit()
    return counts


# -- outcomes ------------------------------------------------------------------------------

# (kind, weight, reasons with weights): most programmes run to their end; a fifth are
# interrupted by the participant or stopped by the municipality.
END_KINDS: tuple[tuple[ProgrammeEndKind, int, tuple[tuple[ProgrammeEndReason, int], ...]], ...] = (
    (
        ProgrammeEndKind.COMPLETED,
        78,
        (
            (ProgrammeEndReason.GOAL_REACHED, 55),
            (ProgrammeEndReason.WORK, 25),
            (ProgrammeEndReason.EDUCATION, 12),
            (ProgrammeEndReason.MAX_LENGTH, 8),
        ),
    ),
    (
        ProgrammeEndKind.INTERRUPTED,
        14,
        (
            (ProgrammeEndReason.MOVED, 40),
            (ProgrammeEndReason.HEALTH, 20),
            (ProgrammeEndReason.PARENTAL_LEAVE, 20),
            (ProgrammeEndReason.OWN_WISH, 20),
        ),
    ),
    (
        ProgrammeEndKind.STOPPED,
        8,
        ((ProgrammeEndReason.ABSENCE, 70), (ProgrammeEndReason.OTHER, 30)),
    ),
)
# Main activity after a completed programme, and after one cut short: the national
# figure is near 60 % in work or education right after (IMDi), lower when cut short.
ACTIVITY_COMPLETED = (
    (MainActivity.WORK, 38),
    (MainActivity.EDUCATION, 18),
    (MainActivity.WORK_AND_EDUCATION, 8),
    (MainActivity.JOB_SEEKING, 22),
    (MainActivity.OTHER, 10),
    (MainActivity.UNKNOWN, 4),
)
ACTIVITY_CUT_SHORT = (
    (MainActivity.WORK, 15),
    (MainActivity.EDUCATION, 8),
    (MainActivity.JOB_SEEKING, 30),
    (MainActivity.OTHER, 30),
    (MainActivity.UNKNOWN, 17),
)
LEVELS = ((CefrLevel.A1, 12), (CefrLevel.A2, 30), (CefrLevel.B1, 38), (CefrLevel.B2, 20))
PLACEMENT_TYPES = (
    (PlacementType.LANGUAGE_PRACTICE, 35),
    (PlacementType.WORK_PRACTICE, 35),
    (PlacementType.WAGE_SUBSIDY, 12),
    (PlacementType.ORDINARY_JOB, 10),
    (PlacementType.APPRENTICESHIP, 5),
    (PlacementType.VOLUNTEER, 3),
)
EMPLOYERS = (
    ("Rema 1000", "Retail"),
    ("Kiwi", "Retail"),
    ("Omsorgssenteret", "Health and care"),
    ("Byggmester Hansen AS", "Construction"),
    ("Kantina AS", "Hospitality"),
    ("Renholdsservice AS", "Cleaning"),
    ("Barnehagen Solsikken", "Education"),
    ("Bussdepotet", "Transport"),
)


@dataclass
class OutcomeCounts:
    programme_ends: int = 0
    test_results: int = 0
    placements: int = 0
    leaves: int = 0


@dataclass(frozen=True)
class _Person:
    id: int
    unit_id: int
    advisor: int | None
    status: ParticipantStatus
    start: date
    end: date | None


def _pick(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _w in pairs], [weight for _v, weight in pairs])[0]


def _in_programme(session: Session) -> Iterator[list[_Person]]:
    """Everyone who started the programme, in batches by id."""
    last = 0
    while True:
        rows = session.execute(
            select(
                Participant.id,
                Participant.unit_id,
                Participant.primary_advisor_id,
                Participant.status,
                Participant.programme_start_on,
                Participant.programme_end_on,
            )
            .where(Participant.id > last, Participant.programme_start_on.is_not(None))
            .order_by(Participant.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield [_Person(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows if r[4] is not None]
        last = rows[-1][0]


def _ending(person: _Person, end: date, today: date, rng: random.Random) -> dict[str, Any]:
    kind = _pick(rng, tuple((k, w) for k, w, _reasons in END_KINDS))
    reasons = next(r for k, _w, r in END_KINDS if k is kind)
    reason: ProgrammeEndReason = _pick(rng, reasons)
    if reason is ProgrammeEndReason.WORK:
        after = MainActivity.WORK
    elif reason is ProgrammeEndReason.EDUCATION:
        after = MainActivity.EDUCATION
    else:
        after = _pick(
            rng,
            ACTIVITY_COMPLETED if kind is ProgrammeEndKind.COMPLETED else ACTIVITY_CUT_SHORT,
        )
    # The status a year on is recorded for most once the window has opened; those in
    # work or education right after mostly stay there.
    opens = twelve_month_opens(end)
    later: MainActivity | None = None
    later_on: date | None = None
    if opens <= today and rng.random() < 0.8:
        stays = after in (
            MainActivity.WORK,
            MainActivity.EDUCATION,
            MainActivity.WORK_AND_EDUCATION,
        )
        later = after if stays and rng.random() < 0.8 else _pick(rng, ACTIVITY_COMPLETED)
        later_on = min(today, opens + timedelta(days=rng.randint(0, 40)))
    return {
        "ref": new_ref(),
        "version": 1,
        "participant_id": person.id,
        "unit_id": person.unit_id,
        "ended_on": end,
        "kind": kind,
        "reason": reason,
        "activity_after": after,
        "activity_12m": later,
        "activity_12m_on": later_on,
        "recorded_by_id": person.advisor,
    }


def _tests(person: _Person, today: date, rng: random.Random) -> list[dict[str, Any]]:
    """The Norwegian test (four skills) and the social studies test, taken late in the
    programme; none yet for those less than eight months in."""
    last = person.end or today
    if (last - person.start).days < 240 or rng.random() < 0.15:
        return []
    taken = last - timedelta(days=rng.randint(10, 120))
    common = {"participant_id": person.id, "created_by_id": person.advisor}
    rows = [
        {
            **common,
            "ref": new_ref(),
            "kind": TestKind.NORWEGIAN,
            "taken_on": taken,
            "skill": skill,
            "level": _pick(rng, LEVELS),
        }
        for skill in Skill
    ]
    if rng.random() < 0.85:
        score = rng.randint(12, 36)
        rows.append(
            {
                **common,
                "ref": new_ref(),
                "kind": TestKind.SOCIAL_STUDIES,
                "taken_on": taken - timedelta(days=rng.randint(0, 60)),
                "score": score,
                "max_score": 36,
                "passed": score >= 22,
            }
        )
    return rows


def _placement(
    person: _Person, employer: int, today: date, rng: random.Random
) -> dict[str, Any] | None:
    """A work placement for about half of those a year or more in; with an outcome once
    it has ended."""
    last = person.end or today
    if (last - person.start).days < 200 or rng.random() < 0.5:
        return None
    start = person.start + timedelta(days=rng.randint(120, 200))
    end = start + timedelta(days=rng.randint(60, 180))
    ended = end <= last
    return {
        "ref": new_ref(),
        "version": 1,
        "participant_id": person.id,
        "employer_id": employer,
        "placement_type": _pick(rng, PLACEMENT_TYPES),
        "start_on": start,
        "end_on": end,
        "days_per_week": rng.choice((3, 4, 5)),
        "hours_per_week": rng.choice((15.0, 20.0, 30.0, 37.5)),
        "status": PlacementStatus.ENDED if ended else PlacementStatus.ONGOING,
        "outcome": _pick(rng, ((JobOutcome.YES, 30), (JobOutcome.NO, 55), (JobOutcome.UNKNOWN, 15)))
        if ended
        else JobOutcome.UNKNOWN,
        "created_by_id": person.advisor,
    }


def _leave(person: _Person, today: date, rng: random.Random) -> dict[str, Any] | None:
    """Those on leave have a leave running today; a few others had one earlier."""
    if person.status is ParticipantStatus.ON_LEAVE:
        starts = today - timedelta(days=rng.randint(10, 120))
        ends = today + timedelta(days=rng.randint(14, 180))
    elif rng.random() < 0.05 and (today - person.start).days > 120:
        starts = person.start + timedelta(days=rng.randint(60, 120))
        ends = starts + timedelta(days=rng.randint(14, 90))
    else:
        return None
    return {
        "ref": new_ref(),
        "version": 1,
        "participant_id": person.id,
        "leave_type": _pick(
            rng,
            (
                (LeaveType.PARENTAL, 45),
                (LeaveType.ILLNESS, 25),
                (LeaveType.WORK, 15),
                (LeaveType.EDUCATION, 5),
                (LeaveType.OTHER, 10),
            ),
        ),
        "starts_on": starts,
        "ends_on": ends,
        "created_by_id": person.advisor,
    }


def _employers(session: Session, now: datetime) -> dict[int, list[int]]:
    """A handful of employers per unit (few rows: through the ORM)."""
    by_unit: dict[int, list[int]] = {}
    for unit_id in session.scalars(select(Unit.id).order_by(Unit.id)):
        made = [
            Employer(unit_id=unit_id, name=name, industry=industry, created_at=now)
            for name, industry in EMPLOYERS
        ]
        session.add_all(made)
        session.flush()
        by_unit[unit_id] = [e.id for e in made]
    return by_unit


def seed_outcomes(session: Session, today: date, rng: random.Random) -> OutcomeCounts:
    """What the outcome figures and the national reporting read, for everyone who started
    the programme: a programme end for each ended participant, test results, placements
    and leave. Committed per batch. Only for benchmark and demo databases."""
    now = utcnow()
    counts = OutcomeCounts()
    employers = _employers(session, now)
    for batch in _in_programme(session):
        ends, tests, placements, leaves = [], [], [], []
        for person in batch:
            if person.status is ParticipantStatus.ENDED and person.end is not None:
                ends.append(_ending(person, person.end, today, rng))
            tests += _tests(person, today, rng)
            placement = _placement(person, rng.choice(employers[person.unit_id]), today, rng)
            if placement is not None:
                placements.append(placement)
            leave = _leave(person, today, rng)
            if leave is not None:
                leaves.append(leave)
        for model, rows, stamp in (
            (ProgrammeEnd, ends, ("created_at", "updated_at")),
            (TestResult, tests, ("created_at",)),
            (Placement, placements, ("created_at", "updated_at")),
            (Leave, leaves, ("created_at",)),
        ):
            if rows:
                stamped = [{**row, **dict.fromkeys(stamp, now)} for row in rows]
                session.execute(insert(_table(model)), _complete(model, stamped))
        counts.programme_ends += len(ends)
        counts.test_results += len(tests)
        counts.placements += len(placements)
        counts.leaves += len(leaves)
        session.commit()
    return counts
