"""Housing: addresses, contracts and housing follow-up (boveiledning).

A participant has a **housing history**: one row per dwelling, with the type, the
municipality, the contract period and the household size in clear columns (the
leader's overview counts them in SQL), and the address, the landlord's contact and
the adaptations needed sealed (an address locates a person; adaptations often speak
of health). The housing without a move-out date is the current one; recording a new
current housing ends the previous one on the day the new contract starts.

A current housing whose contract ends within the rule set's
`housing_contract_warning_days` appears among the participant's deadlines.

**Housing notes** (boveiledning) are dated, sealed notes of a visit or a call, with up
to three next actions that become tasks.

Who may do what: the participant's assigned advisors record and correct housing and
notes (`Action.HOUSING_WRITE`); reading is `PARTICIPANT_READ` plus the record's
housing section, which the view checks. The leader's overview (`unit_figures`) gives
counts only, for the units the user leads.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Table,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.accounts import Role, Unit, User
from models.base import Base, UTCDateTime, Versioned, code_enum, utcnow
from models.codes import Country
from models.crypto import Encrypted, Referenced, Sealed
from models.deadlines import Due, frozen_params, register_provider
from models.errors import N_, NotFound, StaleEdit, ValidationFailed
from models.participants import MAX_MUNICIPALITY, Participant, refresh_deadlines
from models.policy import Action, Actor
from models.rules import DeadlineKind, NoRuleSet, RuleSet, rule_set_for
from models.tasks import (
    NextAction,
    Task,
    clean_next_actions,
    new_task,
)

MAX_ADDRESS = 300
MAX_LANDLORD = 500
MAX_ADAPTATIONS = 2000
MAX_NOTE = 8000
MAX_HOUSEHOLD = 30
# Not law: a date further back or ahead than this is almost certainly a typing error.
MAX_PAST = timedelta(days=30 * 366)
MAX_AHEAD = timedelta(days=10 * 366)
MAX_NOTE_AGE = timedelta(days=5 * 366)
OVERVIEW_NOTES = 3


class HousingType(enum.StrEnum):
    MUNICIPAL = "municipal"
    MUNICIPAL_SUBLET = "municipal_sublet"
    PRIVATE_RENTAL = "private_rental"
    OWN_HOME = "own_home"
    TEMPORARY = "temporary"


HOUSING_TYPE_LABELS = {
    HousingType.MUNICIPAL: N_("Municipal dwelling"),
    HousingType.MUNICIPAL_SUBLET: N_("Municipal sublet of a private rental"),
    HousingType.PRIVATE_RENTAL: N_("Private rental"),
    HousingType.OWN_HOME: N_("Own home"),
    HousingType.TEMPORARY: N_("Temporary housing"),
}


class HousingNoteKind(enum.StrEnum):
    HOME_VISIT = "home_visit"
    MEETING = "meeting"
    PHONE = "phone"
    WITH_LANDLORD = "with_landlord"


HOUSING_NOTE_KIND_LABELS = {
    HousingNoteKind.HOME_VISIT: N_("Home visit"),
    HousingNoteKind.MEETING: N_("Meeting"),
    HousingNoteKind.PHONE: N_("Phone call"),
    HousingNoteKind.WITH_LANDLORD: N_("With the landlord"),
}


class Housing(Referenced, Versioned, Base):
    """One dwelling of a participant; current while it has no move-out date."""

    __tablename__ = "housings"
    __table_args__ = (
        Index("ix_housings_participant_start", "participant_id", "contract_start_on"),
        # The leader's overview and the deadline look at current housing only.
        Index("ix_housings_moved_out_contract_end", "moved_out_on", "contract_end_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    housing_type: Mapped[HousingType] = mapped_column(code_enum(HousingType, 30))
    municipality: Mapped[str] = mapped_column(String(MAX_MUNICIPALITY))
    household_size: Mapped[int] = mapped_column(Integer)
    contract_start_on: Mapped[date] = mapped_column(Date)
    contract_end_on: Mapped[date | None] = mapped_column(Date)
    moved_out_on: Mapped[date | None] = mapped_column(Date)
    address_sealed: Mapped[bytes | None] = mapped_column("address", Sealed)
    address = Encrypted("address_sealed")
    # A private landlord is a person outside Veiviser: name, phone, e-mail.
    landlord_sealed: Mapped[bytes | None] = mapped_column("landlord", Sealed)
    landlord = Encrypted("landlord_sealed")
    # Often health ("ground floor, wheelchair"): sealed free text.
    adaptations_sealed: Mapped[bytes | None] = mapped_column("adaptations", Sealed)
    adaptations = Encrypted("adaptations_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_current(self) -> bool:
        return self.moved_out_on is None


housing_note_tasks = Table(
    "housing_note_tasks",
    Base.metadata,
    Column("note_id", ForeignKey("housing_notes.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
)


class HousingNote(Referenced, Versioned, Base):
    """One housing follow-up (boveiledning): a dated, sealed note and its next actions."""

    __tablename__ = "housing_notes"
    __table_args__ = (Index("ix_housing_notes_participant_noted", "participant_id", "noted_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    noted_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[HousingNoteKind] = mapped_column(code_enum(HousingNoteKind, 30))
    note_sealed: Mapped[bytes | None] = mapped_column("note", Sealed)
    note = Encrypted("note_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    tasks: Mapped[list[Task]] = relationship(
        secondary=housing_note_tasks, order_by=(Task.due_on, Task.id)
    )

    @property
    def first_line(self) -> str:
        text = (self.note or "").strip()
        first = text.splitlines()[0] if text else ""
        return first if len(first) <= 120 else first[:119] + "…"


# -- inputs ---------------------------------------------------------------------------


@dataclass
class HousingInput:
    """What the housing form (or the demo loader) hands to the domain, already typed."""

    housing_type: HousingType | None = None
    municipality: str = ""
    address: str = ""
    landlord: str = ""
    household_size: int | None = None
    adaptations: str = ""
    contract_start_on: date | None = None
    contract_end_on: date | None = None
    moved_out_on: date | None = None


@dataclass
class HousingNoteInput:
    """What the housing-note form hands to the domain; empty next-action rows are skipped."""

    noted_on: date | None = None
    kind: HousingNoteKind | None = None
    note: str = ""
    next_actions: list[NextAction] = field(default_factory=list)


def _text(value: str, limit: int, field_name: str, *, one_line: bool = True) -> str:
    text = " ".join((value or "").split()) if one_line else (value or "").strip()
    if len(text) > limit:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), field_name, max=limit
        )
    return text


def _clean_housing(data: HousingInput, today: date) -> dict[str, Any]:
    if data.housing_type is None:
        raise ValidationFailed(N_("Choose the type of housing."), "housing_type")
    municipality = _text(data.municipality, MAX_MUNICIPALITY, "municipality")
    if not municipality:
        raise ValidationFailed(N_("Enter the municipality."), "municipality")
    address = _text(data.address, MAX_ADDRESS, "address", one_line=False)
    if not address:
        raise ValidationFailed(N_("Enter the address."), "address")
    landlord = _text(data.landlord, MAX_LANDLORD, "landlord", one_line=False)
    adaptations = _text(data.adaptations, MAX_ADAPTATIONS, "adaptations", one_line=False)
    if data.household_size is None:
        raise ValidationFailed(N_("Enter how many people live in the household."), "household_size")
    if not 1 <= data.household_size <= MAX_HOUSEHOLD:
        raise ValidationFailed(
            N_("The household has between 1 and %(max)d people."),
            "household_size",
            max=MAX_HOUSEHOLD,
        )
    start = data.contract_start_on
    if start is None:
        raise ValidationFailed(N_("Enter the date the contract starts."), "contract_start_on")
    if start < today - MAX_PAST or start > today + MAX_AHEAD:
        raise ValidationFailed(N_("Check the year of the contract start."), "contract_start_on")
    end = data.contract_end_on
    if end is not None:
        if end <= start:
            raise ValidationFailed(N_("The contract must end after it starts."), "contract_end_on")
        if end > today + MAX_AHEAD:
            raise ValidationFailed(N_("Check the year of the contract end."), "contract_end_on")
    moved = data.moved_out_on
    if moved is not None:
        if moved < start:
            raise ValidationFailed(
                N_("The move-out date cannot be before the contract starts."), "moved_out_on"
            )
        if moved > today:
            raise ValidationFailed(N_("The move-out date cannot be in the future."), "moved_out_on")
    return {
        "housing_type": data.housing_type,
        "municipality": municipality,
        "household_size": data.household_size,
        "contract_start_on": start,
        "contract_end_on": end,
        "moved_out_on": moved,
        "address": address,
        "landlord": landlord or None,
        "adaptations": adaptations or None,
    }


# Audit categories per changed field: never values, only what kind of data changed.
_CATEGORY = {
    "housing_type": "housing",
    "municipality": "housing",
    "household_size": "household",
    "contract_start_on": "contract",
    "contract_end_on": "contract",
    "moved_out_on": "contract",
    "address": "address",
    "landlord": "landlord_contact",
    "adaptations": "adaptations",
}


def _apply(housing: Housing, values: dict[str, Any]) -> set[str]:
    changed = set()
    for name, value in values.items():
        if getattr(housing, name, None) != value:
            setattr(housing, name, value)
            changed.add(name)
    return changed


def _categories(changed: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({_CATEGORY[name] for name in changed}))


def current_housing(session: Session, participant: Participant) -> Housing | None:
    """The housing the participant lives in now (none moved out of), if any."""
    return session.scalar(
        select(Housing)
        .where(Housing.participant_id == participant.id, Housing.moved_out_on.is_(None))
        .order_by(Housing.contract_start_on.desc(), Housing.id.desc())
        .limit(1)
    )


def record_housing(
    session: Session,
    actor: Actor,
    participant: Participant,
    data: HousingInput,
    *,
    today: date,
) -> Housing:
    """Record a housing in the participant's history. Callers: the assigned advisors
    (HOUSING_WRITE). A new current housing ends the previous current one on the day
    the new contract starts; the deadlines are refreshed."""
    grant = actor.authorise(Action.HOUSING_WRITE, participant)
    values = _clean_housing(data, today)
    previous = current_housing(session, participant) if values["moved_out_on"] is None else None
    if previous is not None:
        if values["contract_start_on"] < previous.contract_start_on:
            raise ValidationFailed(
                N_(
                    "The new housing cannot start before the current one did (%(date)s). "
                    "Correct the current housing instead."
                ),
                "contract_start_on",
                date=previous.contract_start_on.isoformat(),
            )
        previous.moved_out_on = values["contract_start_on"]
        previous.updated_at = utcnow()
        previous.updated_by_id = actor.user.id if actor.user else None
    housing = Housing(
        participant_id=participant.id,
        created_by_id=actor.user.id if actor.user else None,
    )
    # Seal before the row is in the session: the object has its ref already.
    changed = _apply(housing, values)
    session.add(housing)
    session.flush()
    refresh_deadlines(participant, today)
    categories = {"housing", *_categories(changed)}
    if previous is not None:
        categories.add("contract")
    actor.record(
        session,
        "housing.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=tuple(sorted(categories)),
    )
    return housing


def update_housing(
    session: Session,
    actor: Actor,
    participant: Participant,
    housing: Housing,
    expected_version: int,
    data: HousingInput,
    *,
    today: date,
) -> set[str]:
    """Correct a housing or record the move-out. Callers: the assigned advisors
    (HOUSING_WRITE). Returns the changed fields (empty: nothing written)."""
    grant = actor.authorise(Action.HOUSING_WRITE, participant)
    if housing.participant_id != participant.id:
        raise NotFound()
    if housing.version != expected_version:
        raise StaleEdit()
    values = _clean_housing(data, today)
    if values["moved_out_on"] is None and housing.moved_out_on is not None:
        other = current_housing(session, participant)
        if other is not None and other.id != housing.id:
            raise ValidationFailed(
                N_(
                    "Another housing is current. Record the move-out from that one first, "
                    "or keep a move-out date here."
                ),
                "moved_out_on",
            )
    changed = _apply(housing, values)
    if not changed:
        return changed
    housing.updated_at = utcnow()
    housing.updated_by_id = actor.user.id if actor.user else None
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "housing.update",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=_categories(changed),
    )
    return changed


# -- housing notes -----------------------------------------------------------------


def _clean_note(data: HousingNoteInput, today: date) -> tuple[date, HousingNoteKind, str]:
    if data.noted_on is None:
        raise ValidationFailed(N_("Enter the date of the housing follow-up."), "noted_on")
    if data.noted_on > today:
        raise ValidationFailed(
            N_("A note is written after the follow-up: the date cannot be in the future."),
            "noted_on",
        )
    if data.noted_on < today - MAX_NOTE_AGE:
        raise ValidationFailed(N_("Check the date: it is more than five years ago."), "noted_on")
    if data.kind is None:
        raise ValidationFailed(N_("Choose the kind of housing follow-up."), "kind")
    note = _text(data.note, MAX_NOTE, "note", one_line=False)
    if not note:
        raise ValidationFailed(N_("Write what the housing follow-up was about."), "note")
    return data.noted_on, data.kind, note


def log_housing_note(
    session: Session,
    actor: Actor,
    participant: Participant,
    data: HousingNoteInput,
    *,
    today: date,
) -> HousingNote:
    """Log a housing follow-up; every filled next-action row becomes a task linked to it.
    Callers: the participant's assigned advisors (HOUSING_WRITE)."""
    grant = actor.authorise(Action.HOUSING_WRITE, participant)
    noted_on, kind, text = _clean_note(data, today)
    actions = clean_next_actions(data.next_actions, participant, today)
    note = HousingNote(
        participant_id=participant.id,
        noted_on=noted_on,
        kind=kind,
        created_by_id=actor.user.id if actor.user else None,
    )
    note.note = text
    session.add(note)
    tasks = [
        new_task(session, actor, participant, title=title, assignee=assignee, due_on=due_on)
        for title, assignee, due_on in actions
    ]
    note.tasks = tasks
    session.flush()
    categories = ["housing_note"]
    if tasks:
        categories.append("tasks")
    actor.record(
        session,
        "housing_note.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=tuple(categories),
    )
    return note


def correct_housing_note(
    session: Session,
    actor: Actor,
    participant: Participant,
    note: HousingNote,
    expected_version: int,
    data: HousingNoteInput,
    *,
    today: date,
) -> set[str]:
    """Correct a housing note (its tasks are worked on separately).
    Callers: the participant's assigned advisors (HOUSING_WRITE)."""
    grant = actor.authorise(Action.HOUSING_WRITE, participant)
    if note.participant_id != participant.id:
        raise NotFound()
    if note.version != expected_version:
        raise StaleEdit()
    noted_on, kind, text = _clean_note(data, today)
    changed = set()
    if note.noted_on != noted_on:
        note.noted_on = noted_on
        changed.add("noted_on")
    if note.kind != kind:
        note.kind = kind
        changed.add("kind")
    if note.note != text:
        note.note = text
        changed.add("note")
    if not changed:
        return changed
    note.updated_at = utcnow()
    note.updated_by_id = actor.user.id if actor.user else None
    session.flush()
    actor.record(
        session,
        "housing_note.update",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("housing_note",),
    )
    return changed


# -- reading -----------------------------------------------------------------------


def history_of(participant: Participant) -> Select[Housing]:
    """Every housing of the participant, latest first (the caller checked the section)."""
    return (
        select(Housing)
        .where(Housing.participant_id == participant.id)
        .order_by(
            Housing.moved_out_on.is_(None).desc(),
            Housing.contract_start_on.desc(),
            Housing.id.desc(),
        )
    )


def get_housing(session: Session, participant: Participant, ref: str) -> Housing:
    housing = session.scalar(
        select(Housing).where(Housing.ref == ref, Housing.participant_id == participant.id)
    )
    if housing is None:
        raise NotFound()
    return housing


def notes_of(participant: Participant) -> Select[HousingNote]:
    """The participant's housing notes, newest first."""
    return (
        select(HousingNote)
        .where(HousingNote.participant_id == participant.id)
        .order_by(HousingNote.noted_on.desc(), HousingNote.id.desc())
    )


def get_note(session: Session, participant: Participant, ref: str) -> HousingNote:
    note = session.scalar(
        select(HousingNote).where(
            HousingNote.ref == ref, HousingNote.participant_id == participant.id
        )
    )
    if note is None:
        raise NotFound()
    return note


def latest_notes(
    session: Session, participant: Participant, limit: int = OVERVIEW_NOTES
) -> list[HousingNote]:
    return list(session.scalars(notes_of(participant).limit(limit)))


# -- the deadlines provider --------------------------------------------------------


def _rules(country: Country, today: date) -> RuleSet | None:
    try:
        return rule_set_for(country, today)
    except NoRuleSet:
        return None


def contract_deadlines(session: Session, participant: Participant, today: date) -> list[Due]:
    """A HOUSING_CONTRACT_END deadline for each current housing whose contract ends within
    the rule set's `housing_contract_warning_days` of `today` (inclusive), or has ended
    while the participant still lives there (then it is overdue). Ended housing is left
    out: the move-out settled it."""
    rs = _rules(participant.country, today)
    if rs is None:
        return []
    horizon = today + timedelta(days=rs.housing_contract_warning_days)
    rows = session.scalars(
        select(Housing)
        .where(
            Housing.participant_id == participant.id,
            Housing.moved_out_on.is_(None),
            Housing.contract_end_on.is_not(None),
            Housing.contract_end_on <= horizon,
        )
        .order_by(Housing.contract_end_on, Housing.id)
    )
    return [
        Due(
            kind=DeadlineKind.HOUSING_CONTRACT_END,
            due_on=housing.contract_end_on,
            met_on=None,
            rule_id=f"{rs.rule_prefix}/housing-contract-end",
            rule_set=rs.version,
            explanation=N_(
                "A housing contract that ends within %(days)d days is shown, so that an "
                "extension or a new home can be arranged in time."
            ),
            params=frozen_params(days=rs.housing_contract_warning_days),
            source_ref=housing.ref,
        )
        for housing in rows
        if housing.contract_end_on is not None
    ]


def contracts_entering_window(today: date) -> Any:
    """Participants whose current contract ends within the warning window but whose stored
    next deadline is later (or none): the daily refresh brings the contract in."""
    from models.rules import RULE_SETS

    days = max(rs.housing_contract_warning_days for rs in RULE_SETS)
    return (
        select(Housing.id)
        .where(
            Housing.participant_id == Participant.id,
            Housing.moved_out_on.is_(None),
            Housing.contract_end_on.between(today, today + timedelta(days=days)),
            or_(
                Participant.next_deadline_on.is_(None),
                Participant.next_deadline_on > Housing.contract_end_on,
            ),
        )
        .exists()
    )


register_provider("housing", contract_deadlines, contracts_entering_window)


# -- the leader's overview: counts only ---------------------------------------------


@dataclass
class UnitFigures:
    """Housing counts of one unit's participants: no addresses, no names."""

    unit_id: int
    unit_name: str
    by_type: dict[HousingType, int] = field(default_factory=dict)
    ending_soon: int = 0
    contract_passed: int = 0
    without_housing: int = 0

    @property
    def current(self) -> int:
        return sum(self.by_type.values())


def _countable(unit_ids: set[int]) -> tuple[ColumnElement[bool], ...]:
    # Restricted (GDPR art. 18) and anonymised records are not processed, not even counted.
    return (
        Participant.unit_id.in_(unit_ids),
        Participant.is_restricted.is_(False),
        Participant.anonymised_at.is_(None),
    )


def unit_figures(session: Session, user: User, today: date) -> list[UnitFigures]:
    """Counts of current housing by type, contracts ending within the warning window (or
    already ended while lived in) and participants without a current housing, for every
    unit `user` leads. Every figure is one aggregate query; nothing is decrypted."""
    unit_ids = user.unit_ids(Role.LEADER)
    if not unit_ids:
        return []
    units = session.scalars(select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.name)).all()
    figures = {u.id: UnitFigures(unit_id=u.id, unit_name=u.name) for u in units}
    current = Housing.moved_out_on.is_(None)
    counted = _countable(unit_ids)
    by_type = session.execute(
        select(Participant.unit_id, Housing.housing_type, func.count(Housing.id))
        .join(Participant, Participant.id == Housing.participant_id)
        .where(current, *counted)
        .group_by(Participant.unit_id, Housing.housing_type)
    ).all()
    for unit_id, housing_type, count in by_type:
        figures[unit_id].by_type[HousingType(housing_type)] = int(count)
    # The warning window is a parameter of each country's rule set.
    horizons = {
        country: today + timedelta(days=rs.housing_contract_warning_days)
        for country in Country
        if (rs := _rules(country, today)) is not None
    }
    if horizons:
        horizon = case(
            *((Participant.country == country, value) for country, value in horizons.items()),
            else_=today,
        )
        ending = session.execute(
            select(
                Participant.unit_id,
                func.count(Housing.id).filter(Housing.contract_end_on < today),
                func.count(Housing.id).filter(Housing.contract_end_on >= today),
            )
            .join(Participant, Participant.id == Housing.participant_id)
            .where(
                current,
                Housing.contract_end_on.is_not(None),
                Housing.contract_end_on <= horizon,
                *counted,
            )
            .group_by(Participant.unit_id)
        ).all()
        for unit_id, passed, soon in ending:
            figures[unit_id].contract_passed = int(passed)
            figures[unit_id].ending_soon = int(soon)
    housed = select(Housing.participant_id).where(current)
    without = session.execute(
        select(Participant.unit_id, func.count(Participant.id))
        .where(
            Participant.id.not_in(housed),
            Participant.programme_end_on.is_(None),
            *counted,
        )
        .group_by(Participant.unit_id)
    ).all()
    for unit_id, count in without:
        figures[unit_id].without_housing = int(count)
    return [figures[u.id] for u in units]
