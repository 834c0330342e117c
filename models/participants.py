"""The participant record: who the person is, their residence basis, settlement and advisors.

Names, identifiers, birth date, contact details and free text are sealed
(`models.crypto.Encrypted`); what access control, sorting and reports need —
unit, advisors, status, codes and the dates of programme events — stays clear.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.accounts import Role, Unit, User
from models.base import Base, UTCDateTime, Versioned, code_enum, utcnow
from models.codes import Country, ParticipantStatus, PermitCategory, Sex
from models.crypto import Encrypted, Referenced, Sealed, keyring_of, lookup_by_blind_index
from models.errors import N_, DomainError, NotFound, StaleEdit, ValidationFailed
from models.policy import Action, Actor, require, scoped

if TYPE_CHECKING:
    from models.rules import Facts

MAX_NAME = 100
MAX_PHONE = 30
MAX_EMAIL = 254
MAX_ADDRESS = 300
MAX_NOTES = 4000
MAX_MUNICIPALITY = 80
MAX_LANGUAGES = 8
LANGUAGE_CODE_LENGTH = 3

NO_DEADLINE = date(9999, 12, 31)  # the sort key of a participant with no deadline

NATIONAL_ID_DOMAIN = "participants.national_id"
DUF_DOMAIN = "participants.duf_number"


def fold_name(text: str) -> str:
    """Case- and accent-insensitive form of a name for searching ("Ødegård" ~ "odegard")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(folded.replace("ø", "o").replace("æ", "ae").replace("ß", "ss").split())


class Participant(Referenced, Versioned, Base):
    __tablename__ = "participants"
    __table_args__ = (
        Index("ix_participants_unit_deadline_sort", "unit_id", "deadline_sort_on", "id"),
        Index(
            "ix_participants_primary_deadline_sort", "primary_advisor_id", "deadline_sort_on", "id"
        ),
        # Every column the unit dashboard counts a unit's participants by, so its grouped
        # read is an index-only scan instead of a visit to each wide (sealed) row.
        Index(
            "ix_participants_unit_dashboard",
            "unit_id",
            "primary_advisor_id",
            "status",
            "next_deadline_on",
            "is_restricted",
            "anonymised_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[Country] = mapped_column(code_enum(Country, 2), default=Country.NORWAY)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    primary_advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    secondary_advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[ParticipantStatus] = mapped_column(
        code_enum(ParticipantStatus, 30), default=ParticipantStatus.REGISTERED, index=True
    )

    # -- sealed personal data ------------------------------------------------
    given_name_sealed: Mapped[bytes | None] = mapped_column("given_name", Sealed)
    given_name = Encrypted("given_name_sealed")
    family_name_sealed: Mapped[bytes | None] = mapped_column("family_name", Sealed)
    family_name = Encrypted("family_name_sealed")
    preferred_name_sealed: Mapped[bytes | None] = mapped_column("preferred_name", Sealed)
    preferred_name = Encrypted("preferred_name_sealed")
    # All names folded into one value, so a name search opens one value per row.
    search_name_sealed: Mapped[bytes | None] = mapped_column("search_name", Sealed)
    search_name = Encrypted("search_name_sealed")
    national_id_sealed: Mapped[bytes | None] = mapped_column("national_id", Sealed)
    national_id = Encrypted("national_id_sealed")
    national_id_index: Mapped[int | None] = mapped_column(Integer, index=True)
    duf_number_sealed: Mapped[bytes | None] = mapped_column("duf_number", Sealed)
    duf_number = Encrypted("duf_number_sealed")
    duf_index: Mapped[int | None] = mapped_column(Integer, index=True)
    birth_date_sealed: Mapped[bytes | None] = mapped_column("birth_date", Sealed)
    birth_date_text = Encrypted("birth_date_sealed")
    phone_sealed: Mapped[bytes | None] = mapped_column("phone", Sealed)
    phone = Encrypted("phone_sealed")
    email_sealed: Mapped[bytes | None] = mapped_column("email", Sealed)
    email = Encrypted("email_sealed")
    address_sealed: Mapped[bytes | None] = mapped_column("address", Sealed)
    address = Encrypted("address_sealed")
    notes_sealed: Mapped[bytes | None] = mapped_column("notes", Sealed)
    notes = Encrypted("notes_sealed")

    # -- clear facts -----------------------------------------------------------
    sex: Mapped[Sex] = mapped_column(code_enum(Sex, 10), default=Sex.UNKNOWN)
    languages: Mapped[str | None] = mapped_column(String(40))  # ISO 639 codes, comma-separated
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(LANGUAGE_CODE_LENGTH))
    is_protected_address: Mapped[bool] = mapped_column(Boolean, default=False)
    is_restricted: Mapped[bool] = mapped_column(Boolean, default=False)  # GDPR art. 18
    permit_category: Mapped[PermitCategory | None] = mapped_column(code_enum(PermitCategory, 40))
    permit_granted_on: Mapped[date | None] = mapped_column(Date)
    arrival_on: Mapped[date | None] = mapped_column(Date)
    settlement_municipality: Mapped[str | None] = mapped_column(String(MAX_MUNICIPALITY))
    settlement_on: Mapped[date | None] = mapped_column(Date)
    competence_mapping_on: Mapped[date | None] = mapped_column(Date)
    programme_decision_on: Mapped[date | None] = mapped_column(Date)
    programme_start_on: Mapped[date | None] = mapped_column(Date)
    programme_end_on: Mapped[date | None] = mapped_column(Date)
    # Derived from the rules and (later) tasks; stored so the caseload sorts in SQL.
    next_deadline_on: Mapped[date | None] = mapped_column(Date)
    next_deadline_kind: Mapped[str | None] = mapped_column(String(40))
    # next_deadline_on with "none" as a far-future date: a sort key that is never NULL,
    # so the (unit, key, id) index hands the caseload its order without sorting.
    deadline_sort_on: Mapped[date] = mapped_column(Date, default=NO_DEADLINE)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Kept for statistics once the rest of the identity is gone (set at anonymisation only).
    anonymised_birth_year: Mapped[int | None] = mapped_column(Integer)

    unit: Mapped[Unit] = relationship(lazy="joined")
    primary_advisor: Mapped[User | None] = relationship(
        foreign_keys=[primary_advisor_id], lazy="joined"
    )
    secondary_advisor: Mapped[User | None] = relationship(
        foreign_keys=[secondary_advisor_id], lazy="joined"
    )

    @property
    def birth_date(self) -> date | None:
        text = self.birth_date_text
        return date.fromisoformat(text) if text else None

    @property
    def display_name(self) -> str:
        """How the person is addressed: the preferred name if given, else given + family."""
        if self.anonymised_at is not None:
            return "—"
        given = self.preferred_name or self.given_name or ""
        return " ".join(part for part in (given, self.family_name or "") if part) or "—"

    @property
    def language_codes(self) -> list[str]:
        return [code for code in (self.languages or "").split(",") if code]

    def advisor_ids(self) -> set[int]:
        return {i for i in (self.primary_advisor_id, self.secondary_advisor_id) if i is not None}


class ParticipantChange(Referenced, Base):
    """Why a record was changed (rectification): which fields, never their values."""

    __tablename__ = "participant_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fields: Mapped[str] = mapped_column(String(400))
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed)
    reason = Encrypted("reason_sealed")


# -- operations --------------------------------------------------------------

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]{5,30}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")
# A settlement may be registered ahead of the day the person moves in.
MAX_SETTLEMENT_AHEAD = timedelta(days=365)

# Field categories for audit events (never values).
IDENTITY_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "national_id",
    "duf_number",
    "birth_date",
    "sex",
)
CONTACT_FIELDS = ("phone", "email", "address", "is_protected_address")
RESIDENCE_FIELDS = (
    "permit_category",
    "permit_granted_on",
    "arrival_on",
    "settlement_municipality",
    "settlement_on",
)
LANGUAGE_FIELDS = ("languages", "interpreter_needed", "interpreter_language")
CATEGORY_OF = {
    **{f: "identity" for f in IDENTITY_FIELDS},
    **{f: "contact" for f in CONTACT_FIELDS},
    **{f: "residence" for f in RESIDENCE_FIELDS},
    **{f: "languages" for f in LANGUAGE_FIELDS},
    "notes": "notes",
    "country": "residence",
}


@dataclass
class ParticipantInput:
    """What a registration or edit form hands to the domain, already typed."""

    country: Country = Country.NORWAY
    given_name: str = ""
    family_name: str = ""
    preferred_name: str = ""
    national_id: str = ""
    duf_number: str = ""
    birth_date: date | None = None
    sex: Sex = Sex.UNKNOWN
    phone: str = ""
    email: str = ""
    address: str = ""
    is_protected_address: bool = False
    languages: list[str] = field(default_factory=list)
    interpreter_needed: bool = False
    interpreter_language: str = ""
    permit_category: PermitCategory | None = None
    permit_granted_on: date | None = None
    arrival_on: date | None = None
    settlement_municipality: str = ""
    settlement_on: date | None = None
    notes: str = ""


@dataclass(frozen=True)
class CleanInput:
    """Validated and normalised values, ready to store."""

    values: dict[str, object]
    national_id: str | None
    duf_number: str | None


class DuplicateParticipant(DomainError):
    """Someone with the same national ID or DUF number is already registered.

    `existing` is set only when the user may see that record; otherwise only the
    unit to contact is named.
    """

    status_code = 409

    def __init__(
        self,
        field_name: str,
        existing: Participant | None,
        contact_unit: str | None,
        can_break_glass: bool,
    ) -> None:
        if existing is not None:
            message = N_("This person is already registered.")
        else:
            message = N_(
                "This person is already registered in another caseload. Contact the leader "
                "of %(unit)s."
            )
        super().__init__(message, unit=contact_unit or "")
        self.field = field_name
        self.existing = existing
        self.contact_unit = contact_unit
        self.can_break_glass = can_break_glass


def _text(
    value: str,
    max_length: int,
    field_name: str,
    *,
    required: bool = False,
    missing: str | None = None,
) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise ValidationFailed(missing or N_("This field is required."), field_name)
    if len(value) > max_length:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), field_name, max=max_length
        )
    return value


def clean_input(data: ParticipantInput, today: date, *, allow_synthetic_ids: bool) -> CleanInput:
    """Validate a whole form's worth of participant data; the first problem raises."""
    from models.identity import check_birth_date_matches, normalise_duf, parse_national_id

    given = _text(data.given_name, MAX_NAME, "given_name")
    family = _text(data.family_name, MAX_NAME, "family_name")
    if not given and not family:
        raise ValidationFailed(N_("Enter the person's given name or family name."), "given_name")
    preferred = _text(data.preferred_name, MAX_NAME, "preferred_name")

    national_id = None
    birth_date = data.birth_date
    raw_id = "".join((data.national_id or "").split())
    if raw_id:
        parsed = parse_national_id(
            raw_id, data.country.value, allow_synthetic=allow_synthetic_ids, today=today
        )
        national_id = parsed.normalised
        if birth_date is None:
            birth_date = parsed.birth_date
        else:
            check_birth_date_matches(parsed, birth_date)
    duf = normalise_duf(data.duf_number) if (data.duf_number or "").strip() else None
    if national_id is None and duf is None:
        raise ValidationFailed(
            N_("Enter a national identity number or a DUF number."), "national_id"
        )
    if birth_date is None:
        raise ValidationFailed(N_("Enter the date of birth."), "birth_date")
    if birth_date > today:
        raise ValidationFailed(N_("The date of birth cannot be in the future."), "birth_date")
    if birth_date.year < today.year - 120:
        raise ValidationFailed(N_("Check the date of birth."), "birth_date")

    email = _text(data.email, MAX_EMAIL, "email")
    if email and not EMAIL_PATTERN.match(email):
        raise ValidationFailed(N_("Enter a valid e-mail address."), "email")
    phone = _text(data.phone, MAX_PHONE, "phone")
    if phone and not PHONE_PATTERN.match(phone):
        raise ValidationFailed(
            N_("Enter a phone number with digits, spaces and an optional + in front."), "phone"
        )
    address = _text(data.address, MAX_ADDRESS, "address")
    notes = (data.notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), "notes", max=MAX_NOTES
        )
    languages = [code.strip().lower() for code in data.languages if code.strip()]
    if len(languages) > MAX_LANGUAGES or any(not LANGUAGE_PATTERN.match(c) for c in languages):
        raise ValidationFailed(N_("Choose languages from the list."), "languages")
    interpreter_language = (data.interpreter_language or "").strip().lower()
    if interpreter_language and not LANGUAGE_PATTERN.match(interpreter_language):
        raise ValidationFailed(N_("Choose a language from the list."), "interpreter_language")
    if data.interpreter_needed and not interpreter_language:
        raise ValidationFailed(
            N_("Choose the language the interpreter should speak."), "interpreter_language"
        )
    municipality = _text(data.settlement_municipality, MAX_MUNICIPALITY, "settlement_municipality")

    _check_dates(birth_date, data, today)
    values: dict[str, object] = {
        "country": data.country,
        "given_name": given or None,
        "family_name": family or None,
        "preferred_name": preferred or None,
        "birth_date_text": birth_date.isoformat(),
        "sex": data.sex,
        "phone": phone or None,
        "email": email or None,
        "address": address or None,
        "is_protected_address": bool(data.is_protected_address),
        "languages": ",".join(dict.fromkeys(languages)) or None,
        "interpreter_needed": bool(data.interpreter_needed),
        "interpreter_language": interpreter_language or None,
        "permit_category": data.permit_category,
        "permit_granted_on": data.permit_granted_on,
        "arrival_on": data.arrival_on,
        "settlement_municipality": municipality or None,
        "settlement_on": data.settlement_on,
        "notes": notes or None,
    }
    return CleanInput(values, national_id, duf)


def _check_dates(birth_date: date, data: ParticipantInput, today: date) -> None:
    if data.arrival_on is not None:
        if data.arrival_on < birth_date:
            raise ValidationFailed(
                N_("The arrival date is before the date of birth."), "arrival_on"
            )
        if data.arrival_on > today:
            raise ValidationFailed(N_("The arrival date cannot be in the future."), "arrival_on")
    if data.permit_granted_on is not None:
        if data.permit_granted_on < birth_date:
            raise ValidationFailed(
                N_("The permit date is before the date of birth."), "permit_granted_on"
            )
        if data.permit_granted_on > today:
            raise ValidationFailed(
                N_("The permit date cannot be in the future."), "permit_granted_on"
            )
    if data.settlement_on is not None:
        if data.arrival_on is not None and data.settlement_on < data.arrival_on:
            raise ValidationFailed(
                N_("Settlement cannot be before arrival in the country."), "settlement_on"
            )
        if data.permit_granted_on is not None and data.settlement_on < data.permit_granted_on:
            raise ValidationFailed(
                N_("Settlement cannot be before the residence permit was granted."),
                "settlement_on",
            )
        if data.settlement_on > today + MAX_SETTLEMENT_AHEAD:
            raise ValidationFailed(
                N_("The settlement date is more than a year ahead."), "settlement_on"
            )


def _find_duplicate(
    session: Session, user: User | None, clean: CleanInput, exclude_id: int | None
) -> None:
    checks = (
        (
            "national_id",
            clean.national_id,
            Participant.national_id_index,
            Participant.national_id,
            NATIONAL_ID_DOMAIN,
        ),
        ("duf_number", clean.duf_number, Participant.duf_index, Participant.duf_number, DUF_DOMAIN),
    )
    for field_name, value, column, encrypted, domain in checks:
        if value is None:
            continue
        stmt = select(Participant).where(Participant.anonymised_at.is_(None))
        if exclude_id is not None:
            stmt = stmt.where(Participant.id != exclude_id)
        found = lookup_by_blind_index(session, stmt, column, encrypted, domain, value)
        if not found:
            continue
        existing = found[0]
        visible = user is not None and _may(user, Action.PARTICIPANT_READ, existing)
        can_break_glass = (
            not visible and user is not None and _may(user, Action.BREAK_GLASS, existing)
        )
        raise DuplicateParticipant(
            field_name,
            existing if visible or can_break_glass else None,
            existing.unit.name,
            can_break_glass,
        )


def _may(user: User, action: Action, participant: Participant) -> bool:
    try:
        require(user, action, participant)
    except DomainError:
        return False
    return True


def _apply(session: Session, participant: Participant, clean: CleanInput) -> set[str]:
    """Write the clean values; returns the names of the fields that changed."""
    changed: set[str] = set()
    for name, value in clean.values.items():
        if getattr(participant, name) != value:
            setattr(participant, name, value)
            changed.add("birth_date" if name == "birth_date_text" else name)
    keyring = keyring_of(session)
    for name, value, index_attr, domain in (
        ("national_id", clean.national_id, "national_id_index", NATIONAL_ID_DOMAIN),
        ("duf_number", clean.duf_number, "duf_index", DUF_DOMAIN),
    ):
        if getattr(participant, name) != value:
            setattr(participant, name, value)
            setattr(
                participant,
                index_attr,
                keyring.blind_index(session, domain, value) if value is not None else None,
            )
            changed.add(name)
    search = fold_name(
        " ".join(
            str(clean.values.get(k) or "") for k in ("given_name", "family_name", "preferred_name")
        )
    )
    if participant.search_name != search:
        participant.search_name = search
    return changed


def _categories(changed: set[str]) -> tuple[str, ...]:
    return tuple(sorted({CATEGORY_OF.get(name, name) for name in changed}))


def _check_advisor(user: User | None, unit_id: int, field_name: str) -> None:
    if user is None or not user.is_active or not user.has_role(Role.ADVISOR, unit_id):
        raise ValidationFailed(N_("Choose an advisor of the participant's unit."), field_name)


def register(
    session: Session,
    actor: Actor,
    data: ParticipantInput,
    *,
    unit: Unit,
    primary_advisor: User | None,
    today: date,
    allow_synthetic_ids: bool = False,
) -> Participant:
    """Register a newcomer in `unit`. An advisor registers into their own caseload."""
    assert actor.user is not None
    grant = require(actor.user, Action.PARTICIPANT_CREATE)
    if not (
        actor.user.has_role(Role.ADVISOR, unit.id) or actor.user.has_role(Role.LEADER, unit.id)
    ):
        raise ValidationFailed(N_("You can register participants only in your own units."), "unit")
    grant = type(grant)(grant.role, unit.id)
    clean = clean_input(data, today, allow_synthetic_ids=allow_synthetic_ids)
    _find_duplicate(session, actor.user, clean, exclude_id=None)
    advisor = primary_advisor
    if advisor is None and actor.user.has_role(Role.ADVISOR, unit.id):
        advisor = actor.user
    if advisor is not None:
        _check_advisor(advisor, unit.id, "primary_advisor")
    participant = Participant(unit_id=unit.id, primary_advisor_id=advisor.id if advisor else None)
    session.add(participant)
    session.flush()
    changed = _apply(session, participant, clean)
    refresh_deadlines(participant, today)
    session.flush()
    actor.record(
        session,
        "participant.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=_categories(changed),
    )
    return participant


def update(
    session: Session,
    actor: Actor,
    participant: Participant,
    expected_version: int,
    data: ParticipantInput,
    *,
    reason: str,
    today: date,
    allow_synthetic_ids: bool = False,
) -> set[str]:
    """Correct or complete the record (rectification); every change needs a reason."""
    assert actor.user is not None
    grant = actor.authorise(Action.PARTICIPANT_EDIT, participant)
    if participant.version != expected_version:
        raise StaleEdit()
    clean = clean_input(data, today, allow_synthetic_ids=allow_synthetic_ids)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(N_("Say briefly why the record is changed."), "reason")
    if len(reason) > 500:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), "reason", max=500
        )
    _find_duplicate(session, actor.user, clean, exclude_id=participant.id)
    changed = _apply(session, participant, clean)
    if not changed:
        return changed
    refresh_deadlines(participant, today)
    change = ParticipantChange(
        participant_id=participant.id,
        changed_by_id=actor.user.id,
        fields=",".join(sorted(changed)),
    )
    change.reason = reason
    session.add(change)
    actor.record(
        session,
        "participant.update",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=_categories(changed),
    )
    return changed


def reassign(
    session: Session,
    actor: Actor,
    participant: Participant,
    primary: User | None,
    secondary: User | None,
) -> None:
    """A leader moves a participant to other advisors; effective on their next request."""
    grant = actor.authorise(Action.PARTICIPANT_REASSIGN, participant)
    if primary is not None:
        _check_advisor(primary, participant.unit_id, "primary_advisor")
    if secondary is not None:
        _check_advisor(secondary, participant.unit_id, "secondary_advisor")
        if primary is not None and secondary.id == primary.id:
            raise ValidationFailed(
                N_("The secondary advisor must be someone else than the primary."),
                "secondary_advisor",
            )
    participant.primary_advisor_id = primary.id if primary else None
    participant.secondary_advisor_id = secondary.id if secondary else None
    actor.record(
        session,
        "participant.reassign",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("advisors",),
    )


def facts_of(participant: Participant) -> Facts:
    """What the rule set needs to know about a participant."""
    from models.rules import Facts

    return Facts(
        country=participant.country,
        birth_date=participant.birth_date,
        permit_category=participant.permit_category,
        settlement_date=participant.settlement_on,
        arrival_date=participant.arrival_on,
        programme_decision_on=participant.programme_decision_on,
        programme_start_on=participant.programme_start_on,
        competence_mapping_on=participant.competence_mapping_on,
        permit_granted_on=participant.permit_granted_on,
    )


def refresh_deadlines(participant: Participant, today: date) -> None:
    """Store the next unmet deadline, so the caseload can sort by it in SQL.

    Call after any change that moves a deadline (the record, the plan, a decision).
    """
    from sqlalchemy.orm import object_session

    from models.deadlines import deadlines_for, next_unmet

    upcoming = next_unmet(deadlines_for(object_session(participant), participant, today))
    participant.next_deadline_on = upcoming.due_on if upcoming else None
    participant.next_deadline_kind = str(upcoming.kind) if upcoming else None
    participant.deadline_sort_on = upcoming.due_on if upcoming else NO_DEADLINE


def get_by_ref(session: Session, ref: str) -> Participant:
    participant = session.scalar(select(Participant).where(Participant.ref == ref))
    if participant is None:
        raise NotFound()
    return participant


def caseload_query(
    user: User,
    *,
    advisor_id: int | None = None,
    status: ParticipantStatus | None = None,
    mine_only: bool = False,
) -> Select[tuple[Participant]]:
    """The caller's scoped list, sorted by the next deadline (none last)."""
    stmt = scoped(select(Participant), user, Action.PARTICIPANT_LIST, Participant)
    stmt = stmt.where(Participant.anonymised_at.is_(None))
    if mine_only:
        stmt = stmt.where(
            (Participant.primary_advisor_id == user.id)
            | (Participant.secondary_advisor_id == user.id)
        )
    if advisor_id is not None:
        stmt = stmt.where(
            (Participant.primary_advisor_id == advisor_id)
            | (Participant.secondary_advisor_id == advisor_id)
        )
    if status is not None:
        stmt = stmt.where(Participant.status == status)
    return stmt.order_by(Participant.deadline_sort_on, Participant.id)


def search_by_name(
    session: Session, stmt: Select[tuple[Participant]], query: str, limit: int = 200
) -> list[int]:
    """Ids of participants in `stmt`'s scope whose names contain every word of `query`.

    Names are sealed, so this decrypts one folded-name value per row of the
    caller's scope — never outside it — reading plain columns, not whole objects.
    """
    words = fold_name(query).split()
    if not words:
        return []
    subquery = stmt.with_only_columns(
        Participant.id, Participant.ref, Participant.search_name_sealed
    ).order_by(None)
    keyring = keyring_of(session)
    matches: list[int] = []
    for ident, ref, sealed in session.execute(subquery):
        if sealed is None:
            continue
        name = keyring.open(session, sealed, "participants", "search_name", ref)
        if all(word in name for word in words):
            matches.append(ident)
            if len(matches) >= limit:
                break
    return matches


def find_by_identifier(session: Session, raw: str, country: Country) -> list[Participant]:
    """Participants (unscoped) with this national ID or DUF number; the caller scopes."""
    from models.identity import normalise_duf, parse_national_id

    value = "".join(raw.split())
    found: list[Participant] = []
    base = select(Participant).where(Participant.anonymised_at.is_(None))
    try:
        parsed = parse_national_id(value, country.value, allow_synthetic=True)
    except ValidationFailed:
        parsed = None
    if parsed is not None:
        found += lookup_by_blind_index(
            session,
            base,
            Participant.national_id_index,
            Participant.national_id,
            NATIONAL_ID_DOMAIN,
            parsed.normalised,
        )
    try:
        duf = normalise_duf(value)
    except ValidationFailed:
        duf = None
    if duf is not None:
        found += lookup_by_blind_index(
            session,
            base,
            Participant.duf_index,
            Participant.duf_number,
            DUF_DOMAIN,
            duf,
        )
    return list(dict.fromkeys(found))


# -- overriding a computed rule result -------------------------------------------

OVERRIDE_SUBJECTS = {
    "programme_entitlement": N_("Right and duty to the programme"),
    "language_entitlement": N_("Right to language training"),
    "municipality_limit": N_("Within the time limit after settlement"),
    "deadline:competence_mapping": N_("Deadline: competence mapping"),
    "deadline:programme_decision": N_("Deadline: programme decision"),
    "deadline:programme_start": N_("Deadline: programme start"),
    "deadline:sfi_start": N_("Deadline: start of SFI"),
}
MAX_OVERRIDE_REASON = 1000


class RuleOverride(Referenced, Base):
    """An advisor's decision that replaces a computed result, with the reason for it."""

    __tablename__ = "rule_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(20))  # "yes" / "no", or an ISO date
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed)
    reason = Encrypted("reason_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def as_value(self) -> bool | date:
        if self.subject.startswith("deadline:"):
            return date.fromisoformat(self.value)
        return self.value == "yes"


def active_overrides(session: Session, participant: Participant) -> dict[str, RuleOverride]:
    rows = session.scalars(
        select(RuleOverride)
        .where(RuleOverride.participant_id == participant.id, RuleOverride.revoked_at.is_(None))
        .order_by(RuleOverride.created_at)
    )
    return {row.subject: row for row in rows}


def override_rule(
    session: Session,
    actor: Actor,
    participant: Participant,
    *,
    subject: str,
    value: str,
    reason: str,
    today: date,
) -> RuleOverride:
    """Replace a computed result; the earlier override of the same subject is revoked."""
    grant = actor.authorise(Action.PARTICIPANT_EDIT, participant)
    if subject not in OVERRIDE_SUBJECTS:
        raise ValidationFailed(N_("Choose what to override from the list."), "subject")
    value = (value or "").strip()
    if subject.startswith("deadline:"):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValidationFailed(
                N_("Enter the new deadline as a date (YYYY-MM-DD)."), "value"
            ) from None
    else:
        # The form is shown in bokmål, Swedish or English; the stored value is not.
        answer = {"yes": "yes", "ja": "yes", "no": "no", "nei": "no", "nej": "no"}.get(
            value.casefold()
        )
        if answer is None:
            raise ValidationFailed(N_("Choose yes or no."), "value")
        value = answer
    reason = " ".join((reason or "").split())
    if len(reason) < 10:
        raise ValidationFailed(
            N_("Explain the override (at least %(min)d characters)."), "reason", min=10
        )
    if len(reason) > MAX_OVERRIDE_REASON:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."),
            "reason",
            max=MAX_OVERRIDE_REASON,
        )
    previous = active_overrides(session, participant).get(subject)
    if previous is not None:
        previous.revoked_at = utcnow()
    override = RuleOverride(
        participant_id=participant.id,
        subject=subject,
        value=value,
        created_by_id=actor.user.id if actor.user else None,
    )
    override.reason = reason
    session.add(override)
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "rule.override",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=(f"rule:{subject}",),
    )
    return override


def revoke_override(
    session: Session, actor: Actor, participant: Participant, override_ref: str, today: date
) -> None:
    grant = actor.authorise(Action.PARTICIPANT_EDIT, participant)
    override = session.scalar(
        select(RuleOverride).where(
            RuleOverride.ref == override_ref, RuleOverride.participant_id == participant.id
        )
    )
    if override is None:
        raise NotFound()
    if override.revoked_at is None:
        override.revoked_at = utcnow()
        session.flush()
        refresh_deadlines(participant, today)
    actor.record(
        session,
        "rule.override_revoke",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=(f"rule:{override.subject}",),
    )
