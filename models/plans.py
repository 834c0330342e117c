"""Competence mapping, career guidance and the individual plan (integreringsplan).

- The competence mapping is done once; each correction is a new immutable revision row,
  the latest one is current (who and when are on the row).
- The plan is one `Plan` row per participant holding the current clear facts reports need
  (end goal, period, hours norm, review date), live `PlanElement` rows, and an immutable
  `PlanVersion` for every save: a sealed JSON snapshot of the whole plan with the reason.
  A version may be marked agreed with the participant; its snapshot never changes.
- The rule-set checks (`check_plan`) are pure functions returning warnings; they never
  block a save.

Free text (goals, contract, notes, reasons, summaries, providers) is sealed; codes,
dates, hours and unit ids stay clear.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.accounts import Unit, User
from models.base import Base, UTCDateTime, Versioned, code_enum, utcnow
from models.codes import (
    WORK_OR_EDUCATION_ELEMENTS,
    CefrLevel,
    ElementStatus,
    EndGoal,
    PlanElementType,
    Skill,
)
from models.crypto import Encrypted, Referenced, Sealed
from models.deadlines import Due, frozen_params, register_provider
from models.errors import N_, NotFound, StaleEdit, ValidationFailed
from models.participants import Participant, refresh_deadlines
from models.policy import Action, Actor
from models.rules import DeadlineKind, RuleSet, add_months, age_on, rule_set_for

MAX_TEXT = 4000  # long-term goal, contract text, summaries, other competence
MAX_NOTE = 2000  # element and review notes
MAX_SHORT = 120  # field of education, occupation, country, provider
MAX_REASON = 500
MAX_YEARS = 60
MAX_HOURS = 60.0
MAX_MAPPED_LANGUAGES = 4
MAX_PROGRAMME_YEARS = 10  # sanity limit on dates typed into the plan


# -- code lists of this module ------------------------------------------------------


class EducationLevel(enum.StrEnum):
    NONE = "none"
    PRIMARY = "primary"
    LOWER_SECONDARY = "lower_secondary"
    UPPER_SECONDARY = "upper_secondary"
    VOCATIONAL = "vocational"
    HIGHER_SHORT = "higher_short"
    HIGHER_LONG = "higher_long"
    UNKNOWN = "unknown"


EDUCATION_LEVEL_LABELS = {
    EducationLevel.NONE: N_("No schooling"),
    EducationLevel.PRIMARY: N_("Some primary school"),
    EducationLevel.LOWER_SECONDARY: N_("Primary and lower-secondary school"),
    EducationLevel.UPPER_SECONDARY: N_("Upper-secondary school (general)"),
    EducationLevel.VOCATIONAL: N_("Upper-secondary school (vocational)"),
    EducationLevel.HIGHER_SHORT: N_("Higher education, up to 4 years"),
    EducationLevel.HIGHER_LONG: N_("Higher education, more than 4 years"),
    EducationLevel.UNKNOWN: N_("Not known"),
}

# Levels that count as completed upper-secondary education for the under-25 rule.
UPPER_SECONDARY_OR_MORE = frozenset(
    {
        EducationLevel.UPPER_SECONDARY,
        EducationLevel.VOCATIONAL,
        EducationLevel.HIGHER_SHORT,
        EducationLevel.HIGHER_LONG,
    }
)


class Literacy(enum.StrEnum):
    NOT_LITERATE = "not_literate"
    OTHER_SCRIPT = "other_script"
    LATIN_SCRIPT = "latin_script"
    UNKNOWN = "unknown"


LITERACY_LABELS = {
    Literacy.NOT_LITERATE: N_("Cannot read or write yet"),
    Literacy.OTHER_SCRIPT: N_("Reads and writes another script than the Latin alphabet"),
    Literacy.LATIN_SCRIPT: N_("Reads and writes the Latin alphabet"),
    Literacy.UNKNOWN: N_("Not known"),
}


class DigitalSkills(enum.StrEnum):
    NONE = "none"
    BASIC = "basic"
    GOOD = "good"
    ADVANCED = "advanced"


DIGITAL_SKILLS_LABELS = {
    DigitalSkills.NONE: N_("No digital skills yet"),
    DigitalSkills.BASIC: N_("Basic (phone, messages)"),
    DigitalSkills.GOOD: N_("Good (e-mail, forms, office programs)"),
    DigitalSkills.ADVANCED: N_("Advanced"),
}


class GuidanceDirection(enum.StrEnum):
    WORK = "work"
    EDUCATION = "education"
    WORK_AND_EDUCATION = "work_and_education"
    UNDECIDED = "undecided"


GUIDANCE_DIRECTION_LABELS = {
    GuidanceDirection.WORK: N_("Towards work"),
    GuidanceDirection.EDUCATION: N_("Towards education"),
    GuidanceDirection.WORK_AND_EDUCATION: N_("Towards work and education"),
    GuidanceDirection.UNDECIDED: N_("Not decided yet"),
}


# -- tables ---------------------------------------------------------------------------


class CompetenceMapping(Referenced, Base):
    """One revision of a participant's competence mapping; never changed once written."""

    __tablename__ = "competence_mappings"
    __table_args__ = (UniqueConstraint("participant_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    mapped_on: Mapped[date] = mapped_column(Date)
    education_level: Mapped[EducationLevel] = mapped_column(code_enum(EducationLevel, 40))
    education_years: Mapped[int | None] = mapped_column(Integer)
    education_country_sealed: Mapped[bytes | None] = mapped_column("education_country", Sealed)
    education_country = Encrypted("education_country_sealed")
    education_field_sealed: Mapped[bytes | None] = mapped_column("education_field", Sealed)
    education_field = Encrypted("education_field_sealed")
    occupation_sealed: Mapped[bytes | None] = mapped_column("occupation", Sealed)
    occupation = Encrypted("occupation_sealed")
    work_years: Mapped[int | None] = mapped_column(Integer)
    # JSON list of [language code, CEFR level]; which languages someone speaks can reveal
    # origin, so it is sealed with the rest.
    languages_sealed: Mapped[bytes | None] = mapped_column("languages", Sealed)
    languages_json = Encrypted("languages_sealed")
    literacy: Mapped[Literacy] = mapped_column(code_enum(Literacy, 40))
    digital_skills: Mapped[DigitalSkills] = mapped_column(code_enum(DigitalSkills, 40))
    other_competence_sealed: Mapped[bytes | None] = mapped_column("other_competence", Sealed)
    other_competence = Encrypted("other_competence_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def languages(self) -> list[tuple[str, CefrLevel]]:
        raw = self.languages_json
        return [(code, CefrLevel(level)) for code, level in json.loads(raw)] if raw else []

    @property
    def has_upper_secondary(self) -> bool | None:
        if self.education_level is EducationLevel.UNKNOWN:
            return None
        return self.education_level in UPPER_SECONDARY_OR_MORE


class CareerGuidance(Referenced, Versioned, Base):
    """Career guidance given to a participant (several per participant)."""

    __tablename__ = "career_guidances"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    given_on: Mapped[date] = mapped_column(Date)
    provider_sealed: Mapped[bytes | None] = mapped_column("provider", Sealed)
    provider = Encrypted("provider_sealed")
    recommendation: Mapped[GuidanceDirection] = mapped_column(code_enum(GuidanceDirection, 40))
    summary_sealed: Mapped[bytes | None] = mapped_column("summary", Sealed)
    summary = Encrypted("summary_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")


class Plan(Referenced, Versioned, Base):
    """The participant's plan as it stands now (one per participant)."""

    __tablename__ = "plans"
    __table_args__ = (
        # The unit dashboard joins a unit's participants to their plans' review dates:
        # read from this index alone, not from the plans table.
        Index("ix_plans_participant_review_due", "participant_id", "review_due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True
    )
    end_goal: Mapped[EndGoal] = mapped_column(code_enum(EndGoal, 40))
    programme_start_on: Mapped[date] = mapped_column(Date)
    planned_end_on: Mapped[date] = mapped_column(Date)
    hours_per_week_norm: Mapped[float] = mapped_column(Numeric(5, 2, asdecimal=False))
    has_children_under_18: Mapped[bool] = mapped_column(Boolean, default=False)
    # Codes only: "listening:B1,reading:A2,…"
    language_goals: Mapped[str | None] = mapped_column(String(80))
    long_term_goal_sealed: Mapped[bytes | None] = mapped_column("long_term_goal", Sealed)
    long_term_goal = Encrypted("long_term_goal_sealed")
    contract_text_sealed: Mapped[bytes | None] = mapped_column("contract_text", Sealed)
    contract_text = Encrypted("contract_text_sealed")
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    last_reviewed_on: Mapped[date | None] = mapped_column(Date)
    review_due_on: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    elements: Mapped[list[PlanElement]] = relationship(
        back_populates="plan",
        order_by="(PlanElement.start_on, PlanElement.id)",
        cascade="all, delete-orphan",
    )

    @property
    def goals_by_skill(self) -> dict[Skill, CefrLevel]:
        return parse_language_goals(self.language_goals)


class PlanElement(Referenced, Versioned, Base):
    """One element of the plan (a course, a practice, job seeking …), as it stands now.

    The participation certificate (models.decisions) reads these columns; keep them.
    """

    __tablename__ = "plan_elements"
    __table_args__ = (
        # The NIR readiness check looks for elements without hours among a unit's
        # participants; they are rare, so a partial index finds them without reading every
        # element of every unit (migration 0015). Same predicate as the check, so both
        # databases use it.
        Index(
            "ix_plan_elements_without_extent",
            "participant_id",
            postgresql_where=text("hours_per_week IS NULL OR hours_per_week <= 0"),
            sqlite_where=text("hours_per_week IS NULL OR hours_per_week <= 0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    element_type: Mapped[PlanElementType] = mapped_column(code_enum(PlanElementType, 40))
    provider_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    start_on: Mapped[date | None] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    hours_per_week: Mapped[float] = mapped_column(Numeric(5, 2, asdecimal=False))
    status: Mapped[ElementStatus] = mapped_column(code_enum(ElementStatus, 40))
    note_sealed: Mapped[bytes | None] = mapped_column("note", Sealed)
    note = Encrypted("note_sealed")

    plan: Mapped[Plan] = relationship(back_populates="elements")
    provider_unit: Mapped[Unit | None] = relationship(lazy="joined")


class PlanVersion(Referenced, Base):
    """An immutable saved state of the plan; only the agreement marks are set later."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    snapshot_sealed: Mapped[bytes | None] = mapped_column("snapshot", Sealed)
    snapshot_json = Encrypted("snapshot_sealed")
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed)
    reason = Encrypted("reason_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    agreed_on: Mapped[date | None] = mapped_column(Date)
    interpreter_used: Mapped[bool | None] = mapped_column(Boolean)
    agreed_language: Mapped[str | None] = mapped_column(String(3))
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")

    @property
    def snapshot(self) -> dict[str, Any]:
        raw = self.snapshot_json
        return dict(json.loads(raw)) if raw else {}


class PlanReview(Referenced, Base):
    """A review of the plan with the participant; sets the next review date."""

    __tablename__ = "plan_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    reviewed_on: Mapped[date] = mapped_column(Date)
    next_due_on: Mapped[date] = mapped_column(Date)
    note_sealed: Mapped[bytes | None] = mapped_column("note", Sealed)
    note = Encrypted("note_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")


# -- small helpers ----------------------------------------------------------------------


def parse_language_goals(text: str | None) -> dict[Skill, CefrLevel]:
    goals: dict[Skill, CefrLevel] = {}
    for part in (text or "").split(","):
        skill, _, level = part.partition(":")
        if skill in Skill.__members__.values() and level in CefrLevel.__members__.values():
            goals[Skill(skill)] = CefrLevel(level)
    return goals


def format_language_goals(goals: dict[Skill, CefrLevel]) -> str | None:
    return ",".join(f"{s.value}:{goals[s].value}" for s in Skill if s in goals) or None


def _clean_text(value: str | None, max_length: int, field_name: str, *, lines: bool) -> str:
    value = (value or "").replace("\x00", "")
    value = value.strip() if lines else " ".join(value.split())
    if len(value) > max_length:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), field_name, max=max_length
        )
    return value


def _clean_reason(reason: str | None) -> str:
    reason = _clean_text(reason, MAX_REASON, "reason", lines=False)
    if not reason:
        raise ValidationFailed(N_("Say briefly why the plan is changed."), "reason")
    return reason


def _check_years(value: int | None, field_name: str) -> None:
    if value is not None and not 0 <= value <= MAX_YEARS:
        raise ValidationFailed(
            N_("Enter a number of years between 0 and %(max)d."), field_name, max=MAX_YEARS
        )


def _check_hours(value: float | None, field_name: str) -> float:
    if value is None:
        raise ValidationFailed(N_("Enter the hours per week."), field_name)
    if not 0 <= value <= MAX_HOURS:
        raise ValidationFailed(
            N_("Enter hours per week between 0 and %(max)d."), field_name, max=int(MAX_HOURS)
        )
    return round(float(value), 2)


def _near(on: date, today: date, field_name: str) -> None:
    if abs((on - today).days) > 366 * MAX_PROGRAMME_YEARS:
        raise ValidationFailed(N_("Check the date."), field_name)


# -- competence mapping ---------------------------------------------------------------


@dataclass
class MappingInput:
    mapped_on: date | None = None
    education_level: EducationLevel = EducationLevel.UNKNOWN
    education_years: int | None = None
    education_country: str = ""
    education_field: str = ""
    occupation: str = ""
    work_years: int | None = None
    languages: list[tuple[str, str]] = field(default_factory=list)
    literacy: Literacy = Literacy.UNKNOWN
    digital_skills: DigitalSkills = DigitalSkills.BASIC
    other_competence: str = ""


def current_mapping(session: Session, participant: Participant) -> CompetenceMapping | None:
    return session.scalar(
        select(CompetenceMapping)
        .where(CompetenceMapping.participant_id == participant.id)
        .order_by(CompetenceMapping.revision.desc())
        .limit(1)
    )


def mapping_revisions(session: Session, participant: Participant) -> list[CompetenceMapping]:
    return list(
        session.scalars(
            select(CompetenceMapping)
            .where(CompetenceMapping.participant_id == participant.id)
            .order_by(CompetenceMapping.revision.desc())
        )
    )


def save_mapping(
    session: Session,
    actor: Actor,
    participant: Participant,
    expected_revision: int,
    data: MappingInput,
    *,
    today: date,
) -> CompetenceMapping:
    """The participant's advisor maps (or corrects the mapping of) a participant.

    Writes a new revision; the first one sets `participant.competence_mapping_on`.
    `expected_revision` is the revision the form was opened on (0 when there was none).
    """
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    latest = current_mapping(session, participant)
    if (latest.revision if latest else 0) != expected_revision:
        raise StaleEdit()
    if data.mapped_on is None:
        raise ValidationFailed(N_("Enter the date of the mapping."), "mapped_on")
    if data.mapped_on > today:
        raise ValidationFailed(N_("The mapping cannot be dated in the future."), "mapped_on")
    _near(data.mapped_on, today, "mapped_on")
    _check_years(data.education_years, "education_years")
    _check_years(data.work_years, "work_years")
    country = _clean_text(data.education_country, MAX_SHORT, "education_country", lines=False)
    field_of = _clean_text(data.education_field, MAX_SHORT, "education_field", lines=False)
    occupation = _clean_text(data.occupation, MAX_SHORT, "occupation", lines=False)
    other = _clean_text(data.other_competence, MAX_TEXT, "other_competence", lines=True)
    languages: list[list[str]] = []
    for code, level in data.languages:
        code = (code or "").strip().lower()
        if not code:
            continue
        if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
            raise ValidationFailed(N_("Choose languages from the list."), "languages")
        if level not in CefrLevel.__members__.values():
            raise ValidationFailed(N_("Choose a level for each language."), "languages")
        if code in (c for c, _ in languages):
            raise ValidationFailed(N_("Each language only once, please."), "languages")
        languages.append([code, level])
    if len(languages) > MAX_MAPPED_LANGUAGES:
        raise ValidationFailed(N_("Choose languages from the list."), "languages")
    mapping = CompetenceMapping(
        participant_id=participant.id,
        revision=(latest.revision if latest else 0) + 1,
        mapped_on=data.mapped_on,
        education_level=data.education_level,
        education_years=data.education_years,
        work_years=data.work_years,
        literacy=data.literacy,
        digital_skills=data.digital_skills,
        created_by_id=actor.user.id if actor.user else None,
    )
    mapping.education_country = country or None
    mapping.education_field = field_of or None
    mapping.occupation = occupation or None
    mapping.languages_json = json.dumps(languages)
    mapping.other_competence = other or None
    session.add(mapping)
    if participant.competence_mapping_on is None:
        participant.competence_mapping_on = data.mapped_on
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "competence_mapping.create" if latest is None else "competence_mapping.correct",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("competence_mapping",),
    )
    return mapping


# -- career guidance --------------------------------------------------------------------


@dataclass
class GuidanceInput:
    given_on: date | None = None
    provider: str = ""
    recommendation: GuidanceDirection = GuidanceDirection.UNDECIDED
    summary: str = ""


def guidances(session: Session, participant: Participant) -> list[CareerGuidance]:
    return list(
        session.scalars(
            select(CareerGuidance)
            .where(CareerGuidance.participant_id == participant.id)
            .order_by(CareerGuidance.given_on.desc(), CareerGuidance.id.desc())
        )
    )


def add_guidance(
    session: Session, actor: Actor, participant: Participant, data: GuidanceInput, *, today: date
) -> CareerGuidance:
    """The participant's advisor records career guidance given to the participant."""
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    if data.given_on is None:
        raise ValidationFailed(N_("Enter the date of the guidance."), "given_on")
    if data.given_on > today:
        raise ValidationFailed(N_("The guidance cannot be dated in the future."), "given_on")
    _near(data.given_on, today, "given_on")
    provider = _clean_text(data.provider, MAX_SHORT, "provider", lines=False)
    if not provider:
        raise ValidationFailed(N_("Say who gave the guidance."), "provider")
    summary = _clean_text(data.summary, MAX_TEXT, "summary", lines=True)
    guidance = CareerGuidance(
        participant_id=participant.id,
        given_on=data.given_on,
        recommendation=data.recommendation,
        created_by_id=actor.user.id if actor.user else None,
    )
    guidance.provider = provider
    guidance.summary = summary or None
    session.add(guidance)
    session.flush()
    actor.record(
        session,
        "career_guidance.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("career_guidance",),
    )
    return guidance


# -- the rule-set checks (pure) -----------------------------------------------------------


@dataclass(frozen=True)
class PlanWarning:
    """A check the plan does not pass; `message` is an untranslated msgid."""

    rule_id: str
    rule_set: str
    message: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ElementFacts:
    element_type: PlanElementType
    start_on: date | None
    end_on: date | None
    hours_per_week: float
    status: ElementStatus


@dataclass(frozen=True)
class PlanFacts:
    """What the checks need to know; built from the plan or from a form being edited."""

    end_goal: EndGoal
    programme_start_on: date
    planned_end_on: date
    hours_per_week_norm: float
    has_children_under_18: bool
    elements: tuple[ElementFacts, ...] = ()
    birth_date: date | None = None
    has_upper_secondary: bool | None = None


def _warn(rs: RuleSet, name: str, message: str, **params: Any) -> PlanWarning:
    return PlanWarning(f"{rs.rule_prefix}/{name}", rs.version, message, params)


def last_day_within(start: date, months: int) -> date:
    """The last day of a period of `months` starting on `start` (24 months from 1 Jan 2026
    end on 31 Dec 2027)."""
    return add_months(start, months) - timedelta(days=1)


def check_length(rs: RuleSet, facts: PlanFacts) -> list[PlanWarning]:
    """Programme length within [min, max] for the end goal, with the extension allowance."""
    start, end = facts.programme_start_on, facts.planned_end_on
    found = []
    if rs.programme_min_months is not None and end < last_day_within(
        start, rs.programme_min_months
    ):
        found.append(
            _warn(
                rs,
                "plan-length",
                N_("The programme is shorter than the minimum of %(months)d months."),
                months=rs.programme_min_months,
            )
        )
    longest = rs.max_programme_months(facts.end_goal)
    if longest is not None and end > last_day_within(start, longest):
        extension = rs.programme_extension_months or 0
        if extension and end <= last_day_within(start, longest + extension):
            found.append(
                _warn(
                    rs,
                    "plan-length",
                    N_(
                        "The programme is longer than %(months)d months: it needs an "
                        "extension decision (at most %(extension)d months more)."
                    ),
                    months=longest,
                    extension=extension,
                )
            )
        else:
            found.append(
                _warn(
                    rs,
                    "plan-length",
                    N_(
                        "The programme is too long: at most %(months)d months, with an "
                        "extension %(total)d months."
                    ),
                    months=longest,
                    total=longest + extension,
                )
            )
    return found


def check_young(rs: RuleSet, facts: PlanFacts) -> list[PlanWarning]:
    """Under the age limit on programme start, without upper-secondary education, and an end
    goal other than upper-secondary: warn."""
    limit = rs.young_without_upper_secondary_age
    if limit is None or facts.birth_date is None or facts.has_upper_secondary is not False:
        return []
    if age_on(facts.birth_date, facts.programme_start_on) >= limit:
        return []
    if facts.end_goal in rs.young_end_goals:
        return []
    return [
        _warn(
            rs,
            "plan-young-end-goal",
            N_(
                "The participant is under %(age)d and has no upper-secondary education: the "
                "end goal should as a rule be completed upper-secondary education."
            ),
            age=limit,
        )
    ]


def _counts(element: ElementFacts) -> bool:
    return element.status in (ElementStatus.PLANNED, ElementStatus.ONGOING)


def weekly_hours(facts: PlanFacts, on: date) -> float:
    """Planned hours per week of the planned and ongoing elements running on `on`."""
    total = 0.0
    for element in facts.elements:
        start = element.start_on or facts.programme_start_on
        end = element.end_on or facts.planned_end_on
        if _counts(element) and start <= on <= end:
            total += element.hours_per_week
    return round(total, 2)


def yearly_hours(facts: PlanFacts, year_start: date, year_end: date) -> float:
    """Planned hours of the planned and ongoing elements between two days (inclusive)."""
    total = 0.0
    for element in facts.elements:
        start = max(element.start_on or facts.programme_start_on, year_start)
        end = min(element.end_on or facts.planned_end_on, year_end)
        if _counts(element) and start <= end:
            total += element.hours_per_week * ((end - start).days + 1) / 7
    return round(total, 1)


def reference_day(facts: PlanFacts, today: date) -> date:
    """The week the hour total is shown for: this week, inside the programme period."""
    return min(max(today, facts.programme_start_on), facts.planned_end_on)


def check_hours(rs: RuleSet, facts: PlanFacts, today: date) -> list[PlanWarning]:
    """Hours this week against the norm, and each programme year against the norm less the
    holiday weeks."""
    found = []
    on = reference_day(facts, today)
    week = weekly_hours(facts, on)
    if week < facts.hours_per_week_norm:
        found.append(
            _warn(
                rs,
                "plan-hours-week",
                N_("%(hours)s hours a week are planned on %(date)s; the norm is %(norm)s."),
                hours=f"{week:g}",
                date=on.isoformat(),
                norm=f"{facts.hours_per_week_norm:g}",
            )
        )
    year_start = facts.programme_start_on
    year = 1
    while year_start <= facts.planned_end_on and year <= MAX_PROGRAMME_YEARS:
        year_end = min(last_day_within(year_start, 12), facts.planned_end_on)
        days = (year_end - year_start).days + 1
        working_weeks = max(0.0, days / 7 - rs.holiday_weeks * min(1.0, days / 365))
        needed = round(facts.hours_per_week_norm * working_weeks, 1)
        planned = yearly_hours(facts, year_start, year_end)
        if planned < needed:
            found.append(
                _warn(
                    rs,
                    "plan-hours-year",
                    N_(
                        "Programme year %(year)d has %(planned)s hours planned; full time "
                        "with %(holiday)d weeks' holiday is %(needed)s hours."
                    ),
                    year=year,
                    planned=f"{planned:g}",
                    needed=f"{needed:g}",
                    holiday=rs.holiday_weeks,
                )
            )
        year_start = add_months(year_start, 12)
        year += 1
    return found


def check_elements(rs: RuleSet, facts: PlanFacts) -> list[PlanWarning]:
    """Mandatory elements present (cancelled ones do not count)."""
    present = {e.element_type for e in facts.elements if e.status is not ElementStatus.CANCELLED}
    found = []
    for element_type in rs.mandatory_elements:
        if element_type not in present:
            found.append(
                _warn(
                    rs,
                    "plan-mandatory-elements",
                    N_("The plan lacks a mandatory element: %(element)s."),
                    element=element_type.value,
                )
            )
    if (
        rs.parenting_when_children_under is not None
        and facts.has_children_under_18
        and PlanElementType.PARENTING not in present
    ):
        found.append(
            _warn(
                rs,
                "plan-parenting",
                N_(
                    "The participant has children under %(age)d: the plan needs a parenting course."
                ),
                age=rs.parenting_when_children_under,
            )
        )
    if rs.work_or_education_element_required and not present & WORK_OR_EDUCATION_ELEMENTS:
        found.append(
            _warn(
                rs,
                "plan-work-or-education",
                N_("The plan needs at least one element aimed at work or education."),
            )
        )
    return found


def check_plan(rs: RuleSet, facts: PlanFacts, today: date) -> list[PlanWarning]:
    """Every check; warnings only, a plan is saved regardless."""
    return [
        *check_length(rs, facts),
        *check_young(rs, facts),
        *check_hours(rs, facts, today),
        *check_elements(rs, facts),
    ]


def rule_set_of(participant: Participant, start: date | None, today: date) -> RuleSet:
    return rule_set_for(participant.country, start or today)


def facts_of_plan(
    plan: Plan,
    participant: Participant,
    mapping: CompetenceMapping | None,
    elements: Sequence[PlanElement] | None = None,
) -> PlanFacts:
    return PlanFacts(
        end_goal=plan.end_goal,
        programme_start_on=plan.programme_start_on,
        planned_end_on=plan.planned_end_on,
        hours_per_week_norm=float(plan.hours_per_week_norm),
        has_children_under_18=plan.has_children_under_18,
        elements=tuple(
            ElementFacts(e.element_type, e.start_on, e.end_on, float(e.hours_per_week), e.status)
            for e in (plan.elements if elements is None else elements)
        ),
        birth_date=participant.birth_date,
        has_upper_secondary=mapping.has_upper_secondary if mapping else None,
    )


def warnings_for(
    session: Session, participant: Participant, plan: Plan, today: date
) -> list[PlanWarning]:
    """The checks of the saved plan (reads the mapping; decrypts the birth date)."""
    rs = rule_set_of(participant, plan.programme_start_on, today)
    facts = facts_of_plan(plan, participant, current_mapping(session, participant))
    return check_plan(rs, facts, today)


# -- the plan -------------------------------------------------------------------------------


@dataclass
class PlanInput:
    end_goal: EndGoal | None = None
    long_term_goal: str = ""
    language_goals: dict[Skill, CefrLevel] = field(default_factory=dict)
    programme_start_on: date | None = None
    planned_end_on: date | None = None
    hours_per_week_norm: float | None = None
    has_children_under_18: bool = False
    contract_text: str = ""


@dataclass
class ElementInput:
    element_type: PlanElementType | None = None
    provider_unit_id: int | None = None
    start_on: date | None = None
    end_on: date | None = None
    hours_per_week: float | None = None
    status: ElementStatus = ElementStatus.PLANNED
    note: str = ""


def plan_of(session: Session, participant: Participant) -> Plan | None:
    return session.scalar(select(Plan).where(Plan.participant_id == participant.id))


def clean_plan_input(participant: Participant, data: PlanInput, today: date) -> PlanInput:
    """Validate a plan form; the first problem raises."""
    if data.end_goal is None:
        raise ValidationFailed(N_("Choose the end goal."), "end_goal")
    if data.programme_start_on is None:
        raise ValidationFailed(N_("Enter the start of the programme."), "programme_start_on")
    _near(data.programme_start_on, today, "programme_start_on")
    if data.planned_end_on is None:
        raise ValidationFailed(N_("Enter the planned end of the programme."), "planned_end_on")
    if data.planned_end_on <= data.programme_start_on:
        raise ValidationFailed(N_("The planned end must come after the start."), "planned_end_on")
    if (data.planned_end_on - data.programme_start_on).days > 366 * MAX_PROGRAMME_YEARS:
        raise ValidationFailed(N_("Check the date."), "planned_end_on")
    rs = rule_set_of(participant, data.programme_start_on, today)
    if data.hours_per_week_norm is None or float(data.hours_per_week_norm) not in tuple(
        float(n) for n in rs.hours_per_week_norms
    ):
        raise ValidationFailed(N_("Choose one of the hour norms."), "hours_per_week_norm")
    for skill, level in data.language_goals.items():
        if not isinstance(skill, Skill) or not isinstance(level, CefrLevel):
            raise ValidationFailed(N_("Choose a level for each skill."), "language_goals")
    return PlanInput(
        end_goal=data.end_goal,
        long_term_goal=_clean_text(data.long_term_goal, MAX_TEXT, "long_term_goal", lines=True),
        language_goals=dict(data.language_goals),
        programme_start_on=data.programme_start_on,
        planned_end_on=data.planned_end_on,
        hours_per_week_norm=float(data.hours_per_week_norm),
        has_children_under_18=bool(data.has_children_under_18),
        contract_text=_clean_text(data.contract_text, MAX_TEXT, "contract_text", lines=True),
    )


def clean_element_input(data: ElementInput, plan: Plan, today: date) -> ElementInput:
    if data.element_type is None:
        raise ValidationFailed(N_("Choose the kind of element."), "element_type")
    for name in ("start_on", "end_on"):
        value = getattr(data, name)
        if value is not None:
            _near(value, today, name)
    if data.start_on and data.end_on and data.end_on < data.start_on:
        raise ValidationFailed(N_("The end cannot come before the start."), "end_on")
    return ElementInput(
        element_type=data.element_type,
        provider_unit_id=data.provider_unit_id,
        start_on=data.start_on,
        end_on=data.end_on,
        hours_per_week=_check_hours(data.hours_per_week, "hours_per_week"),
        status=data.status,
        note=_clean_text(data.note, MAX_NOTE, "note", lines=True),
    )


def snapshot_of(plan: Plan, elements: Iterable[PlanElement]) -> dict[str, Any]:
    """The whole plan as plain JSON-able values (the contents of a version)."""
    return {
        "end_goal": plan.end_goal.value,
        "long_term_goal": plan.long_term_goal or "",
        "language_goals": {s.value: lvl.value for s, lvl in plan.goals_by_skill.items()},
        "programme_start_on": plan.programme_start_on.isoformat(),
        "planned_end_on": plan.planned_end_on.isoformat(),
        "hours_per_week_norm": float(plan.hours_per_week_norm),
        "has_children_under_18": bool(plan.has_children_under_18),
        "contract_text": plan.contract_text or "",
        "elements": [
            {
                "ref": e.ref,
                "element_type": e.element_type.value,
                "provider_unit_id": e.provider_unit_id,
                "provider_unit": e.provider_unit.name if e.provider_unit else "",
                "start_on": e.start_on.isoformat() if e.start_on else None,
                "end_on": e.end_on.isoformat() if e.end_on else None,
                "hours_per_week": float(e.hours_per_week),
                "status": e.status.value,
                "note": e.note or "",
            }
            for e in sorted(
                elements, key=lambda e: (e.start_on or date.min, e.element_type.value, e.ref)
            )
        ],
    }


def _new_version(
    session: Session, actor: Actor, plan: Plan, participant: Participant, reason: str
) -> PlanVersion:
    session.flush()
    session.refresh(plan, ["elements"])
    plan.current_version += 1
    version = PlanVersion(
        plan_id=plan.id,
        participant_id=participant.id,
        number=plan.current_version,
        created_by_id=actor.user.id if actor.user else None,
    )
    version.snapshot_json = json.dumps(snapshot_of(plan, plan.elements), ensure_ascii=False)
    version.reason = reason
    session.add(version)
    session.flush()
    return version


def _review_months(override: int | None, rs: RuleSet) -> int:
    return override if override and override > 0 else rs.plan_review_months


def save_plan(
    session: Session,
    actor: Actor,
    participant: Participant,
    expected_version: int,
    data: PlanInput,
    *,
    reason: str,
    today: date,
    review_months: int | None = None,
) -> PlanVersion:
    """The participant's advisor writes or changes the plan; every save is a new version.

    `expected_version` is the plan row's version the form was opened on (0 for a new plan).
    The review date is forced to today when the end goal changes or the planned end moves
    past the longest programme without extension.
    """
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    plan = plan_of(session, participant)
    if (plan.version if plan else 0) != expected_version:
        raise StaleEdit()
    clean = clean_plan_input(participant, data, today)
    reason = _clean_reason(reason)
    assert clean.end_goal and clean.programme_start_on and clean.planned_end_on
    rs = rule_set_of(participant, clean.programme_start_on, today)
    is_new = plan is None
    if plan is None:
        plan = Plan(participant_id=participant.id, current_version=0)
        session.add(plan)
        forced = False
    else:
        longest = rs.max_programme_months(clean.end_goal)
        was_over = longest is not None and plan.planned_end_on > last_day_within(
            plan.programme_start_on, longest
        )
        is_over = longest is not None and clean.planned_end_on > last_day_within(
            clean.programme_start_on, longest
        )
        forced = clean.end_goal is not plan.end_goal or (is_over and not was_over)
    plan.end_goal = clean.end_goal
    plan.programme_start_on = clean.programme_start_on
    plan.planned_end_on = clean.planned_end_on
    plan.hours_per_week_norm = float(clean.hours_per_week_norm or 0)
    plan.has_children_under_18 = clean.has_children_under_18
    plan.language_goals = format_language_goals(clean.language_goals)
    plan.long_term_goal = clean.long_term_goal or None
    plan.contract_text = clean.contract_text or None
    if is_new:
        plan.review_due_on = add_months(today, _review_months(review_months, rs))
    elif forced:
        plan.review_due_on = today
    version = _new_version(session, actor, plan, participant, reason)
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "plan.create" if is_new else "plan.update",
        grant,
        object_type="plan_version",
        object_ref=version.ref,
        field_categories=("plan",),
    )
    return version


def _plan_or_404(session: Session, participant: Participant) -> Plan:
    plan = plan_of(session, participant)
    if plan is None:
        raise NotFound()
    return plan


def _check_provider(session: Session, unit_id: int | None) -> None:
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None or not unit.is_active:
            raise ValidationFailed(N_("Choose a provider from the list."), "provider_unit")


def element_by_ref(session: Session, participant: Participant, ref: str) -> PlanElement:
    element = session.scalar(
        select(PlanElement).where(
            PlanElement.ref == ref, PlanElement.participant_id == participant.id
        )
    )
    if element is None:
        raise NotFound()
    return element


def _apply_element(element: PlanElement, clean: ElementInput) -> None:
    assert clean.element_type is not None and clean.hours_per_week is not None
    element.element_type = clean.element_type
    element.provider_unit_id = clean.provider_unit_id
    element.start_on = clean.start_on
    element.end_on = clean.end_on
    element.hours_per_week = clean.hours_per_week
    element.status = clean.status
    element.note = clean.note or None


def add_element(
    session: Session,
    actor: Actor,
    participant: Participant,
    expected_plan_version: int,
    data: ElementInput,
    *,
    reason: str,
    today: date,
) -> PlanVersion:
    """The participant's advisor adds an element; a new plan version records it."""
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    plan = _plan_or_404(session, participant)
    if plan.version != expected_plan_version:
        raise StaleEdit()
    clean = clean_element_input(data, plan, today)
    reason = _clean_reason(reason)
    _check_provider(session, clean.provider_unit_id)
    element = PlanElement(participant_id=participant.id, plan_id=plan.id)
    _apply_element(element, clean)
    session.add(element)
    version = _new_version(session, actor, plan, participant, reason)
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "plan.element_add",
        grant,
        object_type="plan_version",
        object_ref=version.ref,
        field_categories=("plan", "plan_element"),
    )
    return version


def update_element(
    session: Session,
    actor: Actor,
    participant: Participant,
    element_ref: str,
    expected_version: int,
    data: ElementInput,
    *,
    reason: str,
    today: date,
) -> PlanVersion | None:
    """The participant's advisor changes an element; a new plan version when anything
    changed (None when nothing did)."""
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    plan = _plan_or_404(session, participant)
    element = element_by_ref(session, participant, element_ref)
    if element.version != expected_version:
        raise StaleEdit()
    clean = clean_element_input(data, plan, today)
    reason = _clean_reason(reason)
    _check_provider(session, clean.provider_unit_id)
    before = snapshot_of(plan, [element])["elements"][0]
    _apply_element(element, clean)
    after = snapshot_of(plan, [element])["elements"][0]
    if {k: v for k, v in before.items() if k != "provider_unit"} == {
        k: v for k, v in after.items() if k != "provider_unit"
    }:
        return None
    version = _new_version(session, actor, plan, participant, reason)
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "plan.element_update",
        grant,
        object_type="plan_version",
        object_ref=version.ref,
        field_categories=("plan", "plan_element"),
    )
    return version


def remove_element(
    session: Session,
    actor: Actor,
    participant: Participant,
    element_ref: str,
    expected_version: int,
    *,
    reason: str,
    today: date,
) -> PlanVersion:
    """The participant's advisor removes an element (a mistake; a stopped element is
    better marked cancelled); a new plan version records it."""
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    plan = _plan_or_404(session, participant)
    element = element_by_ref(session, participant, element_ref)
    if element.version != expected_version:
        raise StaleEdit()
    reason = _clean_reason(reason)
    session.delete(element)
    version = _new_version(session, actor, plan, participant, reason)
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "plan.element_remove",
        grant,
        object_type="plan_version",
        object_ref=version.ref,
        field_categories=("plan", "plan_element"),
    )
    return version


# -- versions, agreement, diff ---------------------------------------------------------------


def versions_of(session: Session, plan: Plan) -> list[PlanVersion]:
    return list(
        session.scalars(
            select(PlanVersion)
            .where(PlanVersion.plan_id == plan.id)
            .order_by(PlanVersion.number.desc())
        )
    )


def version_by_number(session: Session, plan: Plan, number: int) -> PlanVersion:
    version = session.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == number)
    )
    if version is None:
        raise NotFound()
    return version


def latest_agreed(session: Session, plan: Plan) -> PlanVersion | None:
    return session.scalar(
        select(PlanVersion)
        .where(PlanVersion.plan_id == plan.id, PlanVersion.agreed_on.is_not(None))
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )


def mark_agreed(
    session: Session,
    actor: Actor,
    participant: Participant,
    number: int,
    *,
    agreed_on: date | None,
    interpreter_used: bool,
    language: str,
    today: date,
    review_months: int | None = None,
) -> PlanVersion:
    """The participant's advisor marks a version as agreed with the participant. The
    version's contents are untouched; the next review counts from the agreement."""
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    plan = _plan_or_404(session, participant)
    version = version_by_number(session, plan, number)
    if version.agreed_on is not None:
        raise ValidationFailed(N_("This version is already agreed."), "agreed_on")
    if agreed_on is None:
        raise ValidationFailed(N_("Enter the date of the agreement."), "agreed_on")
    if agreed_on > today:
        raise ValidationFailed(N_("The agreement cannot be dated in the future."), "agreed_on")
    if agreed_on < version.created_at.date():
        raise ValidationFailed(
            N_("The agreement cannot be dated before the version was saved."), "agreed_on"
        )
    language = (language or "").strip().lower()
    if language and not (2 <= len(language) <= 3 and language.isascii() and language.isalpha()):
        raise ValidationFailed(N_("Choose a language from the list."), "language")
    version.agreed_on = agreed_on
    version.interpreter_used = bool(interpreter_used)
    version.agreed_language = language or None
    version.agreed_by_id = actor.user.id if actor.user else None
    if plan.last_reviewed_on is None or agreed_on > plan.last_reviewed_on:
        rs = rule_set_of(participant, plan.programme_start_on, today)
        plan.last_reviewed_on = agreed_on
        plan.review_due_on = add_months(agreed_on, _review_months(review_months, rs))
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "plan.agree",
        grant,
        object_type="plan_version",
        object_ref=version.ref,
        field_categories=("plan_agreement",),
    )
    return version


@dataclass(frozen=True)
class FieldChange:
    field: str  # a snapshot key, or "language_goals.<skill>"
    before: Any
    after: Any


@dataclass(frozen=True)
class ElementChange:
    kind: str  # "added", "removed" or "changed"
    element_type: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class PlanDiff:
    fields: tuple[FieldChange, ...]
    elements: tuple[ElementChange, ...]

    @property
    def is_empty(self) -> bool:
        return not self.fields and not self.elements


PLAIN_FIELDS = (
    "end_goal",
    "long_term_goal",
    "programme_start_on",
    "planned_end_on",
    "hours_per_week_norm",
    "has_children_under_18",
    "contract_text",
)
ELEMENT_FIELDS = (
    "element_type",
    "provider_unit_id",
    "start_on",
    "end_on",
    "hours_per_week",
    "status",
    "note",
)


def diff(old: dict[str, Any], new: dict[str, Any]) -> PlanDiff:
    """Exactly the fields that differ between two snapshots, elements matched by ref."""
    fields = [
        FieldChange(name, old.get(name), new.get(name))
        for name in PLAIN_FIELDS
        if old.get(name) != new.get(name)
    ]
    old_goals, new_goals = old.get("language_goals") or {}, new.get("language_goals") or {}
    for skill in Skill:
        if old_goals.get(skill.value) != new_goals.get(skill.value):
            fields.append(
                FieldChange(
                    f"language_goals.{skill.value}",
                    old_goals.get(skill.value),
                    new_goals.get(skill.value),
                )
            )
    old_elements = {e["ref"]: e for e in old.get("elements") or []}
    new_elements = {e["ref"]: e for e in new.get("elements") or []}
    elements = []
    for ref, element in new_elements.items():
        if ref not in old_elements:
            elements.append(ElementChange("added", element["element_type"], None, element))
            continue
        before = old_elements[ref]
        changes = tuple(
            # A provider is compared by its unit id and shown by the name it had then.
            FieldChange(name, before.get("provider_unit"), element.get("provider_unit"))
            if name == "provider_unit_id"
            else FieldChange(name, before.get(name), element.get(name))
            for name in ELEMENT_FIELDS
            if before.get(name) != element.get(name)
        )
        if changes:
            elements.append(
                ElementChange("changed", element["element_type"], before, element, changes)
            )
    for ref, element in old_elements.items():
        if ref not in new_elements:
            elements.append(ElementChange("removed", element["element_type"], element, None))
    return PlanDiff(tuple(fields), tuple(elements))


# -- review -----------------------------------------------------------------------------------


def record_review(
    session: Session,
    actor: Actor,
    participant: Participant,
    expected_plan_version: int,
    *,
    reviewed_on: date | None,
    note: str,
    today: date,
    review_months: int | None = None,
) -> PlanReview:
    """The participant's advisor records a review of the plan; the next one falls due
    `plan_review_months` later (or the deployment's setting)."""
    grant = actor.authorise(Action.PLAN_EDIT, participant)
    plan = _plan_or_404(session, participant)
    if plan.version != expected_plan_version:
        raise StaleEdit()
    if reviewed_on is None:
        raise ValidationFailed(N_("Enter the date of the review."), "reviewed_on")
    if reviewed_on > today:
        raise ValidationFailed(N_("The review cannot be dated in the future."), "reviewed_on")
    _near(reviewed_on, today, "reviewed_on")
    note = _clean_text(note, MAX_NOTE, "note", lines=True)
    rs = rule_set_of(participant, plan.programme_start_on, today)
    next_due = add_months(reviewed_on, _review_months(review_months, rs))
    review = PlanReview(
        plan_id=plan.id,
        participant_id=participant.id,
        reviewed_on=reviewed_on,
        next_due_on=next_due,
        created_by_id=actor.user.id if actor.user else None,
    )
    review.note = note or None
    session.add(review)
    plan.last_reviewed_on = max(reviewed_on, plan.last_reviewed_on or reviewed_on)
    plan.review_due_on = next_due
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "plan.review",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("plan_review",),
    )
    return review


def reviews_of(session: Session, plan: Plan, limit: int = 20) -> list[PlanReview]:
    return list(
        session.scalars(
            select(PlanReview)
            .where(PlanReview.plan_id == plan.id)
            .order_by(PlanReview.reviewed_on.desc(), PlanReview.id.desc())
            .limit(limit)
        )
    )


def require_review(session: Session, participant: Participant, today: date) -> None:
    """Make the plan's review due today (an extension decision was recorded, for example).

    For other modules' operations, which authorise and audit the change themselves.
    """
    plan = plan_of(session, participant)
    if plan is None:
        return
    plan.review_due_on = today
    session.flush()
    refresh_deadlines(participant, today)


# -- deadlines provider --------------------------------------------------------------------------


def _plan_deadlines(session: Session, participant: Participant, today: date) -> list[Due]:
    plan = plan_of(session, participant)
    if plan is None:
        return []
    try:
        rs = rule_set_of(participant, plan.programme_start_on, today)
    except LookupError:
        return []
    found = []
    if plan.review_due_on is not None:
        found.append(
            Due(
                kind=DeadlineKind.PLAN_REVIEW,
                due_on=plan.review_due_on,
                met_on=participant.programme_end_on,
                rule_id=f"{rs.rule_prefix}/plan-review",
                rule_set=rs.version,
                explanation=N_(
                    "The plan is reviewed with the participant every %(months)d months."
                ),
                params=frozen_params(months=rs.plan_review_months),
                source_ref=plan.ref,
            )
        )
    found.append(
        Due(
            kind=DeadlineKind.PLANNED_END,
            due_on=plan.planned_end_on,
            met_on=participant.programme_end_on,
            rule_id=f"{rs.rule_prefix}/planned-end",
            rule_set=rs.version,
            explanation=N_("The programme ends as planned, is extended or is ended."),
            params=frozen_params(),
            source_ref=plan.ref,
        )
    )
    return found


register_provider("plans", _plan_deadlines)
