"""The policy's SQL list of staff who may read a participant equals its per-user answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from models.access import BreakGlassGrant, staff_who_may_read
from models.accounts import Role
from models.base import utcnow
from models.policy import Action, can
from models.tasks import may_hold


@pytest.mark.parametrize("restricted", [False, True])
def test_list_matches_the_policy_user_by_user(
    db_session: Any, make_unit: Any, make_user: Any, make_participant: Any, restricted: bool
) -> None:
    """For every kind of colleague, is the list the same as asking the policy? Yes."""
    unit, other_unit = make_unit(), make_unit()
    primary = make_user("advisor", unit)
    secondary = make_user("advisor", unit)
    colleague = make_user("advisor", unit)
    glass_holder = make_user("advisor", unit)
    expired_glass = make_user("advisor", unit)
    leader = make_user("leader", unit)
    outsider = make_user("advisor", other_unit)
    retired = make_user("leader", unit)
    retired.is_active = False
    teacher = make_user("teacher", unit)
    partner = make_user("partner", unit)
    participant = make_participant(unit=unit, advisor=primary, secondary=secondary)
    now = utcnow()
    for holder, expires in ((glass_holder, now + timedelta(hours=1)), (expired_glass, now)):
        db_session.add(
            BreakGlassGrant(
                user_id=holder.id,
                participant_id=participant.id,
                unit_id=unit.id,
                role=Role.ADVISOR.value,
                expires_at=expires,
            )
        )
    participant.is_restricted = restricted
    db_session.commit()

    everyone = [
        primary, secondary, colleague, glass_holder, expired_glass, leader, outsider,
        retired, teacher, partner,
    ]  # fmt: skip
    by_policy = {
        u.id
        for u in everyone
        if u.is_active
        and u.roles() & {Role.ADVISOR, Role.LEADER}
        and can(u, Action.PARTICIPANT_READ, participant)
    }
    listed = staff_who_may_read(db_session, participant)
    assert {u.id for u in listed} == by_policy
    # Under restriction no task work is done at all (GDPR art. 18): nobody may hold one.
    assert {u.id for u in listed if may_hold(u, participant)} == (
        set() if restricted else by_policy
    )
    expected = (
        {primary.id} if restricted else {primary.id, secondary.id, glass_holder.id, leader.id}
    )
    assert by_policy == expected
