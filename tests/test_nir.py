"""The national-register report, the backlog of unreported events, marking them as
reported and the readiness for the 28 February clean-up (models/nir.py, views/nir.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import event, func, select

from models import nir
from models.audit import AuditEvent
from models.codes import (
    Country,
    ElementStatus,
    EndGoal,
    MainActivity,
    ParticipantStatus,
    PlanElementType,
    ProgrammeEndKind,
    ProgrammeEndReason,
)
from models.decisions import ProgrammeEnd
from models.errors import ValidationFailed
from models.language import (
    Attendance,
    AttendanceStatus,
    ClassSession,
    LanguageClass,
    Leave,
    LeaveType,
    refresh_attendance_months,
)
from models.nir import EventKind, NirReported, Problem
from models.plans import CareerGuidance, GuidanceDirection, Plan, PlanElement
from tests.conftest import csrf_token, log_in, norwegian_id, post_form

YEAR = 2026
TODAY = date(2026, 12, 1)  # backlog cut-off: 2026-10-01


# -- building records ------------------------------------------------------------------------


def _person(make_participant: Any, unit: Any, **fields: Any) -> Any:
    national_id = fields.pop("national_id", None)
    participant = make_participant(unit=unit, **fields)
    if national_id:
        participant.national_id = national_id
    return participant


def _plan(db: Any, participant: Any, goal: EndGoal, *elements: tuple[Any, ...]) -> Plan:
    plan = Plan(
        participant_id=participant.id,
        end_goal=goal,
        programme_start_on=date(2025, 6, 1),
        planned_end_on=date(2027, 6, 1),
        hours_per_week_norm=37.5,
    )
    db.add(plan)
    db.flush()
    for element_type, start, end, hours in elements:
        db.add(
            PlanElement(
                participant_id=participant.id,
                plan_id=plan.id,
                element_type=element_type,
                status=ElementStatus.ONGOING,
                start_on=start,
                end_on=end,
                hours_per_week=hours,
            )
        )
    db.flush()
    return plan


def _leave(db: Any, participant: Any, kind: LeaveType, start: date, end: date) -> Leave:
    leave = Leave(participant_id=participant.id, leave_type=kind, starts_on=start, ends_on=end)
    db.add(leave)
    db.flush()
    return leave


def _end(db: Any, participant: Any, on: date, kind: ProgrammeEndKind, **extra: Any) -> None:
    db.add(
        ProgrammeEnd(
            participant_id=participant.id,
            unit_id=participant.unit_id,
            ended_on=on,
            kind=kind,
            reason=extra.get("reason", ProgrammeEndReason.MOVED),
            activity_after=extra.get("after", MainActivity.OTHER),
        )
    )
    participant.programme_end_on = on
    participant.status = ParticipantStatus.ENDED
    db.flush()


def _absence(db: Any, participant: Any, held: list[tuple[date, AttendanceStatus, int]]) -> None:
    lesson = LanguageClass(
        unit_id=participant.unit_id,
        name="Norsk A2",
        weekdays="0,2",
        lesson_minutes=45,
        lessons_per_day=4,
        starts_on=date(2025, 1, 1),
        ends_on=date(2027, 12, 31),
    )
    db.add(lesson)
    db.flush()
    for on, status, attended in held:
        session = ClassSession(class_id=lesson.id, held_on=on, planned_minutes=180)
        db.add(session)
        db.flush()
        db.add(
            Attendance(
                session_id=session.id,
                participant_id=participant.id,
                held_on=on,
                status=status,
                planned_minutes=180,
                attended_minutes=attended,
                programme_minutes=attended,
            )
        )
    db.flush()
    # The rows above bypass save_register: build their rollup the way it does.
    refresh_attendance_months(db, [participant.id])


def _rows(db: Any, unit_id: int, year: int = YEAR) -> dict[str, dict[str, object]]:
    table = nir.report_table(db, unit_id, year)
    rows = [dict(zip(table.headers, row, strict=True)) for row in table.rows]
    assert table.total == len(rows)
    return {str(row["reference"]): row for row in rows}


# -- the report ------------------------------------------------------------------------------


def test_report_rows_equal_the_records(
    db_session: Any, make_unit: Any, make_participant: Any
) -> None:
    """Does each report row hold exactly the participant's NIR facts for the year, and
    only the Norwegian participants of the unit active in the year? Yes."""
    unit, other_unit = make_unit(), make_unit()
    fnr = norwegian_id(date(1990, 5, 17))
    active = _person(
        make_participant,
        unit,
        national_id=fnr,
        settlement_municipality="Bergen",
        programme_decision_on=date(2025, 12, 10),
        programme_start_on=date(2026, 1, 5),
        competence_mapping_on=date(2025, 12, 20),
        status=ParticipantStatus.ACTIVE,
    )
    _plan(
        db_session,
        active,
        EndGoal.WORK,
        (PlanElementType.LANGUAGE, date(2026, 1, 5), date(2026, 6, 30), 15),
        (PlanElementType.WORK_PRACTICE, date(2026, 8, 1), None, 22.5),
        (PlanElementType.LIFE_SKILLS, date(2024, 3, 1), date(2024, 4, 1), 5),  # another year
    )
    _leave(db_session, active, LeaveType.PARENTAL, date(2026, 3, 1), date(2026, 4, 30))
    _leave(db_session, active, LeaveType.ILLNESS, date(2024, 1, 1), date(2024, 2, 1))
    for given in (date(2026, 3, 1), date(2026, 2, 1)):
        db_session.add(
            CareerGuidance(
                participant_id=active.id,
                given_on=given,
                recommendation=GuidanceDirection.WORK,
            )
        )
    _absence(
        db_session,
        active,
        [
            (date(2026, 2, 2), AttendanceStatus.UNEXCUSED, 0),  # 3 h
            (date(2026, 2, 4), AttendanceStatus.UNEXCUSED, 90),  # 1.5 h
            (date(2026, 2, 9), AttendanceStatus.EXCUSED, 0),  # excused: not counted
            (date(2025, 12, 1), AttendanceStatus.UNEXCUSED, 0),  # another year
        ],
    )
    interrupted = _person(
        make_participant,
        unit,
        settlement_municipality="Bergen",
        programme_decision_on=date(2025, 5, 1),
        programme_start_on=date(2025, 6, 1),
    )
    _plan(db_session, interrupted, EndGoal.UPPER_SECONDARY_COMPLETED)
    _end(
        db_session,
        interrupted,
        date(2026, 3, 15),
        ProgrammeEndKind.INTERRUPTED,
        reason=ProgrammeEndReason.MOVED,
        after=MainActivity.JOB_SEEKING,
    )
    decided_only = _person(make_participant, unit, programme_decision_on=date(2026, 11, 2))
    # Not in the report: ended the year before, Swedish, another unit, never decided.
    ended_before = _person(
        make_participant,
        unit,
        programme_decision_on=date(2024, 1, 10),
        programme_start_on=date(2024, 2, 1),
    )
    _end(db_session, ended_before, date(2025, 12, 31), ProgrammeEndKind.COMPLETED)
    _person(
        make_participant,
        unit,
        country=Country.SWEDEN,
        programme_decision_on=date(2026, 2, 1),
        programme_start_on=date(2026, 2, 1),
    )
    _person(make_participant, other_unit, programme_decision_on=date(2026, 2, 1))
    _person(make_participant, unit)
    db_session.commit()

    rows = _rows(db_session, unit.id)

    assert rows == {
        active.ref: {
            "national_id": fnr,
            "reference": active.ref,
            "municipality": "Bergen",
            "decision_on": "2025-12-10",
            "start_on": "2026-01-05",
            "end_goal": "work",
            "competence_mapping_on": "2025-12-20",
            "career_guidance_on": "2026-02-01",
            "elements": "language:2026-01-05..2026-06-30:15;work_practice:2026-08-01..:22.5",
            "leave": "parental:2026-03-01..2026-04-30",
            "absence_hours": 4.5,
            "end_on": "",
            "end_kind": "",
            "end_reason": "",
            "activity_after": "",
        },
        interrupted.ref: {
            "national_id": "",
            "reference": interrupted.ref,
            "municipality": "Bergen",
            "decision_on": "2025-05-01",
            "start_on": "2025-06-01",
            "end_goal": "upper_secondary_completed",
            "competence_mapping_on": "",
            "career_guidance_on": "",
            "elements": "",
            "leave": "",
            "absence_hours": 0,
            "end_on": "2026-03-15",
            "end_kind": "interrupted",
            "end_reason": "moved",
            "activity_after": "job_seeking",
        },
        decided_only.ref: {
            "national_id": "",
            "reference": decided_only.ref,
            "municipality": "",
            "decision_on": "2026-11-02",
            "start_on": "",
            "end_goal": "",
            "competence_mapping_on": "",
            "career_guidance_on": "",
            "elements": "",
            "leave": "",
            "absence_hours": 0,
            "end_on": "",
            "end_kind": "",
            "end_reason": "",
            "activity_after": "",
        },
    }
    assert ended_before.ref in _rows(db_session, unit.id, 2025)


def test_report_start_falls_back_to_the_plan(
    db_session: Any, make_unit: Any, make_participant: Any
) -> None:
    """Without a start date on the participant, is the plan's start reported? Yes."""
    unit = make_unit()
    person = _person(make_participant, unit, programme_decision_on=date(2025, 5, 20))
    _plan(db_session, person, EndGoal.PRIMARY_SCHOOL)
    db_session.commit()
    assert _rows(db_session, unit.id)[person.ref]["start_on"] == "2025-06-01"


def test_report_queries_do_not_grow_with_participants(
    db_session: Any, make_unit: Any, make_participant: Any, monkeypatch: Any
) -> None:
    """Does the number of queries depend on the batches, not on the participants? Yes."""
    monkeypatch.setattr(nir, "BATCH", 4)

    def count_for(n: int) -> int:
        unit = make_unit()
        for i in range(n):
            person = _person(
                make_participant,
                unit,
                national_id=norwegian_id(date(1980, 1, 1 + i)),
                programme_decision_on=date(2026, 1, 10),
            )
            _plan(
                db_session,
                person,
                EndGoal.WORK,
                (PlanElementType.LANGUAGE, date(2026, 1, 10), None, 15),
            )
            _leave(db_session, person, LeaveType.OTHER, date(2026, 5, 1), date(2026, 5, 2))
        db_session.commit()
        statements: list[str] = []

        def counter(*args: Any) -> None:
            statements.append(args[2])

        engine = db_session.get_bind()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            table = nir.report_table(db_session, unit.id, YEAR)
            assert len(list(table.rows)) == n
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return len(statements)

    assert count_for(1) == count_for(4)  # one batch each
    assert count_for(8) < 2 * count_for(4) + 2  # two batches, nothing per person


# -- backlog and marking -------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    unit: Any
    person: Any
    stranger: Any
    other: Any

    @property
    def id(self) -> int:
        return int(self.unit.id)


@pytest.fixture
def backlog_unit(db_session: Any, make_unit: Any, make_participant: Any) -> Backlog:
    """One participant with events either side of the cut-off (2026-10-01), and one in
    another unit with an old event."""
    unit, other = make_unit(), make_unit()
    person = _person(
        make_participant,
        unit,
        programme_decision_on=date(2026, 9, 30),  # overdue
        programme_start_on=date(2026, 10, 1),  # on the cut-off: not overdue yet
    )
    _plan(
        db_session,
        person,
        EndGoal.WORK,
        (PlanElementType.LANGUAGE, date(2026, 9, 1), date(2026, 11, 15), 15),
    )
    _leave(db_session, person, LeaveType.ILLNESS, date(2026, 8, 1), date(2026, 8, 31))
    stranger = _person(make_participant, other, programme_decision_on=date(2026, 1, 5))
    db_session.commit()
    return Backlog(unit, person, stranger, other)


def _counts(**nonzero: int) -> dict[EventKind, int]:
    return {kind: nonzero.get(kind.value, 0) for kind in EventKind}


def test_backlog_counts_old_unreported_events(db_session: Any, backlog_unit: Any) -> None:
    """Are only the unit's events older than two months counted, by kind? Yes."""
    assert nir.backlog_cutoff(TODAY) == date(2026, 10, 1)
    assert nir.overview(db_session, backlog_unit.id, TODAY).counts == _counts(
        decision=1, element_start=1, leave=1
    )
    found = nir.overview(db_session, backlog_unit.id, TODAY, 1, 2)
    assert found.total == 3
    assert found.page == 1
    items = found.items
    assert [(e.kind, e.event_on, e.age_days) for e in items] == [
        (EventKind.LEAVE, date(2026, 8, 1), 122),
        (EventKind.ELEMENT_START, date(2026, 9, 1), 91),
    ]
    assert {e.participant_ref for e in items} == {backlog_unit.person.ref}
    second = nir.overview(db_session, backlog_unit.id, TODAY, 2, 2)
    assert [e.kind for e in second.items] == [EventKind.DECISION]
    assert second.counts == found.counts
    # A page past the end shows the last page instead of an empty one.
    past = nir.overview(db_session, backlog_unit.id, TODAY, 9, 2)
    assert (past.page, past.items) == (2, second.items)
    # The readiness year (2026, up to today) counts every unreported event of the year,
    # the recent ones too (the element's end on 15 November, the start on 1 October).
    assert found.year_unreported == _counts(
        decision=1, start=1, element_start=1, element_end=1, leave=1
    )


def test_marking_removes_events_and_is_idempotent(db_session: Any, backlog_unit: Any) -> None:
    """Does marking up to a date remove exactly those events, and add nothing the second
    time? Yes; a later date marks the rest; the other unit is untouched."""
    marked = nir.mark_reported(db_session, backlog_unit.id, date(2026, 9, 30), None, TODAY)
    db_session.commit()
    assert marked == _counts(decision=1, element_start=1, leave=1)
    assert nir.overview(db_session, backlog_unit.id, TODAY).counts == _counts()
    again = nir.mark_reported(db_session, backlog_unit.id, date(2026, 9, 30), None, TODAY)
    assert again == _counts()

    rest = nir.mark_reported(db_session, backlog_unit.id, TODAY, None, TODAY)
    db_session.commit()
    assert rest == _counts(start=1, element_end=1)
    marks = db_session.scalars(select(NirReported)).all()
    assert {m.participant_id for m in marks} == {backlog_unit.person.id}
    assert len(marks) == 5
    assert all(m.reported_on == TODAY for m in marks)
    assert nir.overview(db_session, backlog_unit.other.id, TODAY).counts == _counts(decision=1)


def test_a_corrected_date_is_a_new_event(db_session: Any, backlog_unit: Any) -> None:
    """After the decision date is corrected, is the decision to be reported again? Yes."""
    nir.mark_reported(db_session, backlog_unit.id, TODAY, None, TODAY)
    backlog_unit.person.programme_decision_on = date(2026, 9, 20)
    db_session.commit()
    assert nir.overview(db_session, backlog_unit.id, TODAY).counts == _counts(decision=1)


def test_marking_a_future_date_is_refused(db_session: Any, backlog_unit: Any) -> None:
    """Can events be marked up to a day in the future? No, and nothing is written."""
    with pytest.raises(ValidationFailed) as error:
        nir.mark_reported(db_session, backlog_unit.id, date(2026, 12, 2), None, TODAY)
    assert error.value.field == "up_to"
    assert db_session.scalar(select(func.count()).select_from(NirReported)) == 0


# -- readiness -----------------------------------------------------------------------------


def test_deadline_and_year() -> None:
    """Which 28 February comes next, and which year does it clean up?"""
    assert nir.next_deadline(date(2027, 1, 20)) == date(2027, 2, 28)
    assert nir.next_deadline(date(2027, 2, 28)) == date(2027, 2, 28)
    assert nir.next_deadline(date(2027, 3, 1)) == date(2028, 2, 28)
    assert nir.readiness_year(date(2027, 1, 20)) == 2026
    assert nir.readiness_year(date(2026, 12, 1)) == 2026


def test_readiness_flags_each_data_problem(
    db_session: Any, make_unit: Any, make_participant: Any
) -> None:
    """Is each data-quality problem found once, for the right person? Yes."""
    unit = make_unit()
    today = date(2027, 1, 20)

    def started(**fields: Any) -> Any:
        values = {
            "programme_decision_on": date(2026, 1, 10),
            "programme_start_on": date(2026, 2, 1),
        }
        values.update(fields)
        return _person(make_participant, unit, **values)

    bare_end = started(programme_end_on=date(2026, 5, 1), status=ParticipantStatus.ENDED)
    _plan(db_session, bare_end, EndGoal.WORK)
    no_decision = started(programme_decision_on=None)
    _plan(db_session, no_decision, EndGoal.WORK)
    no_extent = started()
    _plan(db_session, no_extent, EndGoal.WORK, (PlanElementType.HEALTH, date(2026, 3, 1), None, 0))
    no_plan = started()
    # The same problems in a programme that ended before the year: not this report's.
    started(
        programme_start_on=date(2023, 2, 1),
        programme_decision_on=None,
        programme_end_on=date(2024, 5, 1),
        status=ParticipantStatus.ENDED,
    )
    db_session.commit()

    ready = nir.readiness(db_session, unit.id, today)

    assert (ready.year, ready.deadline, ready.days_left) == (2026, date(2027, 2, 28), 39)
    assert ready.problems == {problem: 1 for problem in Problem}
    assert {(c.problem, c.participant_ref) for c in ready.cases} == {
        (Problem.END_WITHOUT_DETAILS, bare_end.ref),
        (Problem.START_WITHOUT_DECISION, no_decision.ref),
        (Problem.ELEMENT_WITHOUT_EXTENT, no_extent.ref),
        (Problem.MISSING_END_GOAL, no_plan.ref),
    }
    assert not ready.is_ready


def test_readiness_needs_every_event_of_the_year_reported(
    db_session: Any, make_unit: Any, make_participant: Any
) -> None:
    """Is a clean unit ready only once all of the year's events are marked? Yes."""
    unit = make_unit()
    today = date(2027, 1, 20)
    person = _person(
        make_participant,
        unit,
        programme_decision_on=date(2026, 1, 10),
        programme_start_on=date(2026, 2, 1),
    )
    _plan(db_session, person, EndGoal.WORK, (PlanElementType.LANGUAGE, date(2026, 2, 1), None, 15))
    _end(db_session, person, date(2026, 11, 30), ProgrammeEndKind.COMPLETED)
    db_session.commit()

    before = nir.readiness(db_session, unit.id, today)
    assert before.problems == dict.fromkeys(Problem, 0)
    assert before.unreported == _counts(decision=1, start=1, element_start=1, end=1)
    assert not before.is_ready

    nir.mark_reported(db_session, unit.id, date(2026, 12, 31), None, today)
    db_session.commit()
    assert nir.readiness(db_session, unit.id, today).is_ready


# -- the pages -----------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_leader_sees_backlog_and_readiness(
    client: Any, db_session: Any, make_user: Any, backlog_unit: Any
) -> None:
    """Does the unit's leader see the backlog, the readiness and the export link? Yes."""
    with time_machine.travel(NOW, tick=False):
        log_in(client, make_user("leader", backlog_unit.unit, locale="en"), db_session)
        response = client.get(f"/unit/nir/?unit={backlog_unit.id}&year=2026")
        dashboard = client.get("/unit/").get_data(as_text=True)
    assert 'href="/unit/nir/"' in dashboard
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert backlog_unit.person.ref in page
    assert backlog_unit.stranger.ref not in page
    assert '<tr data-kind="decision"><th scope="row">Programme decision</th>' in page
    assert 'data-ready="no"' in page
    assert "/unit/exports/?kind=nir_report&amp;year=2026&amp;unit=" in page


def test_leader_marks_through_the_form(
    client: Any, db_session: Any, make_user: Any, backlog_unit: Any
) -> None:
    """Does the form mark the events up to the date and audit the counts only? Yes; a
    future date is refused with a message and writes nothing."""
    leader = make_user("leader", backlog_unit.unit, locale="en")
    with time_machine.travel(NOW, tick=False):
        log_in(client, leader, db_session)
        refused = post_form(
            client,
            "/unit/nir/mark",
            {"unit": backlog_unit.id, "up_to": "2026-12-02"},
            token_from="/unit/nir/",
        )
        assert refused.status_code == 400
        assert "The date cannot be in the future." in refused.get_data(as_text=True)
        assert db_session.scalar(select(func.count()).select_from(NirReported)) == 0

        done = post_form(
            client,
            "/unit/nir/mark",
            {"unit": backlog_unit.id, "up_to": "2026-09-30"},
            token_from="/unit/nir/",
        )
        assert done.status_code == 302
        after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "3 events marked as reported." in after
    assert 'id="backlog-empty"' in after
    marks = db_session.scalars(select(NirReported)).all()
    assert len(marks) == 3
    assert {m.reported_by_id for m in marks} == {leader.id}
    audit = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "nir.mark_reported")
    ).one()
    assert audit.object_ref == str(backlog_unit.id)
    assert "decision:1" in audit.field_categories and "leave:1" in audit.field_categories


def test_leader_of_another_unit_gets_404(
    client: Any, db_session: Any, make_user: Any, make_unit: Any, backlog_unit: Any
) -> None:
    """Can the leader of another unit read or mark this unit's events? No: 404."""
    outsider = make_user("leader", make_unit())
    with time_machine.travel(NOW, tick=False):
        log_in(client, outsider, db_session)
        assert client.get(f"/unit/nir/?unit={backlog_unit.id}").status_code == 404
        own = client.get("/unit/nir/").get_data(as_text=True)
        marked = post_form(
            client, "/unit/nir/mark", {"unit": backlog_unit.id}, token_from="/unit/nir/"
        )
    assert backlog_unit.person.ref not in own
    assert marked.status_code == 404
    assert db_session.scalar(select(func.count()).select_from(NirReported)) == 0


@pytest.mark.parametrize("role", ["advisor", "teacher", "partner", "admin"])
def test_other_roles_are_refused(
    client: Any, db_session: Any, make_user: Any, backlog_unit: Any, role: str
) -> None:
    """May anyone but a leader open the page or mark? No: 403."""
    log_in(client, make_user(role, backlog_unit.unit), db_session)
    assert client.get(f"/unit/nir/?unit={backlog_unit.id}").status_code == 403
    token = csrf_token(client, "/login")
    response = client.post("/unit/nir/mark", data={"csrf_token": token, "unit": backlog_unit.id})
    assert response.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(NirReported)) == 0


def test_bad_year_is_a_clear_error(
    client: Any, db_session: Any, make_user: Any, backlog_unit: Any
) -> None:
    """Does a forged year answer 400 with a message, not 500? Yes."""
    with time_machine.travel(NOW, tick=False):
        log_in(client, make_user("leader", backlog_unit.unit, locale="en"), db_session)
        response = client.get("/unit/nir/?year=1850")
    assert response.status_code == 400
    assert "Choose a year from 2021 to 2026." in response.get_data(as_text=True)


def test_export_job_builds_the_nir_table(
    db_session: Any, make_user: Any, backlog_unit: Backlog
) -> None:
    """Does an export job of kind nir_report get this module's table for its year? Yes."""
    from models.exports import ExportFormat, ExportKind, build_table, request_export
    from models.policy import Actor

    leader = make_user("leader", backlog_unit.unit)
    job = request_export(
        db_session,
        Actor(leader),
        backlog_unit.unit,
        ExportKind.NIR_REPORT,
        ExportFormat.CSV,
        "Yearly report to the national register",
        {"year": YEAR},
    )
    db_session.commit()
    table = build_table(db_session, job)
    assert table.headers == nir.REPORT_HEADERS
    assert [row[1] for row in table.rows] == [backlog_unit.person.ref]
