"""Employers and work placements with evaluations.

The **employer register** is shared by a unit: the advisors and leaders of the unit
read and keep it. An employer is an organisation, so its name, organisation number,
industry and address are clear (the list sorts and counts on them); its contact
persons (name, phone, e-mail) and the notes about it are sealed.

A **placement** puts a participant at an employer, with a supervisor among the
employer's contact persons. Its goals, the evaluations' summaries and next steps are
sealed free text; type, status, dates, hours, ratings and the outcome are codes the
employer list counts in SQL without touching any participant's data.

A placement is offered to the participant's plan as a plan element of the matching
type with its dates and hours (`add_placement_to_plan`, through `models.plans`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    UniqueConstraint,
    false,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

from models.accounts import Role, User
from models.base import Base, UTCDateTime, Versioned, code_enum, utcnow
from models.codes import Country, ElementStatus, PlanElementType
from models.crypto import Encrypted, Referenced, Sealed
from models.errors import N_, Forbidden, NotFound, StaleEdit, ValidationFailed
from models.participants import Participant
from models.policy import Action, Actor, Grant, register_scope, roles_for

MAX_NAME = 200
MAX_INDUSTRY = 120
MAX_ADDRESS = 300
MAX_NOTE = 4000
MAX_CONTACT_NAME = 200
MAX_PHONE = 40
MAX_EMAIL = 254
MAX_CONTACT_ROLE = 120
MAX_GOALS = 8
MAX_GOAL = 300
MAX_GOALS_TEXT = MAX_GOALS * (MAX_GOAL + 1)
MAX_SUMMARY = 4000
MAX_NEXT_STEPS = 2000
MAX_HOURS = 60.0
MAX_DAYS = 7
MIN_RATING = 1
MAX_RATING = 4
# Placements run for months, rarely years; a date far off is a typing error.
MAX_YEARS_AWAY = 10
PLAN_REASON = "Work placement added to the plan"


class PlacementType(enum.StrEnum):
    LANGUAGE_PRACTICE = "language_practice"
    WORK_PRACTICE = "work_practice"
    WAGE_SUBSIDY = "wage_subsidy"
    ORDINARY_JOB = "ordinary_job"
    APPRENTICESHIP = "apprenticeship"
    VOLUNTEER = "volunteer"


PLACEMENT_TYPE_LABELS = {
    PlacementType.LANGUAGE_PRACTICE: N_("Language practice"),
    PlacementType.WORK_PRACTICE: N_("Work practice"),
    PlacementType.WAGE_SUBSIDY: N_("Wage subsidy"),
    PlacementType.ORDINARY_JOB: N_("Ordinary job"),
    PlacementType.APPRENTICESHIP: N_("Apprenticeship"),
    PlacementType.VOLUNTEER: N_("Volunteer work"),
}

# The plan element a placement becomes: an apprenticeship is upper-secondary vocational
# training; an ordinary job or volunteering has no element of its own.
PLAN_ELEMENT_FOR = {
    PlacementType.LANGUAGE_PRACTICE: PlanElementType.LANGUAGE_PRACTICE,
    PlacementType.WORK_PRACTICE: PlanElementType.WORK_PRACTICE,
    PlacementType.WAGE_SUBSIDY: PlanElementType.WAGE_SUBSIDY,
    PlacementType.ORDINARY_JOB: PlanElementType.OTHER,
    PlacementType.APPRENTICESHIP: PlanElementType.UPPER_SECONDARY,
    PlacementType.VOLUNTEER: PlanElementType.OTHER,
}


class PlacementStatus(enum.StrEnum):
    PLANNED = "planned"
    ONGOING = "ongoing"
    ENDED = "ended"
    CANCELLED = "cancelled"


PLACEMENT_STATUS_LABELS = {
    PlacementStatus.PLANNED: N_("Planned"),
    PlacementStatus.ONGOING: N_("Ongoing"),
    PlacementStatus.ENDED: N_("Ended"),
    PlacementStatus.CANCELLED: N_("Cancelled"),
}

ELEMENT_STATUS_FOR = {
    PlacementStatus.PLANNED: ElementStatus.PLANNED,
    PlacementStatus.ONGOING: ElementStatus.ONGOING,
    PlacementStatus.ENDED: ElementStatus.DONE,
    PlacementStatus.CANCELLED: ElementStatus.CANCELLED,
}


class JobOutcome(enum.StrEnum):
    """Did the placement lead to a job offer?"""

    UNKNOWN = "unknown"
    YES = "yes"
    NO = "no"


JOB_OUTCOME_LABELS = {
    JobOutcome.UNKNOWN: N_("Not known yet"),
    JobOutcome.YES: N_("Led to a job offer"),
    JobOutcome.NO: N_("Did not lead to a job offer"),
}


class AgreementKind(enum.StrEnum):
    PLACEMENT = "placement"
    COOPERATION = "cooperation"
    WAGE_SUBSIDY = "wage_subsidy"
    OTHER = "other"


AGREEMENT_KIND_LABELS = {
    AgreementKind.PLACEMENT: N_("Placement agreement"),
    AgreementKind.COOPERATION: N_("Cooperation agreement"),
    AgreementKind.WAGE_SUBSIDY: N_("Wage subsidy agreement"),
    AgreementKind.OTHER: N_("Other agreement"),
}

RATING_LABELS = {
    1: N_("1 – not reached"),
    2: N_("2 – partly reached"),
    3: N_("3 – mostly reached"),
    4: N_("4 – fully reached"),
}


# -- models ------------------------------------------------------------------------------


class Employer(Referenced, Versioned, Base):
    """An organisation in a unit's employer register."""

    __tablename__ = "employers"
    __table_args__ = (
        UniqueConstraint("unit_id", "org_number", name="uq_employers_unit_org_number"),
        Index("ix_employers_unit_name", "unit_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    country: Mapped[Country] = mapped_column(code_enum(Country, 2), default=Country.NORWAY)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    # Compact digits, validated for the employer's country; empty when not (yet) known.
    org_number: Mapped[str | None] = mapped_column(String(20))
    industry: Mapped[str | None] = mapped_column(String(MAX_INDUSTRY))
    address: Mapped[str | None] = mapped_column(String(MAX_ADDRESS))
    notes_sealed: Mapped[bytes | None] = mapped_column("notes", Sealed)
    notes = Encrypted("notes_sealed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[EmployerContact]] = relationship(
        back_populates="employer", order_by="EmployerContact.id", cascade="all, delete-orphan"
    )
    agreements: Mapped[list[EmployerAgreement]] = relationship(
        back_populates="employer",
        order_by="EmployerAgreement.valid_from.desc()",
        cascade="all, delete-orphan",
    )

    @property
    def org_number_display(self) -> str:
        if not self.org_number:
            return ""
        module = se_orgnr if self.country is Country.SWEDEN else no_orgnr
        return str(module.format(self.org_number))


class EmployerContact(Referenced, Versioned, Base):
    """A contact person at an employer; can be a placement's supervisor."""

    __tablename__ = "employer_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(
        ForeignKey("employers.id", ondelete="CASCADE"), index=True
    )
    name_sealed: Mapped[bytes | None] = mapped_column("name", Sealed)
    name = Encrypted("name_sealed")
    phone_sealed: Mapped[bytes | None] = mapped_column("phone", Sealed)
    phone = Encrypted("phone_sealed")
    email_sealed: Mapped[bytes | None] = mapped_column("email", Sealed)
    email = Encrypted("email_sealed")
    # The person's role at the employer ("daglig leder", "verksmästare") is work data.
    job_title: Mapped[str | None] = mapped_column(String(MAX_CONTACT_ROLE))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    employer: Mapped[Employer] = relationship(back_populates="contacts")


class EmployerAgreement(Referenced, Versioned, Base):
    """An agreement with an employer (e.g. a placement agreement for a period)."""

    __tablename__ = "employer_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(
        ForeignKey("employers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AgreementKind] = mapped_column(code_enum(AgreementKind, 30))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    note_sealed: Mapped[bytes | None] = mapped_column("note", Sealed)
    note = Encrypted("note_sealed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    employer: Mapped[Employer] = relationship(back_populates="agreements")


class Placement(Referenced, Versioned, Base):
    """A participant's work placement at an employer."""

    __tablename__ = "placements"
    __table_args__ = (Index("ix_placements_participant_start", "participant_id", "start_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("employer_contacts.id", ondelete="SET NULL")
    )
    placement_type: Mapped[PlacementType] = mapped_column(code_enum(PlacementType, 30))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    days_per_week: Mapped[int] = mapped_column(Integer)
    hours_per_week: Mapped[float] = mapped_column(Numeric(5, 2, asdecimal=False))
    goals_sealed: Mapped[bytes | None] = mapped_column("goals", Sealed)
    goals = Encrypted("goals_sealed")
    status: Mapped[PlacementStatus] = mapped_column(code_enum(PlacementStatus, 30))
    outcome: Mapped[JobOutcome] = mapped_column(
        code_enum(JobOutcome, 30), default=JobOutcome.UNKNOWN
    )
    # The plan element it became, once offered to the plan.
    plan_element_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_elements.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    employer: Mapped[Employer] = relationship(lazy="joined")
    supervisor: Mapped[EmployerContact | None] = relationship(lazy="joined")
    evaluations: Mapped[list[PlacementEvaluation]] = relationship(
        back_populates="placement",
        order_by="PlacementEvaluation.evaluated_on.desc()",
        cascade="all, delete-orphan",
    )

    @property
    def goal_list(self) -> list[str]:
        return split_goals(self.goals)


class PlacementEvaluation(Referenced, Versioned, Base):
    """An evaluation of a placement: summary, a rating per goal and next steps."""

    __tablename__ = "placement_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(
        ForeignKey("placements.id", ondelete="CASCADE"), index=True
    )
    # Repeated from the placement so retention finds the evaluation's free text.
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    evaluated_on: Mapped[date] = mapped_column(Date)
    evaluated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Codes only, one per goal in the goals' order: "3,4,2"; 0 = not rated.
    ratings: Mapped[str | None] = mapped_column(String(40))
    summary_sealed: Mapped[bytes | None] = mapped_column("summary", Sealed)
    summary = Encrypted("summary_sealed")
    next_steps_sealed: Mapped[bytes | None] = mapped_column("next_steps", Sealed)
    next_steps = Encrypted("next_steps_sealed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    placement: Mapped[Placement] = relationship(back_populates="evaluations")
    evaluated_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def rating_list(self) -> list[int]:
        return parse_ratings(self.ratings)


# -- policy: the register belongs to a unit ----------------------------------------------

REGISTER_ROLES = (Role.ADVISOR, Role.LEADER)


def _employer_rule(user: User, action: Action, employer: Any) -> Grant | None:
    assert isinstance(employer, Employer)
    for role in REGISTER_ROLES:
        if role in roles_for(user, action) and user.has_role(role, employer.unit_id):
            return Grant(role, employer.unit_id)
    return None


def _employer_scope(stmt: Select[Any], user: User, action: Action) -> Select[Any]:
    allowed = roles_for(user, action)
    units = {u for role in REGISTER_ROLES if role in allowed for u in user.unit_ids(role)}
    if not units:
        return stmt.where(false())
    return stmt.where(Employer.unit_id.in_(units))


register_scope(Employer, _employer_rule, _employer_scope)


def register_units(user: User, action: Action = Action.EMPLOYER_MANAGE) -> list[int]:
    """The units whose register `user` may use for `action` (sorted)."""
    allowed = roles_for(user, action)
    return sorted({u for role in REGISTER_ROLES if role in allowed for u in user.unit_ids(role)})


def _unit_grant(actor: Actor, action: Action, unit_id: int) -> Grant | None:
    """The grant for `action` on `unit_id`'s register; the CLI operator needs none."""
    if actor.user is None:
        return None
    allowed = roles_for(actor.user, action)
    if not allowed:
        raise Forbidden()
    for role in REGISTER_ROLES:
        if role in allowed and actor.user.has_role(role, unit_id):
            return Grant(role, unit_id)
    raise NotFound()


# -- cleaning --------------------------------------------------------------------------


def _text(value: str | None, max_length: int, field_name: str, *, lines: bool = False) -> str:
    value = (value or "").replace("\x00", "")
    value = value.strip() if lines else " ".join(value.split())
    if len(value) > max_length:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), field_name, max=max_length
        )
    return value


def clean_org_number(raw: str | None, country: Country) -> str | None:
    """The compact organisation number, or None when empty; a clear error when invalid.

    Norway: organisasjonsnummer, 9 digits with a mod-11 check digit. Sweden:
    organisationsnummer, 10 digits with a Luhn check digit.
    """
    value = (raw or "").strip()
    if not value:
        return None
    if country is Country.SWEDEN:
        module: Any = se_orgnr
        digits = 10
    else:
        module = no_orgnr
        digits = 9
    try:
        return str(module.validate(value))
    except InvalidLength:
        if country is Country.SWEDEN:
            raise ValidationFailed(
                N_("A Swedish organisation number has %(digits)d digits."),
                "org_number",
                digits=digits,
            ) from None
        raise ValidationFailed(
            N_("A Norwegian organisation number has %(digits)d digits."),
            "org_number",
            digits=digits,
        ) from None
    except InvalidChecksum:
        raise ValidationFailed(
            N_(
                "This organisation number is not valid: the check digit does not match. "
                "Check the digits."
            ),
            "org_number",
        ) from None
    except (InvalidFormat, ValidationError):
        raise ValidationFailed(
            N_("An organisation number may contain only digits, spaces and a hyphen."),
            "org_number",
        ) from None


def split_goals(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_ratings(text: str | None) -> list[int]:
    result = []
    for part in (text or "").split(","):
        try:
            result.append(int(part))
        except ValueError:
            continue
    return result


def _near(on: date | None, today: date, field_name: str) -> None:
    if on is not None and abs(on.year - today.year) > MAX_YEARS_AWAY:
        raise ValidationFailed(N_("Check the date."), field_name)


# -- employers ---------------------------------------------------------------------------


@dataclass
class EmployerInput:
    """What the employer form hands to the domain, already typed."""

    name: str = ""
    country: Country = Country.NORWAY
    org_number: str = ""
    industry: str = ""
    address: str = ""
    notes: str = ""


def get_employer(session: Session, actor_user: User | None, ref: str) -> Employer:
    """The employer with public reference `ref`, if `actor_user` may read the register."""
    employer = session.scalar(select(Employer).where(Employer.ref == ref))
    if employer is None:
        raise NotFound()
    if actor_user is not None:
        from models.policy import require

        require(actor_user, Action.EMPLOYER_READ, employer)
    return employer


def _apply_employer(
    session: Session, employer: Employer, unit_id: int, data: EmployerInput
) -> set[str]:
    name = _text(data.name, MAX_NAME, "name")
    if not name:
        raise ValidationFailed(N_("Enter the employer's name."), "name")
    if not isinstance(data.country, Country):
        raise ValidationFailed(N_("Choose a value from the list."), "country")
    org_number = clean_org_number(data.org_number, data.country)
    if org_number is not None:
        clash = session.scalar(
            select(Employer.id).where(
                Employer.unit_id == unit_id,
                Employer.org_number == org_number,
                Employer.id != (employer.id or -1),
            )
        )
        if clash is not None:
            raise ValidationFailed(
                N_("An employer with this organisation number is already in the register."),
                "org_number",
            )
    values: dict[str, Any] = {
        "name": name,
        "country": data.country,
        "org_number": org_number,
        "industry": _text(data.industry, MAX_INDUSTRY, "industry") or None,
        "address": _text(data.address, MAX_ADDRESS, "address", lines=True) or None,
    }
    changed = set()
    for key, value in values.items():
        if getattr(employer, key, None) != value:
            setattr(employer, key, value)
            changed.add(key)
    notes = _text(data.notes, MAX_NOTE, "notes", lines=True)
    if (employer.notes or "") != notes:
        employer.notes = notes or None
        changed.add("notes")
    return changed


def _employer_categories(changed: set[str]) -> tuple[str, ...]:
    categories = {"employer"} if changed - {"notes"} else set()
    if "notes" in changed:
        categories.add("employer_note")
    return tuple(sorted(categories))


def create_employer(session: Session, actor: Actor, unit_id: int, data: EmployerInput) -> Employer:
    """An advisor or leader of `unit_id` adds an employer to the unit's register."""
    grant = _unit_grant(actor, Action.EMPLOYER_MANAGE, unit_id)
    employer = Employer(unit_id=unit_id)
    changed = _apply_employer(session, employer, unit_id, data)
    session.add(employer)
    session.flush()
    actor.record(
        session,
        "employer.create",
        grant,
        object_type="employer",
        object_ref=employer.ref,
        field_categories=_employer_categories(changed),
    )
    return employer


def update_employer(
    session: Session,
    actor: Actor,
    employer: Employer,
    expected_version: int,
    data: EmployerInput,
) -> set[str]:
    """An advisor or leader of the employer's unit corrects its details."""
    grant = _unit_grant(actor, Action.EMPLOYER_MANAGE, employer.unit_id)
    if employer.version != expected_version:
        raise StaleEdit()
    changed = _apply_employer(session, employer, employer.unit_id, data)
    if changed:
        session.flush()
        actor.record(
            session,
            "employer.update",
            grant,
            object_type="employer",
            object_ref=employer.ref,
            field_categories=_employer_categories(changed),
        )
    return changed


def employer_counts(session: Session, employer: Employer) -> tuple[int, int]:
    """How many placements `employer` hosted and how many led to a job offer."""
    row = session.execute(
        select(
            func.count(Placement.id),
            func.count(Placement.id).filter(Placement.outcome == JobOutcome.YES),
        ).where(Placement.employer_id == employer.id)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def employers_for_unit(session: Session, unit_id: int) -> list[Employer]:
    """The unit's register, by name (for choosing a placement's employer)."""
    return list(
        session.scalars(select(Employer).where(Employer.unit_id == unit_id).order_by(Employer.name))
    )


# -- contact persons ---------------------------------------------------------------------


@dataclass
class ContactInput:
    name: str = ""
    job_title: str = ""
    phone: str = ""
    email: str = ""


def _apply_contact(contact: EmployerContact, data: ContactInput) -> set[str]:
    name = _text(data.name, MAX_CONTACT_NAME, "name")
    if not name:
        raise ValidationFailed(N_("Enter the contact person's name."), "name")
    phone = _text(data.phone, MAX_PHONE, "phone")
    if phone and not all(c.isdigit() or c in "+ -()" for c in phone):
        raise ValidationFailed(
            N_("A phone number may contain only digits, spaces, +, - and brackets."), "phone"
        )
    email = _text(data.email, MAX_EMAIL, "email")
    if email and (email.count("@") != 1 or "." not in email.split("@")[1] or email.startswith("@")):
        raise ValidationFailed(N_("Enter an e-mail address like name@example.no."), "email")
    changed = set()
    for key, value in (("name", name), ("phone", phone or None), ("email", email or None)):
        if getattr(contact, key) != value:
            setattr(contact, key, value)
            changed.add(key)
    job_title = _text(data.job_title, MAX_CONTACT_ROLE, "job_title") or None
    if contact.job_title != job_title:
        contact.job_title = job_title
        changed.add("job_title")
    return changed


def get_contact(session: Session, actor_user: User | None, ref: str) -> EmployerContact:
    contact = session.scalar(select(EmployerContact).where(EmployerContact.ref == ref))
    if contact is None:
        raise NotFound()
    get_employer(session, actor_user, contact.employer.ref)
    return contact


def add_contact(
    session: Session, actor: Actor, employer: Employer, data: ContactInput
) -> EmployerContact:
    """An advisor or leader of the employer's unit adds a contact person."""
    grant = _unit_grant(actor, Action.EMPLOYER_MANAGE, employer.unit_id)
    contact = EmployerContact(employer_id=employer.id)
    _apply_contact(contact, data)
    session.add(contact)
    session.flush()
    actor.record(
        session,
        "employer_contact.create",
        grant,
        object_type="employer_contact",
        object_ref=contact.ref,
        field_categories=("employer_contact",),
    )
    return contact


def update_contact(
    session: Session,
    actor: Actor,
    contact: EmployerContact,
    expected_version: int,
    data: ContactInput,
) -> set[str]:
    """An advisor or leader of the employer's unit corrects a contact person."""
    grant = _unit_grant(actor, Action.EMPLOYER_MANAGE, contact.employer.unit_id)
    if contact.version != expected_version:
        raise StaleEdit()
    changed = _apply_contact(contact, data)
    if changed:
        session.flush()
        actor.record(
            session,
            "employer_contact.update",
            grant,
            object_type="employer_contact",
            object_ref=contact.ref,
            field_categories=("employer_contact",),
        )
    return changed


# -- agreements --------------------------------------------------------------------------


@dataclass
class AgreementInput:
    kind: AgreementKind | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    note: str = ""


def _apply_agreement(agreement: EmployerAgreement, data: AgreementInput, today: date) -> None:
    if data.kind is None:
        raise ValidationFailed(N_("Choose the kind of agreement."), "kind")
    if data.valid_from is None:
        raise ValidationFailed(N_("Enter the date the agreement starts."), "valid_from")
    _near(data.valid_from, today, "valid_from")
    _near(data.valid_to, today, "valid_to")
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise ValidationFailed(N_("The end cannot come before the start."), "valid_to")
    agreement.kind = data.kind
    agreement.valid_from = data.valid_from
    agreement.valid_to = data.valid_to
    note = _text(data.note, MAX_NOTE, "note", lines=True)
    if (agreement.note or "") != note:
        agreement.note = note or None


def get_agreement(session: Session, actor_user: User | None, ref: str) -> EmployerAgreement:
    agreement = session.scalar(select(EmployerAgreement).where(EmployerAgreement.ref == ref))
    if agreement is None:
        raise NotFound()
    get_employer(session, actor_user, agreement.employer.ref)
    return agreement


def add_agreement(
    session: Session, actor: Actor, employer: Employer, data: AgreementInput, *, today: date
) -> EmployerAgreement:
    """An advisor or leader of the employer's unit records an agreement with it."""
    grant = _unit_grant(actor, Action.EMPLOYER_MANAGE, employer.unit_id)
    agreement = EmployerAgreement(employer_id=employer.id)
    _apply_agreement(agreement, data, today)
    session.add(agreement)
    session.flush()
    actor.record(
        session,
        "employer_agreement.create",
        grant,
        object_type="employer_agreement",
        object_ref=agreement.ref,
        field_categories=("employer_agreement",),
    )
    return agreement


def update_agreement(
    session: Session,
    actor: Actor,
    agreement: EmployerAgreement,
    expected_version: int,
    data: AgreementInput,
    *,
    today: date,
) -> None:
    """An advisor or leader of the employer's unit corrects an agreement."""
    grant = _unit_grant(actor, Action.EMPLOYER_MANAGE, agreement.employer.unit_id)
    if agreement.version != expected_version:
        raise StaleEdit()
    _apply_agreement(agreement, data, today)
    session.flush()
    actor.record(
        session,
        "employer_agreement.update",
        grant,
        object_type="employer_agreement",
        object_ref=agreement.ref,
        field_categories=("employer_agreement",),
    )


# -- placements --------------------------------------------------------------------------


@dataclass
class PlacementInput:
    """What the placement form hands to the domain, already typed.

    `employer_ref` / `supervisor_ref` are the public references of the employer (in the
    participant's unit's register) and of one of its contact persons.
    """

    employer_ref: str = ""
    supervisor_ref: str = ""
    placement_type: PlacementType | None = None
    start_on: date | None = None
    end_on: date | None = None
    days_per_week: int | None = None
    hours_per_week: float | None = None
    goals: str = ""
    status: PlacementStatus | None = PlacementStatus.PLANNED
    outcome: JobOutcome | None = JobOutcome.UNKNOWN


def placements_query(participant: Participant) -> Select[Any]:
    return (
        select(Placement)
        .where(Placement.participant_id == participant.id)
        .order_by(Placement.start_on.desc(), Placement.id.desc())
    )


def get_placement(session: Session, participant: Participant, ref: str) -> Placement:
    placement = session.scalar(
        select(Placement).where(Placement.ref == ref, Placement.participant_id == participant.id)
    )
    if placement is None:
        raise NotFound()
    return placement


def _clean_goals(text: str | None) -> str:
    goals = split_goals((text or "").replace("\x00", ""))
    if len(goals) > MAX_GOALS:
        raise ValidationFailed(
            N_("Write at most %(max)d goals, one per line."), "goals", max=MAX_GOALS
        )
    for goal in goals:
        if len(goal) > MAX_GOAL:
            raise ValidationFailed(
                N_("Each goal can be at most %(max)d characters long."), "goals", max=MAX_GOAL
            )
    return "\n".join(goals)


def _apply_placement(
    session: Session,
    placement: Placement,
    participant: Participant,
    data: PlacementInput,
    today: date,
) -> set[str]:
    employer = session.scalar(
        select(Employer).where(
            Employer.ref == (data.employer_ref or ""), Employer.unit_id == participant.unit_id
        )
    )
    if employer is None:
        raise ValidationFailed(N_("Choose an employer from the register."), "employer")
    supervisor_id = None
    if data.supervisor_ref:
        supervisor = session.scalar(
            select(EmployerContact).where(
                EmployerContact.ref == data.supervisor_ref,
                EmployerContact.employer_id == employer.id,
            )
        )
        if supervisor is None:
            raise ValidationFailed(
                N_("Choose a supervisor among the employer's contact persons."), "supervisor"
            )
        supervisor_id = supervisor.id
    if data.placement_type is None:
        raise ValidationFailed(N_("Choose the type of placement."), "placement_type")
    if data.start_on is None:
        raise ValidationFailed(N_("Enter the start date."), "start_on")
    _near(data.start_on, today, "start_on")
    _near(data.end_on, today, "end_on")
    if data.end_on is not None and data.end_on < data.start_on:
        raise ValidationFailed(N_("The end cannot come before the start."), "end_on")
    if data.days_per_week is None or not 1 <= data.days_per_week <= MAX_DAYS:
        raise ValidationFailed(
            N_("Enter days per week between 1 and %(max)d."), "days_per_week", max=MAX_DAYS
        )
    if data.hours_per_week is None or not 0 < data.hours_per_week <= MAX_HOURS:
        raise ValidationFailed(
            N_("Enter hours per week between 0 and %(max)d."),
            "hours_per_week",
            max=int(MAX_HOURS),
        )
    if data.status is None:
        raise ValidationFailed(N_("Choose the status."), "status")
    if data.outcome is None:
        raise ValidationFailed(N_("Choose whether the placement led to a job offer."), "outcome")
    if data.outcome is JobOutcome.YES and data.status is PlacementStatus.PLANNED:
        raise ValidationFailed(
            N_("A placement that has not started cannot have led to a job offer."), "outcome"
        )
    goals = _clean_goals(data.goals)
    values: dict[str, Any] = {
        "employer_id": employer.id,
        "supervisor_id": supervisor_id,
        "placement_type": data.placement_type,
        "start_on": data.start_on,
        "end_on": data.end_on,
        "days_per_week": int(data.days_per_week),
        "hours_per_week": round(float(data.hours_per_week), 2),
        "status": data.status,
        "outcome": data.outcome,
    }
    changed = set()
    for key, value in values.items():
        if getattr(placement, key, None) != value:
            setattr(placement, key, value)
            changed.add(key)
    if (placement.goals or "") != goals:
        placement.goals = goals or None
        changed.add("goals")
    return changed


def _placement_categories(changed: set[str]) -> tuple[str, ...]:
    categories = {"placement"} if changed - {"goals"} else set()
    if "goals" in changed:
        categories.add("placement_goals")
    return tuple(sorted(categories))


def create_placement(
    session: Session,
    actor: Actor,
    participant: Participant,
    data: PlacementInput,
    *,
    today: date,
) -> Placement:
    """The assigned advisor records a placement at an employer of the participant's unit."""
    grant = actor.authorise(Action.PLACEMENT_WRITE, participant)
    placement = Placement(
        participant_id=participant.id,
        created_by_id=actor.user.id if actor.user else None,
    )
    changed = _apply_placement(session, placement, participant, data, today)
    session.add(placement)
    session.flush()
    actor.record(
        session,
        "placement.create",
        grant,
        object_type="placement",
        object_ref=placement.ref,
        field_categories=_placement_categories(changed),
    )
    return placement


def update_placement(
    session: Session,
    actor: Actor,
    participant: Participant,
    placement: Placement,
    expected_version: int,
    data: PlacementInput,
    *,
    today: date,
) -> set[str]:
    """The assigned advisor changes a placement: period, hours, status, outcome …"""
    grant = actor.authorise(Action.PLACEMENT_WRITE, participant)
    if placement.participant_id != participant.id:
        raise NotFound()
    if placement.version != expected_version:
        raise StaleEdit()
    changed = _apply_placement(session, placement, participant, data, today)
    if changed:
        session.flush()
        actor.record(
            session,
            "placement.update",
            grant,
            object_type="placement",
            object_ref=placement.ref,
            field_categories=_placement_categories(changed),
        )
    return changed


@dataclass
class EvaluationInput:
    evaluated_on: date | None = None
    summary: str = ""
    # One rating (1–4) per goal in the goals' order; None = not rated.
    ratings: list[int | None] = field(default_factory=list)
    next_steps: str = ""


def add_evaluation(
    session: Session,
    actor: Actor,
    participant: Participant,
    placement: Placement,
    data: EvaluationInput,
    *,
    today: date,
) -> PlacementEvaluation:
    """The assigned advisor records an evaluation of a placement."""
    grant = actor.authorise(Action.PLACEMENT_WRITE, participant)
    if placement.participant_id != participant.id:
        raise NotFound()
    if data.evaluated_on is None:
        raise ValidationFailed(N_("Enter the date of the evaluation."), "evaluated_on")
    if data.evaluated_on > today:
        raise ValidationFailed(N_("The evaluation date cannot be in the future."), "evaluated_on")
    if data.evaluated_on < placement.start_on:
        raise ValidationFailed(
            N_("A placement cannot be evaluated before it started."), "evaluated_on"
        )
    summary = _text(data.summary, MAX_SUMMARY, "summary", lines=True)
    if not summary:
        raise ValidationFailed(N_("Write a short summary of the evaluation."), "summary")
    goals = placement.goal_list
    if len(data.ratings) > len(goals):
        raise ValidationFailed(N_("Rate only the placement's goals."), "ratings")
    ratings = []
    for rating in data.ratings:
        if rating is not None and not MIN_RATING <= rating <= MAX_RATING:
            raise ValidationFailed(
                N_("A rating is a number from %(min)d to %(max)d."),
                "ratings",
                min=MIN_RATING,
                max=MAX_RATING,
            )
        ratings.append(rating or 0)
    next_steps = _text(data.next_steps, MAX_NEXT_STEPS, "next_steps", lines=True)
    evaluation = PlacementEvaluation(
        placement_id=placement.id,
        participant_id=placement.participant_id,
        evaluated_on=data.evaluated_on,
        evaluated_by_id=actor.user.id if actor.user else None,
        ratings=",".join(str(r) for r in ratings) or None,
    )
    evaluation.summary = summary
    evaluation.next_steps = next_steps or None
    session.add(evaluation)
    session.flush()
    actor.record(
        session,
        "placement_evaluation.create",
        grant,
        object_type="placement_evaluation",
        object_ref=evaluation.ref,
        field_categories=("placement_evaluation",),
    )
    return evaluation


def add_placement_to_plan(
    session: Session,
    actor: Actor,
    participant: Participant,
    placement: Placement,
    expected_version: int,
    *,
    today: date,
) -> None:
    """The assigned advisor offers the placement to the plan: a plan element of the matching
    type with the placement's dates and hours (a new plan version records it)."""
    from models.plans import ElementInput, PlanElement, add_element, plan_of

    actor.authorise(Action.PLACEMENT_WRITE, participant)
    if placement.participant_id != participant.id:
        raise NotFound()
    if placement.version != expected_version:
        raise StaleEdit()
    if placement.plan_element_id is not None:
        raise ValidationFailed(N_("This placement is already in the plan."))
    plan = plan_of(session, participant)
    if plan is None:
        raise ValidationFailed(
            N_("The participant has no plan yet. Make the plan first, then add the placement.")
        )
    add_element(
        session,
        actor,
        participant,
        plan.version,
        ElementInput(
            element_type=PLAN_ELEMENT_FOR[placement.placement_type],
            start_on=placement.start_on,
            end_on=placement.end_on,
            hours_per_week=float(placement.hours_per_week),
            status=ELEMENT_STATUS_FOR[placement.status],
        ),
        reason=PLAN_REASON,
        today=today,
    )
    element_id = session.scalar(
        select(PlanElement.id)
        .where(PlanElement.participant_id == participant.id)
        .order_by(PlanElement.id.desc())
        .limit(1)
    )
    # The plan's own event (plan.element_add) is the audit record of this operation.
    placement.plan_element_id = element_id
    session.flush()
