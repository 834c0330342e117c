"""The deadlines engine: every deadline of one participant, in one place.

Legal deadlines come from the rule set (`models.rules.deadlines`), with an
advisor's override of a date applied. The other modules of the record add theirs
through a provider registered here (the plan's review and planned end, decisions'
appeal deadlines, later the Norwegian-training deadline): a provider reads the
record and returns `Due` items, each naming the rule that produced it.

The overview shows `deadlines_for(...)`; `models.participants.refresh_deadlines`
stores the earliest unmet one on the participant so the caseload sorts in SQL.
Any caller may use these functions; none of them changes anything.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from models.errors import N_
from models.rules import DeadlineKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.participants import Participant

# Not law: how far ahead a deadline counts as "due soon" on the overview and caseload.
DUE_SOON_DAYS = 14

# Modules that register a provider when imported. Listed here, not discovered, so that
# every caller (web, CLI, tests) computes the same deadlines.
PROVIDER_MODULES = (
    "models.plans",
    "models.decisions",
    "models.language",
    "models.housing",
)


class DueStatus(enum.StrEnum):
    OK = "ok"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET = "met"


DUE_STATUS_LABELS = {
    DueStatus.OK: N_("OK"),
    DueStatus.DUE_SOON: N_("Due soon"),
    DueStatus.OVERDUE: N_("Overdue"),
    DueStatus.MET: N_("Met"),
}


@dataclass(frozen=True)
class Due:
    """One deadline: the last day (inclusive) on which the event is on time.

    `explanation` is an untranslated msgid interpolated with `params` (legal
    parameters and dates only, never personal data). `source_ref` names the record
    the deadline belongs to (a decision, a plan version) when there is one.
    """

    kind: DeadlineKind
    due_on: date
    met_on: date | None
    rule_id: str
    rule_set: str | None
    explanation: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    source_ref: str | None = None
    overridden: bool = False

    def status(self, today: date, soon_days: int = DUE_SOON_DAYS) -> DueStatus:
        if self.met_on is not None:
            return DueStatus.MET
        if today > self.due_on:
            return DueStatus.OVERDUE
        if self.due_on <= today + timedelta(days=soon_days):
            return DueStatus.DUE_SOON
        return DueStatus.OK


Provider = Callable[["Session", "Participant", date], Iterable[Due]]
_providers: dict[str, Provider] = {}
# A condition on Participant naming those whose next deadline time alone may have moved
# (a contract entering its warning window), for the daily refresh.
TimeTrigger = Callable[[date], Any]
_time_triggers: dict[str, TimeTrigger] = {}


def register_provider(
    name: str, provider: Provider, time_trigger: TimeTrigger | None = None
) -> None:
    """Called once by the module that owns a kind of deadline. A provider whose deadlines
    appear as time passes (not only on writes) also gives `time_trigger`."""
    _providers[name] = provider
    if time_trigger is not None:
        _time_triggers[name] = time_trigger


def _load_providers() -> dict[str, Provider]:
    for module in PROVIDER_MODULES:
        importlib.import_module(module)
    return _providers


def legal_deadlines(session: Session | None, participant: Participant, today: date) -> list[Due]:
    """The rule set's deadlines, with an advisor's override of a date applied."""
    from models import participants as records
    from models.rules import deadlines

    overrides = (
        records.active_overrides(session, participant)
        if session is not None and participant.id
        else {}
    )
    found = []
    for deadline in deadlines(records.facts_of(participant), today):
        override = overrides.get(f"deadline:{deadline.kind}")
        found.append(
            Due(
                kind=deadline.kind,
                due_on=date.fromisoformat(override.value) if override else deadline.due_on,
                met_on=deadline.met_on,
                rule_id=deadline.rule.rule_id,
                rule_set=deadline.rule.rule_set,
                explanation=deadline.rule.explanation,
                params=deadline.rule.params,
                overridden=override is not None,
            )
        )
    return found


def deadlines_for(session: Session | None, participant: Participant, today: date) -> list[Due]:
    """Every deadline of `participant`, sorted by due date (met ones included).

    The caller must already hold a grant to read the participant's record.
    """
    found = legal_deadlines(session, participant, today)
    if session is not None and participant.id is not None:
        for provider in _load_providers().values():
            found.extend(provider(session, participant, today))
    kinds = list(DeadlineKind)
    return sorted(found, key=lambda d: (d.due_on, kinds.index(d.kind), d.source_ref or ""))


def next_unmet(items: Iterable[Due]) -> Due | None:
    return min((d for d in items if d.met_on is None), key=lambda d: d.due_on, default=None)


def frozen_params(**params: Any) -> Mapping[str, Any]:
    return MappingProxyType(params)


def refresh_passed(session: Session, today: date, batch_size: int = 500) -> int:
    """Recompute the stored next deadline where time alone may have moved it.

    The stored value is refreshed on writes; time changes some deadlines too (an appeal
    period that ran out is no longer pending, a housing contract enters its warning
    window). This looks at participants whose stored deadline has passed and those a
    provider's time trigger names. Run daily by the operator (`veiviser deadlines
    refresh`); commits per batch and returns how many participants were looked at.
    """
    from sqlalchemy import or_, select

    from models.participants import Participant, refresh_deadlines

    _load_providers()
    stale = or_(
        Participant.next_deadline_on < today,
        *(trigger(today) for trigger in _time_triggers.values()),
    )

    seen = 0
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(Participant)
                .where(
                    Participant.id > last_id,
                    stale,
                    Participant.anonymised_at.is_(None),
                )
                .order_by(Participant.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return seen
        for participant in batch:
            refresh_deadlines(participant, today)
        session.commit()
        seen += len(batch)
        last_id = batch[-1].id
