"""Tasks: due status across a frozen clock, who may hold and complete them, My tasks,
the caseload's next-task column, and a fuzzed task form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models.audit import AuditEvent
from models.base import local_today
from models.errors import Forbidden, NotFound, ValidationFailed
from models.policy import Actor
from models.tasks import (
    DUE_SOON_DAYS,
    Task,
    TaskDue,
    add_task,
    due_status,
    group,
    my_open_tasks,
    next_open_tasks,
    set_done,
)
from tests.conftest import csrf_token, log_in, post_form

TODAY = date(2026, 9, 14)
# Noon in Oslo, so the UTC and local dates agree.
NOON = datetime(2026, 9, 14, 10, 0, tzinfo=UTC)


@pytest.fixture
def team(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    class Team:
        unit = make_unit()
        advisor = make_user("advisor", unit, name="Aisha Rådgiver")
        leader = make_user("leader", unit, name="Lene Leder")
        colleague = make_user("advisor", unit, name="Kari Kollega")
        teacher = make_user("teacher", unit, name="Tor Lærer")
        participant = make_participant(unit=unit, advisor=advisor)

    return Team


def _task(db_session: Any, team: Any, due_on: date, *, assignee: Any = None) -> Task:
    task = add_task(
        db_session,
        Actor(team.advisor),
        team.participant,
        title="Ring legen om timen",
        assignee=assignee or team.advisor,
        due_on=due_on,
        today=min(due_on, local_today()),
    )
    db_session.commit()
    return task


# -- due status at the boundaries ---------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-1, TaskDue.OVERDUE),
        (0, TaskDue.SOON),
        (1, TaskDue.SOON),
        (DUE_SOON_DAYS, TaskDue.SOON),
        (DUE_SOON_DAYS + 1, TaskDue.LATER),
    ],
)
def test_due_status_boundaries(offset: int, expected: TaskDue) -> None:
    """Due today is soon, yesterday overdue, in 7 days soon, in 8 days later."""
    assert due_status(TODAY + timedelta(days=offset), TODAY) is expected


def test_done_task_is_never_overdue() -> None:
    assert due_status(TODAY - timedelta(days=30), TODAY, done=True) is TaskDue.DONE


def test_status_moves_with_the_frozen_clock(db_session: Any, team: Any) -> None:
    """A task due on the 21st: later on the 13th, soon on the 14th and the 21st,
    overdue on the 22nd — computed from the clock, not stored."""
    with time_machine.travel(NOON - timedelta(days=1), tick=False):
        task = _task(db_session, team, date(2026, 9, 21))
        assert task.status(local_today()) is TaskDue.LATER
    for moment, expected in (
        (NOON, TaskDue.SOON),
        (NOON + timedelta(days=7), TaskDue.SOON),
        (NOON + timedelta(days=8), TaskDue.OVERDUE),
    ):
        with time_machine.travel(moment, tick=False):
            assert task.status(local_today()) is expected, moment


def test_local_today_is_the_users_day() -> None:
    """00:30 in Oslo is still the previous day in UTC; the task's day is Oslo's."""
    assert local_today(datetime(2026, 9, 13, 22, 30, tzinfo=UTC)) == date(2026, 9, 14)


def test_my_tasks_groups_across_the_clock(db_session: Any, team: Any) -> None:
    with time_machine.travel(NOON, tick=False):
        for offset in (-1, 0, 7, 8):
            _task(db_session, team, TODAY + timedelta(days=max(offset, 0)))
    # Make the first one overdue by moving it a day back in the database.
    first = db_session.scalars(select(Task).order_by(Task.id)).first()
    first.due_on = TODAY - timedelta(days=1)
    db_session.commit()
    with time_machine.travel(NOON, tick=False):
        tasks = list(db_session.scalars(my_open_tasks(team.advisor)))
        groups = group(tasks, local_today())
    assert [t.due_on for t in groups.overdue] == [TODAY - timedelta(days=1)]
    assert [t.due_on for t in groups.soon] == [TODAY, TODAY + timedelta(days=7)]
    assert [t.due_on for t in groups.later] == [TODAY + timedelta(days=8)]


# -- who may hold a task ----------------------------------------------------------------


def test_task_for_someone_who_cannot_see_the_participant_is_refused(
    db_session: Any, team: Any
) -> None:
    """An advisor of the same unit who is not assigned may not hold the task."""
    with pytest.raises(ValidationFailed) as caught:
        add_task(
            db_session,
            Actor(team.advisor),
            team.participant,
            title="Følg opp søknaden",
            assignee=team.colleague,
            due_on=local_today(),
            today=local_today(),
        )
    assert caught.value.field == "assignee"


@pytest.mark.parametrize("who", ["teacher", "nobody"])
def test_task_for_teacher_or_nobody_is_refused(db_session: Any, team: Any, who: str) -> None:
    with pytest.raises(ValidationFailed):
        add_task(
            db_session,
            Actor(team.advisor),
            team.participant,
            title="Noe",
            assignee=team.teacher if who == "teacher" else None,
            due_on=local_today(),
            today=local_today(),
        )


def test_leader_may_hold_a_task(db_session: Any, team: Any) -> None:
    task = _task(db_session, team, local_today(), assignee=team.leader)
    assert task.assignee_id == team.leader.id


@pytest.mark.parametrize(
    ("title", "due", "field"),
    [("", 0, "title"), ("x" * 201, 0, "title"), ("Ok", -1, "due_on"), ("Ok", 5000, "due_on")],
)
def test_task_validation(db_session: Any, team: Any, title: str, due: int, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        add_task(
            db_session,
            Actor(team.advisor),
            team.participant,
            title=title,
            assignee=team.advisor,
            due_on=local_today() + timedelta(days=due),
            today=local_today(),
        )
    assert caught.value.field == field


def test_task_title_is_sealed(db_session: Any, team: Any) -> None:
    task = _task(db_session, team, local_today())
    raw = db_session.execute(select(Task.title_sealed).where(Task.id == task.id)).scalar_one()
    assert b"legen" not in raw


# -- completing ------------------------------------------------------------------------


def test_assignee_marks_done_and_reopens(db_session: Any, team: Any) -> None:
    task = _task(db_session, team, local_today(), assignee=team.leader)
    assert set_done(db_session, Actor(team.leader), task, True)
    assert task.done_by_id == team.leader.id and task.done_at is not None
    assert not set_done(db_session, Actor(team.leader), task, True)  # already done
    assert set_done(db_session, Actor(team.advisor), task, False)  # an advisor may too
    assert task.done_at is None


def test_leader_may_not_complete_someone_elses_task(db_session: Any, team: Any) -> None:
    task = _task(db_session, team, local_today())
    with pytest.raises(Forbidden):
        set_done(db_session, Actor(team.leader), task, True)


def test_stranger_gets_not_found(db_session: Any, team: Any) -> None:
    task = _task(db_session, team, local_today())
    with pytest.raises(NotFound):
        set_done(db_session, Actor(team.colleague), task, True)


def test_task_whose_participant_is_no_longer_visible_is_hidden(db_session: Any, team: Any) -> None:
    """Reassigned away: the advisor's old task disappears from My tasks."""
    _task(db_session, team, local_today())
    assert len(list(db_session.scalars(my_open_tasks(team.advisor)))) == 1
    team.participant.primary_advisor_id = team.colleague.id
    db_session.commit()
    assert list(db_session.scalars(my_open_tasks(team.advisor))) == []


def test_next_open_tasks_one_query(
    db_session: Any, team: Any, make_participant: Any, make_user: Any
) -> None:
    other = make_participant(unit=team.unit, advisor=team.advisor)
    today = local_today()
    _task(db_session, team, today + timedelta(days=3))
    early = _task(db_session, team, today + timedelta(days=1))
    done = _task(db_session, team, today)
    set_done(db_session, Actor(team.advisor), done, True)
    db_session.commit()
    found = next_open_tasks(db_session, [team.participant.id, other.id])
    assert found == {team.participant.id: early}


# -- views -----------------------------------------------------------------------------


def test_my_tasks_page(client: Any, db_session: Any, team: Any) -> None:
    today = local_today()
    _task(db_session, team, today)
    _task(db_session, team, today + timedelta(days=30))
    log_in(client, team.advisor, db_session)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get("/tasks/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ring legen om timen" in page
    assert team.participant.family_name in page
    assert 'id="tasks-soon"' in page and 'id="tasks-later"' in page
    after = db_session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == before + 1
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.field_categories) == ("task.list", "tasks")


def test_mark_done_through_the_button(client: Any, db_session: Any, team: Any) -> None:
    task = _task(db_session, team, local_today())
    log_in(client, team.advisor, db_session)
    token = csrf_token(client, "/tasks/")
    response = client.post(f"/tasks/{task.ref}/done", data={"csrf_token": token, "back": "tasks"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/tasks/")
    db_session.refresh(task)
    assert task.done_at is not None
    response = client.post(
        f"/tasks/{task.ref}/reopen", data={"csrf_token": token, "back": "participant"}
    )
    assert response.headers["Location"].startswith(f"/participants/{team.participant.ref}/")
    db_session.refresh(task)
    assert task.done_at is None


def test_mark_done_needs_csrf(client: Any, db_session: Any, team: Any) -> None:
    task = _task(db_session, team, local_today())
    log_in(client, team.advisor, db_session)
    response = client.post(f"/tasks/{task.ref}/done", data={})
    assert response.status_code in (302, 400)
    db_session.refresh(task)
    assert task.done_at is None


def test_caseload_shows_the_next_task(client: Any, db_session: Any, team: Any) -> None:
    _task(db_session, team, local_today() + timedelta(days=2))
    log_in(client, team.advisor, db_session)
    page = client.get("/participants/").get_data(as_text=True)
    assert "Ring legen om timen" in page
    assert (local_today() + timedelta(days=2)).isoformat() in page


def test_add_task_by_hand(client: Any, db_session: Any, team: Any) -> None:
    log_in(client, team.leader, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    response = client.post(
        f"/participants/{team.participant.ref}/tasks",
        data={
            "task-csrf_token": csrf_token(client, url),
            "task-title": "Send vedtaket",
            "task-assignee": str(team.advisor.id),
            "task-due_on": local_today().isoformat(),
        },
    )
    assert response.status_code == 302
    task = db_session.scalars(select(Task).where(Task.participant_id == team.participant.id)).one()
    assert (task.title, task.assignee_id, task.created_by_id) == (
        "Send vedtaket",
        team.advisor.id,
        team.leader.id,
    )


def test_add_task_for_someone_unseen_is_400(client: Any, db_session: Any, team: Any) -> None:
    log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    response = client.post(
        f"/participants/{team.participant.ref}/tasks",
        data={
            "task-csrf_token": csrf_token(client, url),
            "task-title": "Send vedtaket",
            "task-assignee": str(team.colleague.id),  # not in the list
            "task-due_on": local_today().isoformat(),
        },
    )
    assert response.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(Task)) == 0


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.sampled_from(["", " ", "\x00", "a" * 5000, "2026-02-30", "9999-12-31", "1", "-1"]),
)


@FUZZ
@given(title=text, assignee=text, due_on=text)
def test_task_form_never_fails(
    client: Any, db_session: Any, team: Any, title: Any, assignee: Any, due_on: Any
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, team.advisor, db_session)
    url = f"/participants/{team.participant.ref}/followups"
    before = db_session.scalar(select(func.count()).select_from(Task))
    data = {"task-title": title, "task-assignee": assignee, "task-due_on": due_on}
    data = {k: v for k, v in data.items() if v is not None}
    data["task-csrf_token"] = csrf_token(client, url)
    response = client.post(f"/participants/{team.participant.ref}/tasks", data=data)
    assert response.status_code in (302, 400)
    after = db_session.scalar(select(func.count()).select_from(Task))
    assert after == before + (1 if response.status_code == 302 else 0)


def test_post_form_helper_is_used(client: Any, db_session: Any, team: Any) -> None:
    """The done button without a task behind it is 404."""
    log_in(client, team.advisor, db_session)
    assert post_form(client, "/tasks/nothing/done", token_from="/tasks/").status_code == 404
