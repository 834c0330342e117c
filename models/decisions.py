"""Decisions (vedtak), appeals and the end of the programme.

A **decision** is a formal, appealable decision about a participant. Its appeal
deadline is computed — never typed — from the rule set in force on the decision
date: the notice date (or, until the participant has been told, the decision
date) plus the rule set's `appeal_weeks`. It is stored with the rule set version
it was computed under, so the list and the deadlines engine read it in SQL.

The **programme end** is one row per participant: date, kind, reason and the main
activity right after, and later the main activity 12 months on. These are codes
and dates in clear columns, with the participant's unit copied in, because the
unit leader's outcome figures count them by unit and period.

Free text (a decision's note, a correction's reason) is sealed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.accounts import User
from models.base import Base, UTCDateTime, Versioned, code_enum, utcnow
from models.codes import (
    AppealOutcome,
    DecisionType,
    MainActivity,
    ParticipantStatus,
    PlanElementType,
    ProgrammeEndKind,
    ProgrammeEndReason,
)
from models.crypto import Encrypted, Referenced, Sealed
from models.deadlines import Due, frozen_params, register_provider
from models.errors import N_, DomainError, NotFound, StaleEdit, ValidationFailed
from models.participants import Participant, refresh_deadlines
from models.policy import Action, Actor
from models.rules import DeadlineKind, NoRuleSet, RuleSet, add_months, rule_set_for

MAX_NOTE = 4000
MAX_CORRECTION_REASON = 1000
MIN_CORRECTION_REASON = 10
# The status "12 months after" may be recorded from this many days before the
# anniversary of the end: a follow-up call is rarely made on the exact day, and the
# national register (NIR) asks for the status around that date, not after it.
TWELVE_MONTH_TOLERANCE_DAYS = 14
TWELVE_MONTHS = 12


class Decision(Referenced, Versioned, Base):
    """One formal decision about a participant and what became of an appeal against it."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_participant_decided", "participant_id", "decided_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    decision_type: Mapped[DecisionType] = mapped_column(code_enum(DecisionType, 30))
    decided_on: Mapped[date] = mapped_column(Date)
    notified_on: Mapped[date | None] = mapped_column(Date)
    # Computed from the rule set on every save; never typed.
    appeal_due_on: Mapped[date] = mapped_column(Date)
    rule_set: Mapped[str] = mapped_column(String(40))
    appeal_received_on: Mapped[date | None] = mapped_column(Date)
    appeal_outcome: Mapped[AppealOutcome | None] = mapped_column(code_enum(AppealOutcome, 30))
    note_sealed: Mapped[bytes | None] = mapped_column("note", Sealed)
    note = Encrypted("note_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")

    def appeal_status(self, today: date) -> AppealStatus:
        """Where the appeal stands on `today` (the deadline day itself is still open)."""
        if self.appeal_received_on is not None:
            return AppealStatus.DECIDED if self.appeal_outcome else AppealStatus.RECEIVED
        return AppealStatus.OPEN if today <= self.appeal_due_on else AppealStatus.EXPIRED


class AppealStatus(enum.StrEnum):
    """Where an appeal stands on a given day."""

    OPEN = "open"
    EXPIRED = "expired"
    RECEIVED = "received"
    DECIDED = "decided"


APPEAL_STATUS_LABELS = {
    AppealStatus.OPEN: N_("Appeal period open"),
    AppealStatus.EXPIRED: N_("Appeal period expired"),
    AppealStatus.RECEIVED: N_("Appeal received"),
    AppealStatus.DECIDED: N_("Appeal decided"),
}


class ProgrammeEnd(Referenced, Versioned, Base):
    """How and when a participant's programme ended, and where they were 12 months later."""

    __tablename__ = "programme_ends"
    __table_args__ = (Index("ix_programme_ends_unit_ended", "unit_id", "ended_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True
    )
    # The unit responsible when the programme ended: outcome figures count by it.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    ended_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[ProgrammeEndKind] = mapped_column(code_enum(ProgrammeEndKind, 30))
    reason: Mapped[ProgrammeEndReason] = mapped_column(code_enum(ProgrammeEndReason, 30))
    activity_after: Mapped[MainActivity] = mapped_column(code_enum(MainActivity, 30))
    activity_12m: Mapped[MainActivity | None] = mapped_column(code_enum(MainActivity, 30))
    activity_12m_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The latest correction: when, by whom and why (the audit log keeps every one).
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    correction_reason_sealed: Mapped[bytes | None] = mapped_column("correction_reason", Sealed)
    correction_reason = Encrypted("correction_reason_sealed")

    @property
    def twelve_month_from(self) -> date:
        """The first day the status 12 months later may be recorded."""
        return twelve_month_opens(self.ended_on)


def twelve_month_opens(ended_on: date) -> date:
    """End date + 12 months − the tolerance (`TWELVE_MONTH_TOLERANCE_DAYS`)."""
    return add_months(ended_on, TWELVE_MONTHS) - timedelta(days=TWELVE_MONTH_TOLERANCE_DAYS)


# -- decisions -----------------------------------------------------------------------


@dataclass
class DecisionInput:
    """What the decision form hands to the domain, already typed."""

    decision_type: DecisionType | None = None
    decided_on: date | None = None
    notified_on: date | None = None
    appeal_received_on: date | None = None
    appeal_outcome: AppealOutcome | None = None
    note: str = ""


def rules_for_decision(participant: Participant, decided_on: date) -> RuleSet:
    """The rule set in force on the decision date (a DomainError when there is none)."""
    try:
        return rule_set_for(participant.country, decided_on)
    except NoRuleSet as exc:
        raise ValidationFailed(exc.message, "decided_on", **exc.params) from None


def appeal_deadline(rs: RuleSet, decided_on: date, notified_on: date | None) -> date:
    """The last day an appeal is on time: the notice date (or, while the participant has not
    been told, the decision date) + the rule set's `appeal_weeks`."""
    return (notified_on or decided_on) + timedelta(weeks=rs.appeal_weeks)


def _clean_decision(data: DecisionInput, today: date) -> tuple[DecisionType, date, str]:
    if data.decision_type is None:
        raise ValidationFailed(N_("Choose the type of decision."), "decision_type")
    if data.decided_on is None:
        raise ValidationFailed(N_("Enter the date of the decision."), "decided_on")
    if data.decided_on > today:
        raise ValidationFailed(N_("The decision date cannot be in the future."), "decided_on")
    if data.notified_on is not None:
        if data.notified_on < data.decided_on:
            raise ValidationFailed(
                N_("The participant cannot have been told before the decision was made."),
                "notified_on",
            )
        if data.notified_on > today:
            raise ValidationFailed(N_("The notice date cannot be in the future."), "notified_on")
    if data.appeal_received_on is not None:
        if data.appeal_received_on < data.decided_on:
            raise ValidationFailed(
                N_("An appeal cannot be received before the decision was made."),
                "appeal_received_on",
            )
        if data.appeal_received_on > today:
            raise ValidationFailed(
                N_("The date the appeal was received cannot be in the future."),
                "appeal_received_on",
            )
    elif data.appeal_outcome is not None:
        raise ValidationFailed(
            N_("An outcome can be recorded only when an appeal was received."), "appeal_outcome"
        )
    note = (data.note or "").strip()
    if "\x00" in note:
        raise ValidationFailed(N_("The note contains a character that cannot be stored."), "note")
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), "note", max=MAX_NOTE
        )
    return data.decision_type, data.decided_on, note


def _after_decision(
    session: Session,
    participant: Participant,
    decision: Decision,
    previous_decided_on: date | None,
    today: date,
) -> None:
    if decision.decision_type is DecisionType.PROGRAMME and (
        participant.programme_decision_on is None
        or participant.programme_decision_on == previous_decided_on
    ):
        # The programme decision meets the legal deadline; a corrected date follows it.
        participant.programme_decision_on = decision.decided_on
    if decision.decision_type is DecisionType.EXTENSION:
        # The law forces a plan review when the programme is extended (models.plans owns it;
        # imported here because models.plans reads this module's neighbours at import time).
        from models.plans import require_review

        require_review(session, participant, today)
    session.flush()
    refresh_deadlines(participant, today)


def _apply_decision(
    decision: Decision, participant: Participant, data: DecisionInput, today: date
) -> set[str]:
    decision_type, decided_on, note = _clean_decision(data, today)
    rs = rules_for_decision(participant, decided_on)
    values: dict[str, Any] = {
        "decision_type": decision_type,
        "decided_on": decided_on,
        "notified_on": data.notified_on,
        "appeal_due_on": appeal_deadline(rs, decided_on, data.notified_on),
        "rule_set": rs.version,
        "appeal_received_on": data.appeal_received_on,
        "appeal_outcome": data.appeal_outcome if data.appeal_received_on else None,
    }
    changed = set()
    for name, value in values.items():
        if getattr(decision, name, None) != value:
            setattr(decision, name, value)
            changed.add(name)
    if (decision.note or "") != note:
        decision.note = note or None
        changed.add("note")
    return changed


def _categories(changed: Iterable[str]) -> tuple[str, ...]:
    names = set(changed)
    categories = {"decision"} if names - {"note"} else set()
    if "note" in names:
        categories.add("decision_note")
    return tuple(sorted(categories))


def record_decision(
    session: Session,
    actor: Actor,
    participant: Participant,
    data: DecisionInput,
    *,
    today: date,
) -> Decision:
    """The assigned advisor records a decision; the appeal deadline is computed.

    A programme decision fills the participant's programme decision date when it is
    empty; an extension forces a plan review. Deadlines are refreshed.
    """
    grant = actor.authorise(Action.DECISION_WRITE, participant)
    decision = Decision(
        participant_id=participant.id,
        created_by_id=actor.user.id if actor.user else None,
    )
    changed = _apply_decision(decision, participant, data, today)
    session.add(decision)
    session.flush()
    _after_decision(session, participant, decision, None, today)
    actor.record(
        session,
        "decision.create",
        grant,
        object_type="decision",
        object_ref=decision.ref,
        field_categories=_categories(changed),
    )
    return decision


def update_decision(
    session: Session,
    actor: Actor,
    participant: Participant,
    decision: Decision,
    expected_version: int,
    data: DecisionInput,
    *,
    today: date,
) -> set[str]:
    """The assigned advisor corrects a decision or records the appeal and its outcome."""
    grant = actor.authorise(Action.DECISION_WRITE, participant)
    if decision.participant_id != participant.id:
        raise NotFound()
    if decision.version != expected_version:
        raise StaleEdit()
    previous = decision.decided_on if decision.decision_type is DecisionType.PROGRAMME else None
    changed = _apply_decision(decision, participant, data, today)
    if not changed:
        return changed
    session.flush()
    _after_decision(session, participant, decision, previous, today)
    actor.record(
        session,
        "decision.update",
        grant,
        object_type="decision",
        object_ref=decision.ref,
        field_categories=_categories(changed),
    )
    return changed


def decisions_query(participant: Participant) -> Any:
    """The participant's decisions, newest first (the caller checked the section)."""
    return (
        select(Decision)
        .where(Decision.participant_id == participant.id)
        .order_by(Decision.decided_on.desc(), Decision.id.desc())
    )


def get_decision(session: Session, participant: Participant, ref: str) -> Decision:
    decision = session.scalar(
        select(Decision).where(Decision.ref == ref, Decision.participant_id == participant.id)
    )
    if decision is None:
        raise NotFound()
    return decision


# -- the deadlines provider --------------------------------------------------------


def appeal_deadlines(session: Session, participant: Participant, today: date) -> list[Due]:
    """One APPEAL deadline per decision whose appeal period is open or whose appeal came in.

    * appeal received → the deadline is met on the day it was received;
    * period still open (up to and including the deadline day) → unmet, so it shows
      as due soon and may become the participant's next deadline;
    * period passed without an appeal → left out. The appeal deadline is the
      participant's right, not a task of the municipality: nobody failed anything
      when it expires, so it must not show as overdue or linger as the caseload's
      next deadline. The decision list still shows it as "appeal period expired".
    """
    rows = session.scalars(
        select(Decision)
        .where(
            Decision.participant_id == participant.id,
            or_(Decision.appeal_received_on.is_not(None), Decision.appeal_due_on >= today),
        )
        .order_by(Decision.appeal_due_on, Decision.id)
    )
    found = []
    for decision in rows:
        rs = rules_for_decision(participant, decision.decided_on)
        found.append(
            Due(
                kind=DeadlineKind.APPEAL,
                due_on=decision.appeal_due_on,
                met_on=decision.appeal_received_on,
                rule_id=f"{rs.rule_prefix}/appeal-deadline",
                rule_set=rs.version,
                explanation=N_(
                    "A decision may be appealed within %(weeks)d weeks of the day the "
                    "participant was told about it."
                ),
                params=frozen_params(weeks=rs.appeal_weeks),
                source_ref=decision.ref,
            )
        )
    return found


register_provider("decisions", appeal_deadlines)


# -- the end of the programme ------------------------------------------------------


class AlreadyEnded(DomainError):
    """The programme was ended before; a correction is the way to change it."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__(
            N_("The programme has already ended. Use the correction form to change the end.")
        )


@dataclass
class EndInput:
    ended_on: date | None = None
    kind: ProgrammeEndKind | None = None
    reason: ProgrammeEndReason | None = None
    activity_after: MainActivity | None = None


def _clean_end(participant: Participant, data: EndInput, today: date) -> dict[str, Any]:
    if data.ended_on is None:
        raise ValidationFailed(N_("Enter the date the programme ended."), "ended_on")
    if data.ended_on > today:
        raise ValidationFailed(N_("The end date cannot be in the future."), "ended_on")
    start = participant.programme_start_on or participant.programme_decision_on
    if start is not None and data.ended_on < start:
        raise ValidationFailed(
            N_("The programme cannot end before it started (%(start)s)."),
            "ended_on",
            start=start.isoformat(),
        )
    if data.kind is None:
        raise ValidationFailed(N_("Choose how the programme ended."), "kind")
    if data.reason is None:
        raise ValidationFailed(N_("Choose the reason for the end."), "reason")
    if data.activity_after is None:
        raise ValidationFailed(
            N_("Choose the participant's main activity right after the programme."),
            "activity_after",
        )
    return {
        "ended_on": data.ended_on,
        "kind": data.kind,
        "reason": data.reason,
        "activity_after": data.activity_after,
    }


def get_end(session: Session, participant: Participant) -> ProgrammeEnd | None:
    return session.scalar(select(ProgrammeEnd).where(ProgrammeEnd.participant_id == participant.id))


def end_programme(
    session: Session,
    actor: Actor,
    participant: Participant,
    data: EndInput,
    *,
    today: date,
) -> ProgrammeEnd:
    """The assigned advisor ends the programme: the participant's status becomes ENDED.

    Ending twice is refused (`AlreadyEnded`); use `correct_end`.
    """
    grant = actor.authorise(Action.PROGRAMME_END, participant)
    if participant.status is ParticipantStatus.ENDED or get_end(session, participant):
        raise AlreadyEnded()
    if participant.status is ParticipantStatus.NOT_ENTITLED:
        raise ValidationFailed(N_("This person is not in the programme."), "ended_on")
    values = _clean_end(participant, data, today)
    end = ProgrammeEnd(
        participant_id=participant.id,
        unit_id=participant.unit_id,
        recorded_by_id=actor.user.id if actor.user else None,
        **values,
    )
    session.add(end)
    participant.status = ParticipantStatus.ENDED
    participant.programme_end_on = end.ended_on
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "programme.end",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("programme_end",),
    )
    return end


def correct_end(
    session: Session,
    actor: Actor,
    participant: Participant,
    end: ProgrammeEnd,
    expected_version: int,
    data: EndInput,
    *,
    reason: str,
    today: date,
) -> set[str]:
    """The assigned advisor corrects a recorded end; a reason is required and kept."""
    grant = actor.authorise(Action.PROGRAMME_END, participant)
    if end.participant_id != participant.id:
        raise NotFound()
    if end.version != expected_version:
        raise StaleEdit()
    values = _clean_end(participant, data, today)
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_CORRECTION_REASON:
        raise ValidationFailed(
            N_("Explain the correction (at least %(min)d characters)."),
            "correction_reason",
            min=MIN_CORRECTION_REASON,
        )
    if len(reason) > MAX_CORRECTION_REASON:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."),
            "correction_reason",
            max=MAX_CORRECTION_REASON,
        )
    if (
        end.activity_12m_on is not None
        and values["ended_on"] != end.ended_on
        and end.activity_12m_on < twelve_month_opens(values["ended_on"])
    ):
        raise ValidationFailed(
            N_(
                "With this end date the status 12 months later, recorded on %(date)s, would be "
                "too early. Correct that status first."
            ),
            "ended_on",
            date=end.activity_12m_on.isoformat(),
        )
    changed = {name for name, value in values.items() if getattr(end, name) != value}
    if not changed:
        return changed
    for name in changed:
        setattr(end, name, values[name])
    end.corrected_at = utcnow()
    end.corrected_by_id = actor.user.id if actor.user else None
    end.correction_reason = reason
    participant.programme_end_on = end.ended_on
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "programme.end_correct",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("programme_end", "correction_reason"),
    )
    return changed


def record_twelve_month_status(
    session: Session,
    actor: Actor,
    participant: Participant,
    end: ProgrammeEnd,
    expected_version: int,
    *,
    activity: MainActivity | None,
    recorded_on: date | None,
    today: date,
) -> None:
    """The assigned advisor records the main activity 12 months after the end.

    Allowed from the end date + 12 months − `TWELVE_MONTH_TOLERANCE_DAYS` days, and not
    for a future day; recording it again replaces the earlier answer.
    """
    grant = actor.authorise(Action.PROGRAMME_END, participant)
    if end.participant_id != participant.id:
        raise NotFound()
    if end.version != expected_version:
        raise StaleEdit()
    if activity is None:
        raise ValidationFailed(N_("Choose the participant's main activity."), "activity")
    if recorded_on is None:
        raise ValidationFailed(N_("Enter the date the status was found out."), "recorded_on")
    if recorded_on > today:
        raise ValidationFailed(N_("The date cannot be in the future."), "recorded_on")
    opens = end.twelve_month_from
    if recorded_on < opens:
        raise ValidationFailed(
            N_("The status 12 months later can be recorded from %(date)s."),
            "recorded_on",
            date=opens.isoformat(),
        )
    end.activity_12m = activity
    end.activity_12m_on = recorded_on
    session.flush()
    actor.record(
        session,
        "programme.status_12m",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("programme_end",),
    )


# -- the participation certificate -------------------------------------------------


@dataclass(frozen=True)
class CertificateLine:
    """One completed plan element on the certificate."""

    element_type: PlanElementType
    start_on: date
    end_on: date
    hours_per_week: float
    hours: float


def element_hours(start_on: date, end_on: date, hours_per_week: float) -> float:
    """Hours of one element: whole days from start to end inclusive, as weeks (÷ 7),
    times the hours per week, rounded to whole hours.

    Holidays inside the period are not subtracted: the plan element states its
    hours per week over its period, and the certificate restates the plan.
    """
    days = (end_on - start_on).days + 1
    if days <= 0 or hours_per_week <= 0:
        return 0.0
    return float(round(days / 7 * hours_per_week))


def completed_elements(session: Session, participant: Participant) -> list[CertificateLine]:
    """The participant's plan elements with status DONE, oldest first, with their hours.

    Hours per element: see `element_hours`. Elements without both dates are left out.
    """
    from models.codes import ElementStatus
    from models.plans import PlanElement

    rows = session.execute(
        select(
            PlanElement.element_type,
            PlanElement.start_on,
            PlanElement.end_on,
            PlanElement.hours_per_week,
        )
        .where(
            PlanElement.participant_id == participant.id, PlanElement.status == ElementStatus.DONE
        )
        .order_by(PlanElement.start_on, PlanElement.id)
    )
    lines = []
    for element_type, start_on, end_on, per_week in rows:
        if start_on is None or end_on is None:
            continue
        per_week = float(per_week or 0)
        lines.append(
            CertificateLine(
                element_type=element_type,
                start_on=start_on,
                end_on=end_on,
                hours_per_week=per_week,
                hours=element_hours(start_on, end_on, per_week),
            )
        )
    return lines
