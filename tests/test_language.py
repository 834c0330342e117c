"""Language training in the model: programme time, the pass rule, absence tasks, leave."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from models import language as ops
from models.accounts import UnitKind
from models.base import local_today, utcnow
from models.codes import CefrLevel, Country, Skill
from models.deadlines import deadlines_for
from models.errors import NotFound, StaleEdit, ValidationFailed
from models.policy import Actor
from models.rules import DeadlineKind, add_months, rule_set_for
from models.tasks import Task

NO_RULES = rule_set_for(Country.NORWAY, date(2026, 1, 1))
SE_RULES = rule_set_for(Country.SWEDEN, date(2026, 1, 1))


def today() -> date:
    return local_today()


@pytest.fixture
def setup(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    """A centre with a teacher and a class meeting every day, and one enrolled participant."""
    centre = make_unit(kind=UnitKind.ADULT_LEARNING)
    service = make_unit()
    teacher = make_user("teacher", centre)
    advisor = make_user("advisor", service)
    participant = make_participant(unit=service, advisor=advisor)
    start = today() - timedelta(days=60)
    item = ops.create_class(
        db_session,
        Actor(teacher),
        ops.ClassInput(
            name="Norsk A2",
            unit_id=centre.id,
            level=CefrLevel.A2,
            weekdays=list(range(7)),
            lesson_minutes=45,
            lessons_per_day=2,
            starts_on=start,
            ends_on=today() + timedelta(days=200),
            room="",
            teacher_ids=[teacher.id],
        ),
    )
    enrolment = ops.enrol(db_session, Actor(teacher), item, participant, start, today())
    db_session.commit()

    class S:
        pass

    s = S()
    s.centre, s.teacher, s.advisor, s.participant = centre, teacher, advisor, participant
    s.item, s.enrolment, s.start = item, enrolment, start
    return s


def _save(db_session: Any, s: Any, on: date, status: ops.AttendanceStatus, **kw: Any) -> Any:
    register = ops.register_of(db_session, s.item, on)
    entries = [
        ops.AttendanceInput(e.ref, status, kw.get("reason"), kw.get("minutes"))
        for e in register.enrolments
    ]
    result = ops.save_register(
        db_session, Actor(s.teacher), s.item, on, register.version, entries, today=today()
    )
    db_session.commit()
    return result


def _tasks(db_session: Any, s: Any) -> int:
    return int(
        db_session.scalar(
            select(func.count(Task.id)).where(Task.participant_id == s.participant.id)
        )
    )


# -- the rules at their boundaries --------------------------------------------------


@pytest.mark.parametrize(("minutes", "counted"), [(45, 75), (44, 73), (46, 76), (90, 150), (0, 0)])
def test_a_45_minute_lesson_counts_75_minutes(minutes: int, counted: int) -> None:
    """Does a 45-minute lesson count as 75 minutes of programme time in Norway? Yes."""
    assert ops.programme_minutes(minutes, NO_RULES) == counted


def test_the_deployment_may_override_the_lesson_rule() -> None:
    """Does a configured 60 minutes per 45-minute lesson replace the 75? Yes."""
    assert ops.programme_minutes(45, NO_RULES, 60) == 60


def test_sweden_counts_clock_minutes() -> None:
    """Is the 45→75 rule applied in Sweden? No."""
    assert ops.programme_minutes(45, SE_RULES) == 45


@pytest.mark.parametrize(("score", "passed"), [(25, False), (26, True), (34, True), (0, False)])
def test_social_studies_pass_at_26_of_34(score: int, passed: bool) -> None:
    """Is the social studies test passed at 26 of 34 points and failed at 25? Yes."""
    assert ops.social_studies_passed(score, NO_RULES) is passed


@pytest.mark.parametrize("score", [-1, 35])
def test_social_studies_score_outside_the_scale_is_refused(score: int) -> None:
    with pytest.raises(ValidationFailed):
        ops.social_studies_passed(score, NO_RULES)


# -- attendance and the absence task ------------------------------------------------


def test_register_stores_programme_time(db_session: Any, setup: Any) -> None:
    """Does a present participant get 2 × 75 minutes for two 45-minute lessons? Yes."""
    _save(db_session, setup, today(), ops.AttendanceStatus.PRESENT)
    row = db_session.scalar(
        select(ops.Attendance).where(ops.Attendance.participant_id == setup.participant.id)
    )
    assert (row.attended_minutes, row.programme_minutes) == (90, 150)


def test_threshold_task_is_created_once_per_crossing(db_session: Any, setup: Any) -> None:
    """One task when unexcused absence crosses the line, none while it stays above, a new
    one after it went under and crossed again once the first task is done."""
    days = [today() - timedelta(days=d) for d in range(9, -1, -1)]
    for on in days[:8]:
        _save(db_session, setup, on, ops.AttendanceStatus.PRESENT)
    assert _tasks(db_session, setup) == 0
    # 1 unexcused of 9 sessions = 11 % > 10 %: crossing.
    alerted = _save(db_session, setup, days[8], ops.AttendanceStatus.UNEXCUSED)
    assert alerted == [setup.participant]
    assert _tasks(db_session, setup) == 1
    # 2 of 10 = 20 %: still above, no new task.
    assert _save(db_session, setup, days[9], ops.AttendanceStatus.UNEXCUSED) == []
    assert _tasks(db_session, setup) == 1
    # Correct both to present: under the line, the alert clears.
    for on in days[8:]:
        _save(db_session, setup, on, ops.AttendanceStatus.PRESENT)
    alerts = db_session.scalars(
        select(ops.AbsenceAlert).where(ops.AbsenceAlert.participant_id == setup.participant.id)
    ).all()
    assert [a.cleared_on is not None for a in alerts] == [True]
    # The advisor dealt with the first task; crossing again (2 of 10 = 20 %) creates a
    # second one. (While the first is still open, a new crossing adds none:
    # test_a_new_crossing_reuses_an_open_task.)
    first = db_session.scalars(
        select(Task).where(Task.participant_id == setup.participant.id)
    ).one()
    first.done_at = utcnow()
    db_session.commit()
    _save(db_session, setup, days[8], ops.AttendanceStatus.UNEXCUSED)
    assert _tasks(db_session, setup) == 1  # 1 of 10 = 10 %: at the line, not above
    _save(db_session, setup, days[9], ops.AttendanceStatus.UNEXCUSED)
    assert _tasks(db_session, setup) == 2
    task = db_session.scalars(select(Task).where(Task.participant_id == setup.participant.id)).all()
    assert {t.assignee_id for t in task} == {setup.advisor.id}


def test_a_new_crossing_reuses_an_open_task(db_session: Any, setup: Any) -> None:
    """Crossing again while the last crossing's task is open: no second open task."""
    days = [today() - timedelta(days=d) for d in range(9, -1, -1)]
    for on in days[:8]:
        _save(db_session, setup, on, ops.AttendanceStatus.PRESENT)
    _save(db_session, setup, days[8], ops.AttendanceStatus.UNEXCUSED)  # 11 %: crossing
    _save(db_session, setup, days[8], ops.AttendanceStatus.PRESENT)  # under: cleared
    _save(db_session, setup, days[8], ops.AttendanceStatus.UNEXCUSED)  # crossing again
    assert _tasks(db_session, setup) == 1
    alerts = db_session.scalars(
        select(ops.AbsenceAlert)
        .where(ops.AbsenceAlert.participant_id == setup.participant.id)
        .order_by(ops.AbsenceAlert.number)
    ).all()
    assert len(alerts) == 2 and alerts[0].task_id == alerts[1].task_id is not None


def test_exactly_at_the_threshold_creates_no_task(db_session: Any, setup: Any) -> None:
    """Is 10 % (1 of 10 sessions) above the 10 % threshold? No."""
    days = [today() - timedelta(days=d) for d in range(9, -1, -1)]
    for on in days[:9]:
        _save(db_session, setup, on, ops.AttendanceStatus.PRESENT)
    _save(db_session, setup, days[9], ops.AttendanceStatus.UNEXCUSED)
    assert _tasks(db_session, setup) == 0


def test_a_second_check_of_the_same_crossing_creates_no_task(db_session: Any, setup: Any) -> None:
    """Two saves that both see the participant above the line (as two concurrent requests
    would) create one alert and one task: the second finds the open alert after its lock."""
    _save(db_session, setup, today(), ops.AttendanceStatus.UNEXCUSED)
    assert _tasks(db_session, setup) == 1
    again = ops.check_absence(db_session, Actor(setup.teacher), [setup.participant], today())
    assert again == []
    assert _tasks(db_session, setup) == 1


def test_the_alert_number_is_unique_per_participant(db_session: Any, setup: Any) -> None:
    """Does the database refuse a second alert with the same number? Yes (the backstop)."""
    from sqlalchemy.exc import IntegrityError

    for _ in range(2):
        db_session.add(
            ops.AbsenceAlert(
                participant_id=setup.participant.id, number=1, crossed_on=today(), rate_percent=20
            )
        )
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()


def test_excused_absence_needs_a_reason(db_session: Any, setup: Any) -> None:
    with pytest.raises(ValidationFailed):
        _save(db_session, setup, today(), ops.AttendanceStatus.EXCUSED)


def test_excused_and_unexcused_are_counted_apart(db_session: Any, setup: Any) -> None:
    _save(
        db_session,
        setup,
        today() - timedelta(days=1),
        ops.AttendanceStatus.EXCUSED,
        reason=ops.AbsenceReason.ILLNESS,
    )
    _save(db_session, setup, today(), ops.AttendanceStatus.PRESENT, minutes=45)
    summary = ops.absence_summaries(
        db_session, [setup.participant.id], today() - timedelta(days=5), today()
    )[setup.participant.id]
    assert (summary.excused_minutes, summary.unexcused_minutes, summary.planned_minutes) == (
        90,
        0,
        180,
    )


def test_a_correction_is_kept_and_a_stale_register_refused(db_session: Any, setup: Any) -> None:
    _save(db_session, setup, today(), ops.AttendanceStatus.PRESENT)
    _save(db_session, setup, today(), ops.AttendanceStatus.UNEXCUSED)
    changes = db_session.scalars(select(ops.AttendanceChange)).all()
    assert [(c.old_status, c.new_status) for c in changes] == [
        (ops.AttendanceStatus.PRESENT, ops.AttendanceStatus.UNEXCUSED)
    ]
    register = ops.register_of(db_session, setup.item, today())
    with pytest.raises(StaleEdit):
        ops.save_register(
            db_session,
            Actor(setup.teacher),
            setup.item,
            today(),
            register.version - 1,
            [ops.AttendanceInput(setup.enrolment.ref, ops.AttendanceStatus.PRESENT, None, None)],
            today=today(),
        )


def test_only_the_class_teacher_registers(db_session: Any, setup: Any, make_user: Any) -> None:
    """May another teacher of the same centre take attendance for the class? No."""
    other = make_user("teacher", setup.centre)
    with pytest.raises((NotFound, Exception)):
        ops.save_register(db_session, Actor(other), setup.item, today(), 0, [], today=today())


# -- leave and the training deadline -------------------------------------------------


def test_training_deadline_is_three_years_from_the_first_enrolment(
    db_session: Any, setup: Any
) -> None:
    found = ops.training_deadline(db_session, setup.participant)
    assert found is not None
    assert found.due_on == add_months(setup.start, 36)
    kinds = {d.kind for d in deadlines_for(db_session, setup.participant, today())}
    assert DeadlineKind.LANGUAGE_TRAINING in kinds


def test_leave_extends_the_deadline_by_its_length(db_session: Any, setup: Any) -> None:
    """Does a 30-day leave move the Norwegian-training deadline 30 days? Yes."""
    before = ops.training_deadline(db_session, setup.participant)
    assert before is not None
    ops.add_leave(
        db_session,
        Actor(setup.teacher),
        setup.participant,
        leave_type=ops.LeaveType.PARENTAL,
        starts_on=today(),
        ends_on=today() + timedelta(days=29),
        today=today(),
    )
    db_session.commit()
    after = ops.training_deadline(db_session, setup.participant)
    assert after is not None
    assert after.due_on - before.due_on == timedelta(days=30)
    assert after.leave_days == 30


def test_moving_keeps_history(db_session: Any, setup: Any) -> None:
    other = ops.create_class(
        db_session,
        Actor(setup.teacher),
        ops.ClassInput(
            name="Norsk B1",
            unit_id=setup.centre.id,
            level=CefrLevel.B1,
            weekdays=[0, 2],
            lesson_minutes=45,
            lessons_per_day=3,
            starts_on=today() - timedelta(days=10),
            ends_on=today() + timedelta(days=100),
            room="2",
            teacher_ids=[setup.teacher.id],
        ),
    )
    new = ops.end_enrolment(
        db_session,
        Actor(setup.teacher),
        setup.enrolment,
        setup.enrolment.version,
        ends_on=today(),
        reason=ops.EnrolmentEnd.MOVED,
        move_to=other,
        today=today(),
    )
    db_session.commit()
    assert new is not None and new.class_id == other.id
    history = ops.enrolment_history(db_session, setup.participant)
    assert len(history) == 2
    assert setup.enrolment.ends_on == today() - timedelta(days=1)
    assert ops.roster(db_session, setup.item, today()) == []


def test_test_results(db_session: Any, setup: Any) -> None:
    result = ops.add_test_result(
        db_session,
        Actor(setup.teacher),
        setup.participant,
        ops.TestInput(kind=ops.TestKind.SOCIAL_STUDIES, taken_on=today(), score=26),
        today=today(),
    )
    assert (result.passed, result.max_score) == (True, 34)
    norwegian = ops.add_test_result(
        db_session,
        Actor(setup.teacher),
        setup.participant,
        ops.TestInput(
            kind=ops.TestKind.NORWEGIAN, taken_on=today(), skill=Skill.ORAL, level=CefrLevel.B1
        ),
        today=today(),
    )
    assert norwegian.level is CefrLevel.B1
    with pytest.raises(ValidationFailed):
        ops.add_test_result(
            db_session,
            Actor(setup.teacher),
            setup.participant,
            ops.TestInput(kind=ops.TestKind.SFI_COURSE, taken_on=today()),
            today=today(),
        )


def test_estimate_comment_is_sealed(db_session: Any, setup: Any) -> None:
    estimate = ops.add_estimate(
        db_session,
        Actor(setup.teacher),
        setup.participant,
        skill=Skill.READING,
        level=CefrLevel.A2,
        assessed_on=today(),
        comment="Reads short texts well",
        today=today(),
    )
    db_session.commit()
    assert b"Reads short" not in (estimate.comment_sealed or b"")
    assert estimate.comment == "Reads short texts well"
