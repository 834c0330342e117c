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

from models.base import new_ref, utcnow
from models.codes import ElementStatus, EndGoal, FollowUpKind, PlanElementType
from models.crypto import Encrypted, KeyRing, keyring_of
from models.followups import FollowUp
from models.participants import Participant
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
    session: Session, seal: _Sealer, batch: list[tuple[int, int | None, date | None]], now: datetime
) -> int:
    """One plan with one version and four elements per participant in the programme."""
    started = [(pid, start) for pid, _advisor, start in batch if start is not None]
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
            }
        )
    session.execute(insert(_table(PlanElement)), _complete(PlanElement, element_rows))
    session.execute(insert(_table(PlanVersion)), _complete(PlanVersion, version_rows))
    return len(started)


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
            counts.plans += _plans(session, seal, batch, now)
        counts.tasks += _tasks(session, seal, batch, tasks_per_participant, today, rng, now)
        counts.follow_ups += _follow_ups(
            session, seal, batch, follow_ups_per_participant, today, rng, now
        )
        session.commit()
    return counts
