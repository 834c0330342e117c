"""Made-up language training at scale for load tests: classes, enrolments, sessions and
attendance in bulk.

`veiviser seed --attendance-weeks W` calls this after the participants: everyone in the
programme is enrolled in a class of 25 of their unit, taught by the unit's seeded
teacher four days a week (4 × 45-minute lessons), with W weeks of registered
attendance — mostly present, some excused and unexcused absence. With 100k
participants and 8 weeks that is about 2M attendance rows. The monthly
attendance rollup is rebuilt at the end. Only for benchmark databases; never for
production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from models.accounts import Membership, Role
from models.base import new_ref, utcnow
from models.codes import CefrLevel
from models.language import (
    AbsenceReason,
    Attendance,
    AttendanceStatus,
    ClassSession,
    ClassTeacher,
    Enrolment,
    LanguageClass,
    refresh_attendance_months,
)
from models.participants import Participant
from models.rules import NO_2022

CLASS_SIZE = 25
WEEKDAYS = (0, 1, 2, 3)  # Monday to Thursday
LESSON_MINUTES = 45
LESSONS_PER_DAY = 4
BATCH = 5000


@dataclass
class LanguageCounts:
    classes: int = 0
    enrolments: int = 0
    sessions: int = 0
    attendances: int = 0


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _complete(model: type[Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    columns = {c.key: None for c in _table(model).columns if c.key != "id"}
    return [{**columns, **row} for row in rows]


def _days(today: date, weeks: int) -> list[date]:
    first = today - timedelta(weeks=weeks)
    return [
        first + timedelta(days=n)
        for n in range((today - first).days)
        if (first + timedelta(days=n)).weekday() in WEEKDAYS
    ]


def seed_language(
    session: Session, today: date, rng: random.Random, *, weeks: int
) -> LanguageCounts:
    """Classes of 25 per unit for everyone in the programme, with `weeks` of attendance."""
    counts = LanguageCounts()
    teachers = dict(
        session.execute(
            select(Membership.unit_id, Membership.user_id).where(Membership.role == Role.TEACHER)
        ).all()
    )
    days = _days(today, weeks)
    planned = LESSON_MINUTES * LESSONS_PER_DAY
    rule = NO_2022
    assert rule.lesson_minutes and rule.lesson_programme_minutes
    now = utcnow()
    for unit_id, teacher_id in sorted(teachers.items()):
        learners = list(
            session.scalars(
                select(Participant.id)
                .where(Participant.unit_id == unit_id, Participant.programme_start_on.is_not(None))
                .order_by(Participant.id)
            )
        )
        attendance_rows: list[dict[str, Any]] = []
        for start in range(0, len(learners), CLASS_SIZE):
            group = learners[start : start + CLASS_SIZE]
            ref = new_ref()
            class_id = session.execute(
                insert(_table(LanguageClass)).returning(_table(LanguageClass).c.id),
                _complete(
                    LanguageClass,
                    [
                        {
                            "ref": ref,
                            "version": 1,
                            "unit_id": unit_id,
                            "name": f"Norsk {start // CLASS_SIZE + 1:04d}",
                            "level": CefrLevel.A2,
                            "weekdays": ",".join(str(d) for d in WEEKDAYS),
                            "lesson_minutes": LESSON_MINUTES,
                            "lessons_per_day": LESSONS_PER_DAY,
                            "starts_on": today - timedelta(weeks=weeks),
                            "ends_on": today + timedelta(days=200),
                            "created_at": now,
                        }
                    ],
                ),
            ).scalar_one()
            session.execute(
                insert(_table(ClassTeacher)), [{"class_id": class_id, "user_id": teacher_id}]
            )
            session.execute(
                insert(_table(Enrolment)),
                _complete(
                    Enrolment,
                    [
                        {
                            "ref": new_ref(),
                            "version": 1,
                            "participant_id": pid,
                            "class_id": class_id,
                            "starts_on": today - timedelta(weeks=weeks),
                            "created_by_id": teacher_id,
                            "created_at": now,
                        }
                        for pid in group
                    ],
                ),
            )
            session_ids = session.execute(
                insert(_table(ClassSession)).returning(
                    _table(ClassSession).c.id, _table(ClassSession).c.held_on
                ),
                _complete(
                    ClassSession,
                    [
                        {
                            "ref": new_ref(),
                            "version": 1,
                            "class_id": class_id,
                            "held_on": day,
                            "planned_minutes": planned,
                            "saved_by_id": teacher_id,
                            "saved_at": now,
                        }
                        for day in days
                    ],
                ),
            ).all()
            for session_id, held_on in session_ids:
                for pid in group:
                    roll = rng.random()
                    if roll < 0.88:
                        status, reason, minutes = AttendanceStatus.PRESENT, None, planned
                    elif roll < 0.95:
                        status, reason, minutes = AttendanceStatus.EXCUSED, AbsenceReason.ILLNESS, 0
                    else:
                        status, reason, minutes = AttendanceStatus.UNEXCUSED, None, 0
                    attendance_rows.append(
                        {
                            "version": 1,
                            "session_id": session_id,
                            "participant_id": pid,
                            "held_on": held_on,
                            "status": status,
                            "reason": reason,
                            "planned_minutes": planned,
                            "attended_minutes": minutes,
                            "programme_minutes": minutes
                            * rule.lesson_programme_minutes
                            // rule.lesson_minutes,
                        }
                    )
            counts.classes += 1
            counts.enrolments += len(group)
            counts.sessions += len(session_ids)
            if len(attendance_rows) >= BATCH:
                session.execute(insert(_table(Attendance)), attendance_rows)
                counts.attendances += len(attendance_rows)
                attendance_rows = []
                session.commit()
        if attendance_rows:
            session.execute(insert(_table(Attendance)), attendance_rows)
            counts.attendances += len(attendance_rows)
        session.commit()
    # Everyone's rollup, not only the rows written here: one INSERT … SELECT, and a list
    # of 100k participant ids would pass PostgreSQL's limit of bound parameters.
    refresh_attendance_months(session, None)
    session.commit()
    return counts
