"""The unit leader's dashboard, bulk reassignment and audit search: the figures equal
counts made here from the raw rows, a leader sees their own units only, a reassignment
takes effect on the next request, and bad input is refused with nothing half-saved."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import dashboard as board
from models.accounts import Membership, Role
from models.audit import AuditEvent
from models.base import local_today, utcnow
from models.codes import EndGoal, ParticipantStatus
from models.deadlines import DUE_SOON_DAYS
from models.participants import Participant
from models.plans import Plan
from models.tasks import Task
from tests.conftest import csrf_token, log_in, post_form


@dataclass
class World:
    unit_a: Any
    unit_b: Any
    leader_a: Any
    leader_b: Any
    a1: Any
    a2: Any
    b1: Any
    participants: list[Any]
    tasks: list[Task]
    plans: list[Plan]
    today: date


@pytest.fixture
def world(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> World:
    """Two units with a random but reproducible set of participants, tasks and plans."""
    rng = random.Random(7)
    today = local_today()
    unit_a, unit_b = make_unit(), make_unit()
    leader_a = make_user("leader", unit_a, name="Lena Leder", locale="en")
    leader_b = make_user("leader", unit_b, name="Bjørn Boss", locale="en")
    a1 = make_user("advisor", unit_a, name="Anna Advisor")
    a2 = make_user("advisor", unit_a, name="Arne Advisor")
    b1 = make_user("advisor", unit_b, name="Berit Advisor")
    participants: list[Any] = []
    tasks: list[Task] = []
    plans: list[Plan] = []
    owners = {unit_a.id: [a1, a2, None], unit_b.id: [b1]}
    for n in range(36):
        unit = unit_a if n % 3 else unit_b
        advisor = rng.choice(owners[unit.id])
        participant = make_participant(
            unit=unit,
            advisor=advisor,
            status=rng.choice(list(ParticipantStatus)),
        )
        # The stored next deadline, as the engine would have left it: none, passed, soon, later.
        participant.next_deadline_on = rng.choice(
            [
                None,
                today - timedelta(days=3),
                today + timedelta(days=DUE_SOON_DAYS),
                today + timedelta(days=DUE_SOON_DAYS + 1),
            ]
        )
        participants.append(participant)
        for _ in range(rng.randint(0, 3)):
            task = Task(
                participant_id=participant.id,
                assignee_id=(advisor or leader_a if unit is unit_a else b1).id,
                due_on=today + timedelta(days=rng.randint(-10, 10)),
                done_at=utcnow() if rng.random() < 0.3 else None,
            )
            task.title = "Ring"
            tasks.append(task)
        if rng.random() < 0.6:
            plans.append(
                Plan(
                    participant_id=participant.id,
                    end_goal=EndGoal.WORK,
                    programme_start_on=today - timedelta(days=100),
                    planned_end_on=today + timedelta(days=600),
                    hours_per_week_norm=37.5,
                    review_due_on=rng.choice(
                        [
                            None,
                            today - timedelta(days=1),
                            today + timedelta(days=DUE_SOON_DAYS),
                            today + timedelta(days=60),
                        ]
                    ),
                )
            )
    # A restricted and an anonymised participant count nowhere.
    participants[1].is_restricted = True
    participants[2].anonymised_at = utcnow()
    db_session.add_all(tasks + plans)
    db_session.commit()
    return World(unit_a, unit_b, leader_a, leader_b, a1, a2, b1, participants, tasks, plans, today)


def _expected(world: World, unit: Any) -> tuple[dict[str, int], dict[int | None, dict[str, int]]]:
    """The figures of `unit`, counted in Python from the rows the fixture wrote."""
    soon = world.today + timedelta(days=DUE_SOON_DAYS)
    counted = [
        p
        for p in world.participants
        if p.unit_id == unit.id and not p.is_restricted and p.anonymised_at is None
    ]
    by_status: dict[str, int] = {}
    rows: dict[int | None, dict[str, int]] = {}
    open_statuses = {
        ParticipantStatus.REGISTERED,
        ParticipantStatus.ACTIVE,
        ParticipantStatus.ON_LEAVE,
    }
    for p in counted:
        by_status[p.status.value] = by_status.get(p.status.value, 0) + 1
        row = rows.setdefault(
            p.primary_advisor_id,
            {
                "caseload": 0,
                "overdue_tasks": 0,
                "reviews_due": 0,
                "deadlines_due": 0,
                "without_next_step": 0,
            },
        )
        row["caseload"] += 1
        own_tasks = [t for t in world.tasks if t.participant_id == p.id]
        row["overdue_tasks"] += sum(
            1 for t in own_tasks if t.done_at is None and t.due_on < world.today
        )
        row["reviews_due"] += sum(
            1
            for plan in world.plans
            if plan.participant_id == p.id
            and plan.review_due_on is not None
            and plan.review_due_on <= soon
            and p.status in open_statuses
        )
        if p.next_deadline_on is not None and p.next_deadline_on <= soon:
            row["deadlines_due"] += 1
        if (
            p.status in open_statuses
            and p.next_deadline_on is None
            and not any(t.done_at is None for t in own_tasks)
        ):
            row["without_next_step"] += 1
    return by_status, rows


def _as_dict(figure: board.AdvisorFigures) -> dict[str, int]:
    return {
        "caseload": figure.caseload,
        "overdue_tasks": figure.overdue_tasks,
        "reviews_due": figure.reviews_due,
        "deadlines_due": figure.deadlines_due,
        "without_next_step": figure.without_next_step,
    }


# -- the figures -----------------------------------------------------------------


def test_figures_equal_counts_from_the_raw_rows(db_session: Any, world: World) -> None:
    for leader, unit in ((world.leader_a, world.unit_a), (world.leader_b, world.unit_b)):
        (figures,) = board.dashboard(db_session, leader, world.today)
        by_status, rows = _expected(world, unit)
        assert figures.unit_id == unit.id
        assert figures.by_status == by_status
        got = {a.advisor_id: _as_dict(a) for a in figures.advisors if a.caseload or a.overdue_tasks}
        assert got == rows
        assert sum(by_status.values()) == figures.total == figures.totals.caseload


def test_every_advisor_of_the_unit_has_a_row_even_without_participants(
    db_session: Any, world: World, make_user: Any
) -> None:
    idle = make_user("advisor", world.unit_a, name="Ida Idle")
    (figures,) = board.dashboard(db_session, world.leader_a, world.today)
    row = next(a for a in figures.advisors if a.advisor_id == idle.id)
    assert (row.name, row.caseload) == ("Ida Idle", 0)
    assert figures.advisors[-1].advisor_id is None  # "no primary advisor" comes last


def test_a_leader_sees_only_their_units(db_session: Any, world: World) -> None:
    (figures,) = board.dashboard(db_session, world.leader_b, world.today)
    assert figures.unit_id == world.unit_b.id
    names = {a.name for a in figures.advisors}
    assert "Anna Advisor" not in names and "Arne Advisor" not in names


def test_an_advisor_has_no_dashboard(db_session: Any, world: World) -> None:
    assert board.dashboard(db_session, world.a1, world.today) == []


def test_dashboard_page_shows_the_figures_and_is_audited(
    client: Any, db_session: Any, world: World
) -> None:
    log_in(client, world.leader_a, db_session)
    response = client.get("/unit/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Anna Advisor" in page and "Berit Advisor" not in page
    assert "/unit/break-glass" in page and "/housing/" in page and "/unit/audit" in page
    (figures,) = board.dashboard(db_session, world.leader_a, world.today)
    assert f'<td class="number">{figures.total}</td>' in page
    events = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "unit.dashboard", AuditEvent.actor_user_id == world.leader_a.id
        )
    ).all()
    assert len(events) == 1


@pytest.mark.parametrize("role", ["advisor", "teacher", "partner", "admin"])
def test_other_roles_get_403(client: Any, db_session: Any, make_user: Any, role: str) -> None:
    log_in(client, make_user(role), db_session)
    for url in ("/unit/", "/unit/reassign", "/unit/audit"):
        assert client.get(url).status_code == 403


# -- reassignment ------------------------------------------------------------------


def _of(world: World, unit: Any, advisor: Any) -> list[Any]:
    return [
        p
        for p in world.participants
        if p.unit_id == unit.id
        and p.primary_advisor_id == (advisor.id if advisor else None)
        and not p.is_restricted
        and p.anonymised_at is None
    ]


def test_reassignment_is_effective_on_the_next_request(
    app: Any, client: Any, db_session: Any, world: World
) -> None:
    moving = _of(world, world.unit_a, world.a1)[:2]
    assert len(moving) == 2
    log_in(client, world.leader_a, db_session)
    response = post_form(
        client,
        "/unit/reassign",
        {"participants": [p.ref for p in moving], "primary_advisor": str(world.a2.id)},
    )
    assert response.status_code == 302
    reassigned = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "participant.reassign")
    ).all()
    assert sorted(e.object_ref for e in reassigned) == sorted(p.ref for p in moving)
    old = app.test_client()
    log_in(old, world.a1, db_session)
    assert old.get(f"/participants/{moving[0].ref}").status_code == 404
    new = app.test_client()
    log_in(new, world.a2, db_session)
    assert new.get(f"/participants/{moving[0].ref}").status_code == 200


def test_the_secondary_stays_unless_it_becomes_the_primary(
    db_session: Any, world: World, make_participant: Any
) -> None:
    from models.policy import Actor

    keeps = make_participant(unit=world.unit_a, advisor=world.a1, secondary=world.a2)
    clears = make_participant(unit=world.unit_a, advisor=world.a2, secondary=world.a1)
    board.reassign_many(db_session, Actor(world.leader_a), [keeps.ref, clears.ref], world.a1)
    db_session.commit()
    assert (keeps.primary_advisor_id, keeps.secondary_advisor_id) == (world.a1.id, world.a2.id)
    assert (clears.primary_advisor_id, clears.secondary_advisor_id) == (world.a1.id, None)


def _advisors(db_session: Any, refs: list[str]) -> list[tuple[Any, ...]]:
    db_session.expire_all()
    return [
        tuple(row)
        for row in db_session.execute(
            select(
                Participant.ref, Participant.primary_advisor_id, Participant.secondary_advisor_id
            )
            .where(Participant.ref.in_(refs))
            .order_by(Participant.ref)
        )
    ]


@pytest.mark.parametrize(
    ("choose", "advisor", "message"),
    [
        ("none", "a2", "Choose at least one participant."),
        ("own", "b1", "Choose an advisor of the participant&#39;s unit."),
        ("own", "none", "Choose the new primary advisor."),
        ("other_unit", "a2", "Choose participants from the list."),
        ("own_and_other", "a2", "Choose participants from the list."),
    ],
)
def test_bad_reassignment_is_refused_and_nothing_changes(
    client: Any, db_session: Any, world: World, choose: str, advisor: str, message: str
) -> None:
    own = [p.ref for p in _of(world, world.unit_a, world.a1)[:2]]
    other = [p.ref for p in _of(world, world.unit_b, world.b1)[:1]]
    refs = {"none": [], "own": own, "other_unit": other, "own_and_other": own + other}[choose]
    advisor_id = {"a2": world.a2.id, "b1": world.b1.id, "none": 0}[advisor]
    before = _advisors(db_session, own + other)
    log_in(client, world.leader_a, db_session)
    response = post_form(
        client, "/unit/reassign", {"participants": refs, "primary_advisor": str(advisor_id)}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _advisors(db_session, own + other) == before
    assert not db_session.scalar(
        select(func.count()).where(AuditEvent.action == "participant.reassign")
    )


def test_reassign_page_lists_names_of_the_leaders_unit_only(
    client: Any, db_session: Any, world: World
) -> None:
    log_in(client, world.leader_b, db_session)
    page = client.get("/unit/reassign").get_data(as_text=True)
    listed = {p.ref for p in world.participants if p.ref in page}
    assert listed and all(
        p.unit_id == world.unit_b.id for p in world.participants if p.ref in listed
    )
    # Filtered by an advisor: only their caseload (no names in the URL, only an id).
    page = client.get(f"/unit/reassign?advisor={world.b1.id}").get_data(as_text=True)
    assert all(p.primary_advisor_id == world.b1.id for p in world.participants if p.ref in page)


# -- audit search ------------------------------------------------------------------


def _search(client: Any, data: dict[str, Any]) -> Any:
    return post_form(client, "/unit/audit", data)


def test_audit_search_by_participant_user_and_period(
    app: Any, client: Any, db_session: Any, world: World
) -> None:
    subject = _of(world, world.unit_a, world.a1)[0]
    reader = app.test_client()
    log_in(reader, world.a1, db_session)
    assert reader.get(f"/participants/{subject.ref}").status_code == 200
    log_in(client, world.leader_a, db_session)
    page = _search(client, {"participant_ref": subject.ref}).get_data(as_text=True)
    assert "participant.view" in page or "participant.read" in page or subject.ref in page
    assert "Anna Advisor" in page
    by_user = _search(client, {"user": world.a1.email.upper()})
    assert by_user.status_code == 200 and "Anna Advisor" in by_user.get_data(as_text=True)
    by_name = _search(client, {"user": "anna"})
    assert by_name.status_code == 200
    yesterday = (world.today - timedelta(days=2)).isoformat()
    old = _search(client, {"participant_ref": subject.ref, "date_to": yesterday})
    assert "No events found." in old.get_data(as_text=True)
    # Each page (the form's GET and every search) is one event; a real reference is kept.
    about = db_session.scalar(
        select(func.count()).where(
            AuditEvent.action == "audit.search", AuditEvent.object_ref == subject.ref
        )
    )
    assert about == 2


def test_audit_search_shows_nothing_of_another_unit(
    app: Any, client: Any, db_session: Any, world: World
) -> None:
    subject = _of(world, world.unit_a, world.a1)[0]
    reader = app.test_client()
    log_in(reader, world.a1, db_session)
    reader.get(f"/participants/{subject.ref}")
    log_in(client, world.leader_b, db_session)
    page = _search(client, {"participant_ref": subject.ref}).get_data(as_text=True)
    assert "No events found." in page
    refused = _search(client, {"user": world.a1.email})
    assert refused.status_code == 400
    assert "Nobody of your unit" in refused.get_data(as_text=True)
    everything = client.get("/unit/audit").get_data(as_text=True)
    assert subject.ref not in everything and "Anna Advisor" not in everything
    # A leader's search never records a reference of another unit.
    assert not db_session.scalar(
        select(func.count()).where(
            AuditEvent.action == "audit.search", AuditEvent.object_ref == subject.ref
        )
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date_from": "2026-05-01", "date_to": "2026-04-01"}, "before its end"),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, "at most two years"),
        ({"date_from": "not a date"}, "Not a valid date value"),
        ({"participant_ref": "x" * 41}, "Field cannot be longer than 40 characters"),
    ],
)
def test_audit_search_validation(
    client: Any, db_session: Any, world: World, data: dict[str, str], message: str
) -> None:
    log_in(client, world.leader_a, db_session)
    response = _search(client, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_name_typed_as_reference_is_not_logged(
    client: Any, db_session: Any, world: World
) -> None:
    log_in(client, world.leader_a, db_session)
    _search(client, {"participant_ref": "Amina Hassan"})
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.search")).all()
    assert len(events) == 2 and all(e.object_ref is None for e in events)


def test_audit_search_paginates_with_the_search_kept(
    client: Any, db_session: Any, world: World
) -> None:
    log_in(client, world.leader_a, db_session)
    for _ in range(12):  # PAGE_SIZE is 10 in the tests
        client.get("/unit/")
    token = csrf_token(client, "/unit/audit")
    second = client.post(
        "/unit/audit", data={"csrf_token": token, "user": world.leader_a.email, "page": "2"}
    )
    body = second.get_data(as_text=True)
    assert second.status_code == 200 and "Page 2 of" in body
    assert "?page" not in body


# -- fuzz ---------------------------------------------------------------------------

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "0", "-1", "99999999999999999999", "\x00", "' OR 1=1 --", "a" * 500]),
)


@FUZZ
@given(
    participants=st.lists(text, max_size=4),
    primary=st.one_of(st.none(), text),
    page=st.one_of(st.none(), text),
)
def test_reassign_form_never_fails(
    client: Any,
    db_session: Any,
    make_unit: Any,
    make_user: Any,
    participants: list[str],
    primary: Any,
    page: Any,
) -> None:
    if not client.get_cookie("veiviser_session"):
        unit = make_unit()
        make_user("advisor", unit)
        log_in(client, make_user("leader", unit), db_session)
    before = db_session.scalar(
        select(func.count()).where(AuditEvent.action == "participant.reassign")
    )
    data: dict[str, Any] = {
        "csrf_token": csrf_token(client, "/unit/reassign"),
        "participants": participants,
    }
    if primary is not None:
        data["primary_advisor"] = primary
    response = client.post("/unit/reassign" + (f"?page={page}" if page else ""), data=data)
    assert response.status_code in (400, 409)
    assert (
        db_session.scalar(select(func.count()).where(AuditEvent.action == "participant.reassign"))
        == before
    )


@FUZZ
@given(ref=text, user=text, date_from=text, date_to=text, page=text)
def test_audit_form_never_fails(
    client: Any,
    db_session: Any,
    make_unit: Any,
    make_user: Any,
    ref: str,
    user: str,
    date_from: str,
    date_to: str,
    page: str,
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, make_user("leader", make_unit()), db_session)
    response = client.post(
        "/unit/audit",
        data={
            "csrf_token": csrf_token(client, "/unit/audit"),
            "participant_ref": ref,
            "user": user,
            "date_from": date_from,
            "date_to": date_to,
            "page": page,
        },
    )
    assert response.status_code in (200, 400)


def test_membership_of_another_unit_grants_no_figures(db_session: Any, world: World) -> None:
    """A leader of A who is an advisor in B still sees A only on the dashboard."""
    world.leader_a.memberships.append(
        Membership(unit=world.unit_b, unit_id=world.unit_b.id, role=Role.ADVISOR)
    )
    db_session.commit()
    units = board.dashboard(db_session, world.leader_a, world.today)
    assert [u.unit_id for u in units] == [world.unit_a.id]
