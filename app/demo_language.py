"""Demo language training: a class of the demo teacher with the demo advisor's active
participants, four weeks of attendance and a few progress estimates.

Called by `veiviser demo` after the case work; does nothing when a class exists.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import language as ops
from models.accounts import Unit, User
from models.codes import CefrLevel, ParticipantStatus, Skill
from models.errors import DomainError
from models.participants import Participant
from models.policy import Actor

DEMO_TEACHER = "teacher@demo.veiviser.no"
DEMO_ADVISOR = "advisor@demo.veiviser.no"
CLASS_SIZE = 14
WEEKS = 4


def load_language(session: Session, today: date) -> int:
    """Returns how many participants were enrolled (0 when already loaded)."""
    if session.scalar(select(ops.LanguageClass.id).limit(1)) is not None:
        return 0
    teacher = session.scalar(select(User).where(User.email == DEMO_TEACHER))
    advisor = session.scalar(select(User).where(User.email == DEMO_ADVISOR))
    centre = session.scalar(select(Unit).where(Unit.kind == "adult_learning"))
    if teacher is None or advisor is None or centre is None:
        return 0
    actor = Actor(teacher)
    start = today - timedelta(weeks=WEEKS, days=today.weekday())
    item = ops.create_class(
        session,
        actor,
        ops.ClassInput(
            name="Norsk A2 formiddag",
            unit_id=centre.id,
            level=CefrLevel.A2,
            weekdays=[0, 1, 2, 3, 4],
            lesson_minutes=45,
            lessons_per_day=4,
            starts_on=start,
            ends_on=start + timedelta(days=300),
            room="Rom 101",
            teacher_ids=[teacher.id],
        ),
    )
    participants = list(
        session.scalars(
            select(Participant)
            .where(
                Participant.primary_advisor_id == advisor.id,
                Participant.status == ParticipantStatus.ACTIVE,
            )
            .order_by(Participant.id)
            .limit(CLASS_SIZE)
        )
    )
    enrolled = 0
    for participant in participants:
        try:
            with session.begin_nested():
                ops.enrol(session, actor, item, participant, start, today)
            enrolled += 1
        except DomainError:
            continue
    rng = random.Random(2026)  # noqa: S311 - made-up demo data, not security
    on = start
    while on < today:
        if item.meets_on(on):
            register = ops.register_of(session, item, on)
            entries = []
            for index, enrolment in enumerate(register.enrolments):
                roll = rng.random()
                # The first participant skips often: the demo advisor gets an absence task.
                if (index == 0 and roll < 0.4) or roll < 0.05:
                    status = ops.AttendanceStatus.UNEXCUSED
                elif roll < 0.12:
                    status = ops.AttendanceStatus.EXCUSED
                else:
                    status = ops.AttendanceStatus.PRESENT
                reason = (
                    ops.AbsenceReason.ILLNESS if status is ops.AttendanceStatus.EXCUSED else None
                )
                entries.append(ops.AttendanceInput(enrolment.ref, status, reason, None))
            ops.save_register(session, actor, item, on, register.version, entries, today=today)
        on += timedelta(days=1)
    levels = [CefrLevel.A1, CefrLevel.A2, CefrLevel.B1]
    for participant in participants[:enrolled]:
        for skill in Skill:
            for weeks_ago, step in ((WEEKS, 0), (0, 1)):
                ops.add_estimate(
                    session,
                    actor,
                    participant,
                    skill=skill,
                    level=levels[min(len(levels) - 1, rng.randrange(2) + step)],
                    assessed_on=today - timedelta(weeks=weeks_ago),
                    comment="",
                    today=today,
                )
    return enrolled
