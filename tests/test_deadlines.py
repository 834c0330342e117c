"""The deadlines engine: statuses at their boundaries, overrides, providers, the stored next one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from models import deadlines
from models.deadlines import DUE_SOON_DAYS, Due, DueStatus, deadlines_for, next_unmet
from models.participants import override_rule, refresh_deadlines
from models.policy import Actor
from models.rules import DeadlineKind

TODAY = date(2026, 11, 23)


def due(due_on: date, met_on: date | None = None, kind: DeadlineKind = DeadlineKind.APPEAL) -> Due:
    return Due(
        kind=kind,
        due_on=due_on,
        met_on=met_on,
        rule_id="TEST/rule",
        rule_set="TEST",
        explanation="test",
    )


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-1, DueStatus.OVERDUE),  # the last day was yesterday
        (0, DueStatus.DUE_SOON),  # today is the last day: still on time
        (DUE_SOON_DAYS, DueStatus.DUE_SOON),
        (DUE_SOON_DAYS + 1, DueStatus.OK),
    ],
)
def test_status_at_its_boundaries(offset: int, expected: DueStatus) -> None:
    """Is a deadline overdue only after its last day, and due soon within the window? Yes."""
    assert due(TODAY + timedelta(days=offset)).status(TODAY) is expected


def test_a_met_deadline_is_met_even_when_late() -> None:
    """Does a deadline met after its last day count as met, not overdue? Yes."""
    assert due(TODAY - timedelta(days=30), met_on=TODAY).status(TODAY) is DueStatus.MET


def test_next_unmet_skips_met_ones() -> None:
    """Is the next deadline the earliest one not yet met? Yes."""
    items = [
        due(TODAY - timedelta(days=5), met_on=TODAY - timedelta(days=6)),
        due(TODAY + timedelta(days=9)),
        due(TODAY + timedelta(days=3)),
    ]
    found = next_unmet(items)
    assert found is not None and found.due_on == TODAY + timedelta(days=3)
    assert next_unmet([items[0]]) is None


def test_legal_deadlines_come_with_their_rule(
    db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Do the three-month deadlines appear with the rule and rule-set version? Yes."""
    participant = make_participant(settlement_on=date(2026, 6, 1))
    found = {d.kind: d for d in deadlines_for(db_session, participant, TODAY)}
    mapping = found[DeadlineKind.COMPETENCE_MAPPING]
    assert mapping.due_on == date(2026, 9, 1)
    assert mapping.rule_id.startswith("NO-2021/") and mapping.rule_set
    assert mapping.status(TODAY) is DueStatus.OVERDUE


def test_an_override_moves_the_deadline_and_the_stored_next_one(
    db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Does an advisor's override replace the date everywhere the engine is read? Yes."""
    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    override_rule(
        db_session,
        Actor(advisor),
        participant,
        subject="deadline:competence_mapping",
        value="2027-02-01",
        reason="The participant claimed the programme later",
        today=TODAY,
    )
    db_session.flush()
    moved = next(
        d
        for d in deadlines_for(db_session, participant, TODAY)
        if d.kind is DeadlineKind.COMPETENCE_MAPPING
    )
    assert moved.due_on == date(2027, 2, 1) and moved.overridden


@pytest.fixture
def extra_provider() -> Iterator[list[Due]]:
    """A provider of the test's own, removed afterwards."""
    items: list[Due] = []
    deadlines.register_provider("test", lambda session, participant, today: list(items))
    yield items
    deadlines._providers.pop("test", None)


def test_providers_feed_the_list_and_the_caseload_sort(
    db_session: Any, make_participant: Any, extra_provider: list[Due]
) -> None:
    """Does a module's deadline join the list and become the stored next one when earliest?"""
    participant = make_participant(settlement_on=None)  # no legal deadlines
    refresh_deadlines(participant, TODAY)
    assert participant.next_deadline_on is None
    extra_provider.append(due(TODAY + timedelta(days=2), kind=DeadlineKind.PLAN_REVIEW))
    extra_provider.append(due(TODAY - timedelta(days=1), met_on=TODAY - timedelta(days=3)))
    kinds = [d.kind for d in deadlines_for(db_session, participant, TODAY)]
    assert kinds == [DeadlineKind.APPEAL, DeadlineKind.PLAN_REVIEW]  # sorted by date
    refresh_deadlines(participant, TODAY)
    assert participant.next_deadline_on == TODAY + timedelta(days=2)
    assert participant.next_deadline_kind == "plan_review"


def test_daily_refresh_drops_an_appeal_period_that_ran_out(
    db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Once an appeal period has run out, does the daily refresh move the caseload sort on?"""
    from models.codes import DecisionType
    from models.decisions import DecisionInput, record_decision

    advisor = make_user("advisor")
    participant = make_participant(
        unit=advisor.memberships[0].unit, advisor=advisor, settlement_on=None
    )
    decided = date(2026, 11, 2)
    record_decision(
        db_session,
        Actor(advisor),
        participant,
        DecisionInput(decision_type=DecisionType.LEAVE, decided_on=decided, notified_on=decided),
        today=decided,
    )
    db_session.commit()
    assert participant.next_deadline_on == decided + timedelta(weeks=3)
    assert deadlines.refresh_passed(db_session, decided + timedelta(weeks=3)) == 0  # still open
    assert deadlines.refresh_passed(db_session, decided + timedelta(weeks=3, days=1)) == 1
    db_session.refresh(participant)
    assert participant.next_deadline_on is None


def test_deadlines_refresh_command(app: Any, db_session: Any, make_participant: Any) -> None:
    """Does `veiviser deadlines refresh` run and say how many it looked at? Yes."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from app.cli import cli

    make_participant(settlement_on=date(2020, 1, 1))  # long-passed legal deadlines
    result = CliRunner().invoke(
        cli, ["deadlines", "refresh"], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    assert "Looked at" in result.output


def test_daily_refresh_brings_in_a_contract_entering_its_window(
    db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Does a housing contract that enters its 60-day window with no write reach the caseload
    sort through the daily refresh? Yes, on the day it enters, and only then."""
    from models.housing import HousingInput, HousingType, record_housing

    advisor = make_user("advisor")
    participant = make_participant(
        unit=advisor.memberships[0].unit, advisor=advisor, settlement_on=None
    )
    ends = TODAY + timedelta(days=70)
    record_housing(
        db_session,
        Actor(advisor),
        participant,
        HousingInput(
            housing_type=HousingType.MUNICIPAL,
            municipality="Nordby",
            address="Storgata 1",
            household_size=2,
            contract_start_on=TODAY - timedelta(days=300),
            contract_end_on=ends,
        ),
        today=TODAY,
    )
    db_session.commit()
    assert participant.next_deadline_on is None  # outside the window today
    assert deadlines.refresh_passed(db_session, ends - timedelta(days=61)) == 0
    assert deadlines.refresh_passed(db_session, ends - timedelta(days=60)) == 1
    db_session.refresh(participant)
    assert participant.next_deadline_on == ends
    assert deadlines.refresh_passed(db_session, ends - timedelta(days=59)) == 0
