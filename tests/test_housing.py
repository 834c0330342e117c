"""Housing in the domain: history, the contract-ending deadline, notes and tasks, figures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from models import housing as ops
from models.accounts import Role
from models.audit import AuditEvent
from models.base import local_today
from models.deadlines import deadlines_for
from models.errors import NotFound, StaleEdit, ValidationFailed
from models.housing import HousingInput, HousingNoteInput, HousingNoteKind, HousingType
from models.policy import Actor
from models.rules import DeadlineKind, rule_set_for
from models.tasks import NextAction, Task

TODAY = date(2026, 11, 30)


@pytest.fixture
def advisor(make_user: Any) -> Any:
    return make_user("advisor")


@pytest.fixture
def participant(advisor: Any, make_participant: Any) -> Any:
    return make_participant(unit=advisor.memberships[0].unit, advisor=advisor)


def _input(**fields: Any) -> HousingInput:
    values: dict[str, Any] = {
        "housing_type": HousingType.MUNICIPAL,
        "municipality": "Drammen",
        "address": "Storgata 1\n3015 Drammen",
        "landlord": "Drammen eiendom, 32 00 00 00",
        "household_size": 3,
        "adaptations": "",
        "contract_start_on": date(2026, 6, 1),
        "contract_end_on": None,
        "moved_out_on": None,
    }
    values.update(fields)
    return HousingInput(**values)


def _record(db_session: Any, advisor: Any, participant: Any, today: date = TODAY, **fields: Any):  # type: ignore[no-untyped-def]
    housing = ops.record_housing(
        db_session, Actor(advisor), participant, _input(**fields), today=today
    )
    db_session.commit()
    return housing


def _contract_dues(db_session: Any, participant: Any, today: date) -> list[Any]:
    return [
        d
        for d in deadlines_for(db_session, participant, today)
        if d.kind is DeadlineKind.HOUSING_CONTRACT_END
    ]


def test_address_and_landlord_are_sealed(db_session: Any, advisor: Any, participant: Any) -> None:
    """Is the address stored in clear? No: sealed, and read back through the descriptor."""
    housing = _record(db_session, advisor, participant)
    assert housing.address_sealed and b"Storgata" not in housing.address_sealed
    assert housing.landlord_sealed and b"Drammen eiendom" not in housing.landlord_sealed
    db_session.expire_all()
    again = ops.get_housing(db_session, participant, housing.ref)
    assert again.address == "Storgata 1\n3015 Drammen"


def test_record_writes_one_audit_event_without_values(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does recording write one event with categories and no values? Yes."""
    _record(db_session, advisor, participant)
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "housing.create")
    ).all()
    assert len(events) == 1
    assert "address" in events[0].field_categories
    assert "Storgata" not in repr(events[0].__dict__)


def test_new_current_housing_ends_the_previous_one(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does moving to a new home end the old one on the new contract's start? Yes."""
    first = _record(db_session, advisor, participant)
    second = _record(
        db_session,
        advisor,
        participant,
        housing_type=HousingType.PRIVATE_RENTAL,
        contract_start_on=date(2026, 10, 1),
    )
    assert first.moved_out_on == date(2026, 10, 1)
    assert ops.current_housing(db_session, participant).id == second.id
    history = db_session.scalars(ops.history_of(participant)).all()
    assert [h.id for h in history] == [second.id, first.id]


def test_new_housing_cannot_start_before_the_current(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """May a new housing start before the current one? No, with a clear message."""
    _record(db_session, advisor, participant)
    with pytest.raises(ValidationFailed) as caught:
        _record(db_session, advisor, participant, contract_start_on=date(2026, 5, 1))
    assert caught.value.field == "contract_start_on"


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"housing_type": None}, "housing_type"),
        ({"municipality": "  "}, "municipality"),
        ({"address": ""}, "address"),
        ({"household_size": None}, "household_size"),
        ({"household_size": 0}, "household_size"),
        ({"household_size": 31}, "household_size"),
        ({"contract_start_on": None}, "contract_start_on"),
        ({"contract_start_on": date(1900, 1, 1)}, "contract_start_on"),
        ({"contract_end_on": date(2026, 6, 1)}, "contract_end_on"),
        ({"moved_out_on": date(2026, 5, 1)}, "moved_out_on"),
        ({"moved_out_on": TODAY + timedelta(days=1)}, "moved_out_on"),
        ({"address": "x" * (ops.MAX_ADDRESS + 1)}, "address"),
    ],
)
def test_bad_housing_input_names_the_field(
    db_session: Any, advisor: Any, participant: Any, fields: dict[str, Any], field_name: str
) -> None:
    """Is each bad value refused with its field named, and nothing written? Yes."""
    with pytest.raises(ValidationFailed) as caught:
        ops.record_housing(db_session, Actor(advisor), participant, _input(**fields), today=TODAY)
    assert caught.value.field == field_name
    db_session.rollback()
    assert ops.current_housing(db_session, participant) is None


def test_update_is_optimistically_locked(db_session: Any, advisor: Any, participant: Any) -> None:
    """Does a correction from a stale form overwrite? No: StaleEdit."""
    housing = _record(db_session, advisor, participant)
    with pytest.raises(StaleEdit):
        ops.update_housing(
            db_session,
            Actor(advisor),
            participant,
            housing,
            housing.version - 1,
            _input(household_size=4),
            today=TODAY,
        )


def test_update_records_move_out(db_session: Any, advisor: Any, participant: Any) -> None:
    """Does recording a move-out end the housing? Yes, and the change is audited."""
    housing = _record(db_session, advisor, participant)
    changed = ops.update_housing(
        db_session,
        Actor(advisor),
        participant,
        housing,
        housing.version,
        _input(moved_out_on=date(2026, 11, 1)),
        today=TODAY,
    )
    db_session.commit()
    assert changed == {"moved_out_on"}
    assert ops.current_housing(db_session, participant) is None


def test_reopening_an_old_housing_while_another_is_current_is_refused(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """May two housings be current at once? No."""
    first = _record(db_session, advisor, participant)
    _record(db_session, advisor, participant, contract_start_on=date(2026, 10, 1))
    with pytest.raises(ValidationFailed) as caught:
        ops.update_housing(
            db_session, Actor(advisor), participant, first, first.version, _input(), today=TODAY
        )
    assert caught.value.field == "moved_out_on"


def test_another_participants_housing_is_not_found(
    db_session: Any, advisor: Any, participant: Any, make_participant: Any
) -> None:
    """Can a housing be reached through another participant's reference? No."""
    housing = _record(db_session, advisor, participant)
    other = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    with pytest.raises(NotFound):
        ops.get_housing(db_session, other, housing.ref)


# -- the deadline ----------------------------------------------------------------------


def test_warning_window_is_the_rule_sets() -> None:
    """Is the warning window 60 days by default? Yes, a rule-set parameter."""
    from models.codes import Country

    assert rule_set_for(Country.NORWAY, TODAY).housing_contract_warning_days == 60


def test_contract_ending_in_60_days_is_a_deadline(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a contract ending exactly 60 days ahead appear among the deadlines? Yes."""
    today = local_today()
    end = today + timedelta(days=60)
    _record(db_session, advisor, participant, today=today, contract_end_on=end)
    dues = _contract_dues(db_session, participant, today)
    assert [d.due_on for d in dues] == [end]
    assert dues[0].rule_id.endswith("/housing-contract-end")
    assert dues[0].params["days"] == 60


def test_contract_ending_in_61_days_is_not_yet_a_deadline(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a contract ending 61 days ahead appear? Not yet; the next day it does."""
    today = local_today()
    _record(
        db_session, advisor, participant, today=today, contract_end_on=today + timedelta(days=61)
    )
    assert _contract_dues(db_session, participant, today) == []
    assert len(_contract_dues(db_session, participant, today + timedelta(days=1))) == 1


def test_contract_passed_while_living_there_is_overdue(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Is a contract that ended while the household still lives there overdue? Yes."""
    today = local_today()
    _record(
        db_session,
        advisor,
        participant,
        today=today,
        contract_start_on=today - timedelta(days=400),
        contract_end_on=today - timedelta(days=5),
    )
    (due,) = _contract_dues(db_session, participant, today)
    assert due.status(today).value == "overdue"


def test_moved_out_housing_gives_no_deadline(
    db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a housing the household has left still warn? No."""
    today = local_today()
    _record(
        db_session,
        advisor,
        participant,
        today=today,
        contract_start_on=today - timedelta(days=100),
        contract_end_on=today + timedelta(days=10),
        moved_out_on=today - timedelta(days=1),
    )
    assert _contract_dues(db_session, participant, today) == []


def test_contract_end_becomes_the_stored_next_deadline(
    db_session: Any, advisor: Any, make_participant: Any
) -> None:
    """Is the participant's stored next deadline refreshed by a housing write? Yes."""
    participant = make_participant(
        unit=advisor.memberships[0].unit,
        advisor=advisor,
        settlement_on=None,
    )
    today = local_today()
    end = today + timedelta(days=3)
    _record(db_session, advisor, participant, today=today, contract_end_on=end)
    if participant.next_deadline_on == end:
        assert participant.next_deadline_kind == "housing_contract_end"
    else:  # a legal deadline falls earlier
        assert participant.next_deadline_on is not None
        assert participant.next_deadline_on <= end


# -- notes and tasks ---------------------------------------------------------------


def test_next_actions_become_tasks(db_session: Any, advisor: Any, participant: Any) -> None:
    """Do filled next-action rows of a housing note become tasks? Yes; empty rows are skipped."""
    today = local_today()
    data = HousingNoteInput(
        noted_on=today,
        kind=HousingNoteKind.HOME_VISIT,
        note="Mould in the bathroom; landlord informed.",
        next_actions=[
            NextAction(
                title="Call the landlord",
                assignee=advisor,
                assignee_given=True,
                due_on=today + timedelta(days=7),
            ),
            NextAction(),
            NextAction(
                title="Check the repair",
                assignee=advisor,
                assignee_given=True,
                due_on=today + timedelta(days=30),
            ),
        ],
    )
    note = ops.log_housing_note(db_session, Actor(advisor), participant, data, today=today)
    db_session.commit()
    tasks = db_session.scalars(select(Task).where(Task.participant_id == participant.id)).all()
    assert sorted(t.title for t in tasks) == ["Call the landlord", "Check the repair"]
    assert {t.assignee_id for t in tasks} == {advisor.id}
    assert {t.id for t in note.tasks} == {t.id for t in tasks}
    assert note.note_sealed and b"Mould" not in note.note_sealed
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "housing_note.create")
    ).one()
    assert set(event.field_categories.split(",")) >= {"housing_note", "tasks"}


def test_a_bad_next_action_saves_nothing(
    db_session: Any, advisor: Any, participant: Any, make_user: Any
) -> None:
    """Is a note with an assignee who may not see the participant half-saved? No."""
    today = local_today()
    stranger = make_user("advisor")
    data = HousingNoteInput(
        noted_on=today,
        kind=HousingNoteKind.PHONE,
        note="Called.",
        next_actions=[
            NextAction(
                title="Something",
                assignee=stranger,
                assignee_given=True,
                due_on=today + timedelta(days=1),
            ),
        ],
    )
    with pytest.raises(ValidationFailed) as caught:
        ops.log_housing_note(db_session, Actor(advisor), participant, data, today=today)
    assert caught.value.field == "action1_assignee"
    db_session.rollback()
    assert db_session.scalars(ops.notes_of(participant)).all() == []


def test_note_in_the_future_is_refused(db_session: Any, advisor: Any, participant: Any) -> None:
    """May a housing note be dated tomorrow? No."""
    today = local_today()
    data = HousingNoteInput(
        noted_on=today + timedelta(days=1), kind=HousingNoteKind.MEETING, note="x"
    )
    with pytest.raises(ValidationFailed) as caught:
        ops.log_housing_note(db_session, Actor(advisor), participant, data, today=today)
    assert caught.value.field == "noted_on"


def test_note_correction_is_locked(db_session: Any, advisor: Any, participant: Any) -> None:
    """Is a stale note correction refused? Yes; a current one is saved."""
    today = local_today()
    data = HousingNoteInput(noted_on=today, kind=HousingNoteKind.MEETING, note="First")
    note = ops.log_housing_note(db_session, Actor(advisor), participant, data, today=today)
    db_session.commit()
    with pytest.raises(StaleEdit):
        ops.correct_housing_note(
            db_session, Actor(advisor), participant, note, note.version + 1, data, today=today
        )
    data.note = "Second"
    changed = ops.correct_housing_note(
        db_session, Actor(advisor), participant, note, note.version, data, today=today
    )
    assert changed == {"note"}


# -- the leader's figures ----------------------------------------------------------


def test_unit_figures_count_by_type_and_ending(
    db_session: Any, advisor: Any, make_user: Any, make_participant: Any
) -> None:
    """Are the leader's figures right: by type, ending soon, passed, without housing? Yes."""
    unit = advisor.memberships[0].unit
    leader = make_user(Role.LEADER, unit)
    today = local_today()
    people = [make_participant(unit=unit, advisor=advisor) for _ in range(5)]
    _record(db_session, advisor, people[0], today=today, contract_end_on=today + timedelta(days=60))
    _record(db_session, advisor, people[1], today=today, contract_end_on=today + timedelta(days=61))
    _record(
        db_session,
        advisor,
        people[2],
        today=today,
        housing_type=HousingType.PRIVATE_RENTAL,
        contract_start_on=today - timedelta(days=300),
        contract_end_on=today - timedelta(days=1),
    )
    _record(
        db_session,
        advisor,
        people[3],
        today=today,
        housing_type=HousingType.TEMPORARY,
        contract_start_on=today - timedelta(days=300),
        moved_out_on=today - timedelta(days=3),
    )
    # Another unit's participant is not counted.
    elsewhere = make_user("advisor")
    other = make_participant(unit=elsewhere.memberships[0].unit, advisor=elsewhere)
    _record(db_session, elsewhere, other, today=today)
    (figures,) = ops.unit_figures(db_session, leader, today)
    assert figures.by_type == {HousingType.MUNICIPAL: 2, HousingType.PRIVATE_RENTAL: 1}
    assert figures.current == 3
    assert figures.ending_soon == 1
    assert figures.contract_passed == 1
    assert figures.without_housing == 2  # people[3] moved out, people[4] never had one


def test_unit_figures_are_empty_for_non_leaders(db_session: Any, advisor: Any) -> None:
    """Does an advisor get figures? No: only the units one leads."""
    assert ops.unit_figures(db_session, advisor, TODAY) == []
