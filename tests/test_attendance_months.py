"""The monthly attendance rollup (`attendance_months`) against the attendance rows it sums:
after register saves and corrections, two classes on one day, leave, and the migration's
backfill; and the outcome figure's absence sums read from it."""

from __future__ import annotations

import importlib.util
import threading
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select

from models import language as ops
from models import outcomes
from models.accounts import UnitKind
from models.base import local_today
from models.codes import CefrLevel
from models.policy import Actor

Status = ops.AttendanceStatus
MIGRATION = Path(__file__).parent.parent / "app/migrations/versions/0014_attendance_months.py"


def _expected(db: Any, participant_ids: list[int]) -> dict[tuple[int, date], tuple[int, ...]]:
    """The rollup computed here from the attendance rows: (planned, unexcused, sessions)."""
    sums: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in db.scalars(
        select(ops.Attendance).where(ops.Attendance.participant_id.in_(participant_ids))
    ):
        cell = sums[(row.participant_id, row.held_on.replace(day=1))]
        if row.status is not Status.LEAVE:
            cell[0] += row.planned_minutes
        if row.status is Status.UNEXCUSED:
            cell[1] += row.planned_minutes - row.attended_minutes
        cell[2] += 1
    return {key: tuple(cell) for key, cell in sums.items()}


def _rollup(db: Any, participant_ids: list[int]) -> dict[tuple[int, date], tuple[int, ...]]:
    rows = db.scalars(
        select(ops.AttendanceMonth).where(ops.AttendanceMonth.participant_id.in_(participant_ids))
    )
    return {
        (r.participant_id, r.month): (r.planned_minutes, r.unexcused_minutes, r.sessions)
        for r in rows
    }


@pytest.fixture
def school(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    """Two classes meeting every day; three participants in the first, the first of them
    in the second class too."""
    centre = make_unit(kind=UnitKind.ADULT_LEARNING)
    service = make_unit()
    teacher = make_user("teacher", centre)
    advisor = make_user("advisor", service)
    people = [
        make_participant(unit=service, advisor=advisor),
        make_participant(unit=service, advisor=advisor),
        make_participant(unit=service),
    ]
    start = local_today() - timedelta(days=60)
    classes = []
    for name in ("Norsk A1", "Norsk A2"):
        classes.append(
            ops.create_class(
                db_session,
                Actor(teacher),
                ops.ClassInput(
                    name=name,
                    unit_id=centre.id,
                    level=CefrLevel.A2,
                    weekdays=list(range(7)),
                    lesson_minutes=45,
                    lessons_per_day=2,
                    starts_on=start,
                    ends_on=local_today() + timedelta(days=200),
                    room="",
                    teacher_ids=[teacher.id],
                ),
            )
        )
    for person in people:
        ops.enrol(db_session, Actor(teacher), classes[0], person, start, local_today())
    ops.enrol(db_session, Actor(teacher), classes[1], people[0], start, local_today())
    db_session.commit()

    class School:
        pass

    s = School()
    s.service, s.teacher, s.people, s.classes = service, teacher, people, classes
    s.ids = [p.id for p in people]
    return s


def _save(
    db: Any, s: Any, item: Any, on: date, entries: dict[int, tuple[Status, int | None]]
) -> None:
    """Save `item`'s register for `on`: participant id → (status, minutes attended)."""
    register = ops.register_of(db, item, on)
    given = []
    for enrolment in register.enrolments:
        status, minutes = entries[enrolment.participant_id]
        reason = ops.AbsenceReason.ILLNESS if status is Status.EXCUSED else None
        given.append(ops.AttendanceInput(enrolment.ref, status, reason, minutes))
    ops.save_register(db, Actor(s.teacher), item, on, register.version, given, today=local_today())
    db.commit()


def _days_across_a_month_end() -> list[date]:
    """The last two days of last month and the first of this one (all in the past)."""
    first = local_today().replace(day=1)
    return [first - timedelta(days=2), first - timedelta(days=1), first]


def test_register_saves_build_the_rollup(db_session: Any, school: Any) -> None:
    """After saves on both sides of a month's end, does the rollup equal the sums of the
    attendance rows per participant and month? Yes."""
    a, b, c = school.ids
    mixes = [
        {a: (Status.PRESENT, None), b: (Status.UNEXCUSED, None), c: (Status.EXCUSED, None)},
        {a: (Status.PRESENT, 60), b: (Status.PRESENT, None), c: (Status.UNEXCUSED, None)},
        {a: (Status.UNEXCUSED, None), b: (Status.PRESENT, 30), c: (Status.PRESENT, None)},
    ]
    for on, mix in zip(_days_across_a_month_end(), mixes, strict=True):
        _save(db_session, school, school.classes[0], on, mix)
    expected = _expected(db_session, school.ids)
    assert len({month for _pid, month in expected}) == 2
    assert _rollup(db_session, school.ids) == expected


def test_a_correction_recomputes_the_month(db_session: Any, school: Any) -> None:
    """After a saved day is corrected (status and minutes), does the rollup follow? Yes."""
    a, b, c = school.ids
    on = _days_across_a_month_end()[-1]
    item = school.classes[0]
    _save(db_session, school, item, on, dict.fromkeys(school.ids, (Status.PRESENT, None)))
    assert _rollup(db_session, [a])[(a, on)] == (90, 0, 1)
    _save(
        db_session,
        school,
        item,
        on,
        {a: (Status.UNEXCUSED, None), b: (Status.PRESENT, 45), c: (Status.LEAVE, None)},
    )
    rollup = _rollup(db_session, school.ids)
    assert rollup == _expected(db_session, school.ids)
    assert rollup[(a, on)] == (90, 90, 1)
    assert rollup[(c, on)] == (0, 0, 1)


def test_two_classes_on_one_day_add_up(db_session: Any, school: Any) -> None:
    """Does a participant in two classes saved the same day get both sessions in the
    month, whichever class was saved last? Yes."""
    a = school.ids[0]
    on = _days_across_a_month_end()[0]
    _save(
        db_session,
        school,
        school.classes[0],
        on,
        dict.fromkeys(school.ids, (Status.UNEXCUSED, None)),
    )
    _save(db_session, school, school.classes[1], on, {a: (Status.PRESENT, 45)})
    rollup = _rollup(db_session, school.ids)
    assert rollup == _expected(db_session, school.ids)
    assert rollup[(a, on.replace(day=1))] == (180, 90, 2)
    # Correcting the first class again keeps the second class's row in the sum.
    _save(
        db_session, school, school.classes[0], on, dict.fromkeys(school.ids, (Status.PRESENT, None))
    )
    assert _rollup(db_session, [a])[(a, on.replace(day=1))] == (180, 0, 2)


def test_leave_counts_as_a_session_but_not_as_scheduled(db_session: Any, school: Any) -> None:
    """Does a month of leave only give a row with no scheduled minutes but its sessions, so
    the participant still counts as having attendance in the period? Yes."""
    for on in _days_across_a_month_end():
        _save(
            db_session,
            school,
            school.classes[0],
            on,
            dict.fromkeys(school.ids, (Status.LEAVE, None)),
        )
    rollup = _rollup(db_session, school.ids)
    assert rollup == _expected(db_session, school.ids)
    assert all(planned == unexcused == 0 for planned, unexcused, _n in rollup.values())
    assert sum(n for _p, _u, n in rollup.values()) == 3 * len(school.ids)


def test_migration_backfill_equals_the_attendance_rows(
    db_session: Any, connection: Any, school: Any
) -> None:
    """Does migration 0014, run over saved attendance, fill the rollup with the same sums
    as the attendance rows? Yes (run inside the test's transaction, rolled back)."""
    a = school.ids[0]
    for on, status in zip(
        _days_across_a_month_end(), (Status.UNEXCUSED, Status.LEAVE, Status.PRESENT), strict=True
    ):
        _save(db_session, school, school.classes[0], on, dict.fromkeys(school.ids, (status, None)))
    _save(db_session, school, school.classes[1], on, {a: (Status.EXCUSED, None)})
    expected = _expected(db_session, school.ids)
    spec = importlib.util.spec_from_file_location("migration_0014", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(connection)):
        migration.downgrade()
        migration.upgrade()
    db_session.expire_all()
    assert _rollup(db_session, school.ids) == expected


def test_outcome_absence_sums_equal_the_attendance_rows(db_session: Any, school: Any) -> None:
    """Do the outcome figure's per-advisor absence sums, read from the rollup, equal those
    computed here from the attendance rows of the year? Yes."""
    a, b, c = school.ids
    mixes = [
        {a: (Status.UNEXCUSED, None), b: (Status.PRESENT, 30), c: (Status.LEAVE, None)},
        {a: (Status.PRESENT, None), b: (Status.UNEXCUSED, None), c: (Status.LEAVE, None)},
        {a: (Status.EXCUSED, None), b: (Status.UNEXCUSED, None), c: (Status.PRESENT, 10)},
    ]
    for on, mix in zip(_days_across_a_month_end(), mixes, strict=True):
        _save(db_session, school, school.classes[0], on, mix)
    year = local_today().year
    advisor_of = {p.id: p.primary_advisor_id or outcomes.NO_ADVISOR for p in school.people}
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    seen: set[int] = set()
    for row in db_session.scalars(
        select(ops.Attendance).where(ops.Attendance.participant_id.in_(school.ids))
    ):
        if row.held_on.year != year:
            continue
        group = sums[advisor_of[row.participant_id]]
        if row.participant_id not in seen:
            seen.add(row.participant_id)
            group[0] += 1
        if row.status is not Status.LEAVE:
            group[1] += row.planned_minutes
        if row.status is Status.UNEXCUSED:
            group[2] += row.planned_minutes - row.attended_minutes
    expected = dict(sums)
    expected[outcomes.UNIT_TOTAL] = [sum(col) for col in zip(*sums.values(), strict=True)]
    found = outcomes._absence(db_session, school.service.id, date(year, 1, 1), date(year, 12, 31))
    assert found == expected


def test_outcome_absence_refuses_a_period_of_part_months(db_session: Any, school: Any) -> None:
    """Does the absence figure refuse a period that does not start and end with a month,
    which the monthly rollup cannot answer? Yes."""
    with pytest.raises(ValueError):
        outcomes._absence(db_session, school.service.id, date(2026, 1, 2), date(2026, 12, 31))
    with pytest.raises(ValueError):
        outcomes._absence(db_session, school.service.id, date(2026, 1, 1), date(2026, 12, 30))


def test_concurrent_saves_of_two_classes_both_count(instance_dir: Path, tmp_path: Path) -> None:
    """Two classes' registers of one participant saved at once on separate connections:
    does the month hold both sessions once the second save commits? Yes: the second
    waits for the first's participant lock and recomputes after it committed."""
    from app.database import services
    from models.accounts import Membership, Role, Unit, User
    from models.participants import Participant
    from tests.conftest import _fresh_database, build_app

    url, drop = _fresh_database(tmp_path, "rollup_race")
    app = build_app(url)
    svc = services(app)
    today = local_today()
    try:
        with svc.session_factory() as db:
            centre = Unit(name="Centre", kind=UnitKind.ADULT_LEARNING)
            service = Unit(name="Service")
            teacher = User(email="t@example.org", display_name="T", password_hash="-")
            db.add_all([centre, service, teacher])
            db.flush()
            teacher.memberships.append(Membership(unit_id=centre.id, role=Role.TEACHER))
            person = Participant(unit_id=service.id, settlement_on=today)
            person.given_name, person.family_name = "Amina", "Race"
            db.add(person)
            db.flush()
            class_ids = []
            for name in ("A", "B"):
                item = ops.create_class(
                    db,
                    Actor(teacher),
                    ops.ClassInput(
                        name=name,
                        unit_id=centre.id,
                        level=None,
                        weekdays=list(range(7)),
                        lesson_minutes=45,
                        lessons_per_day=2,
                        starts_on=today - timedelta(days=5),
                        ends_on=today + timedelta(days=5),
                        room="",
                        teacher_ids=[teacher.id],
                    ),
                )
                ops.enrol(db, Actor(teacher), item, person, today - timedelta(days=5), today)
                class_ids.append(item.id)
            db.commit()
            person_id, teacher_id = person.id, teacher.id

        def save(db: Any, class_id: int, status: Status) -> None:
            item = db.get_one(ops.LanguageClass, class_id)
            register = ops.register_of(db, item, today)
            given = [ops.AttendanceInput(e.ref, status, None, None) for e in register.enrolments]
            actor = Actor(db.get_one(User, teacher_id))
            ops.save_register(db, actor, item, today, register.version, given, today=today)

        errors: list[BaseException] = []

        def second() -> None:
            try:
                with svc.session_factory() as db:
                    save(db, class_ids[1], Status.UNEXCUSED)
                    db.commit()
            except BaseException as error:  # reported by the test thread below
                errors.append(error)

        with svc.session_factory() as first:
            save(first, class_ids[0], Status.PRESENT)
            waiting = threading.Thread(target=second)
            waiting.start()
            waiting.join(timeout=1.0)
            assert waiting.is_alive()  # held back by the first save's lock
            first.commit()
        waiting.join(timeout=30)
        assert not waiting.is_alive() and errors == []
        with svc.session_factory() as db:
            assert _rollup(db, [person_id]) == _expected(db, [person_id])
            assert _rollup(db, [person_id])[(person_id, today.replace(day=1))] == (180, 90, 2)
    finally:
        svc.engine.dispose()
        drop()


def test_the_seed_builds_the_rollup_of_what_it_wrote(
    db_session: Any, make_unit: Any, make_user: Any, make_participant: Any
) -> None:
    """Does the bulk seed, which bypasses save_register, leave a rollup equal to the
    attendance rows it wrote? Yes."""
    import random

    from app.seed_language import seed_language

    unit = make_unit()
    make_user("teacher", unit)
    people = [
        make_participant(unit=unit, programme_start_on=local_today() - timedelta(days=90))
        for _ in range(3)
    ]
    counts = seed_language(db_session, local_today(), random.Random(5), weeks=6)
    ids = [p.id for p in people]
    expected = _expected(db_session, ids)
    assert counts.attendances >= sum(n for _p, _u, n in expected.values()) > 0
    assert _rollup(db_session, ids) == expected
