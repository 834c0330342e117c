"""Retention: anonymise participants a set number of years after their programme ended.

What goes: every sealed value (names, identifiers, birth date, contact details,
notes), the blind indexes, and every sealed value of the records that belong to
the participant (consents, corrections, break-the-glass reasons, plans, follow-ups,
tasks, decisions and the later modules' records). What stays, for statistics: unit, status, country,
sex, permit category, language codes, settlement municipality, the dates of
programme events and the birth year. Each anonymised record leaves a line in
the deletion log; the audit log holds no personal data and stays whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.codes import Country, ParticipantStatus
from models.crypto import Encrypted
from models.participants import Participant
from models.policy import Actor
from models.rules import add_months, rule_set_for

BATCH = 500


class DeletionLog(Base):
    """One line per anonymised participant: which rule, when; no personal data."""

    __tablename__ = "deletion_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_ref: Mapped[str] = mapped_column(String(24), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    programme_end_on: Mapped[date | None] = mapped_column(Date)
    retention_years: Mapped[int] = mapped_column(Integer)
    rule_set: Mapped[str] = mapped_column(String(40))
    anonymised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class Candidate:
    participant_id: int
    ref: str
    unit_id: int
    programme_end_on: date
    retention_years: int
    rule_set: str


def candidates(session: Session, today: date, years: int | None = None) -> list[Candidate]:
    """Ended programmes past their retention period, oldest first (the dry run shows these)."""
    found = []
    rows = session.execute(
        select(
            Participant.id,
            Participant.ref,
            Participant.unit_id,
            Participant.country,
            Participant.programme_end_on,
        )
        .where(
            Participant.anonymised_at.is_(None),
            Participant.status == ParticipantStatus.ENDED,
            Participant.programme_end_on.is_not(None),
            Participant.programme_end_on < today,
        )
        .order_by(Participant.programme_end_on, Participant.id)
    )
    for ident, ref, unit_id, country, ended in rows:
        assert ended is not None  # filtered above
        rules = rule_set_for(Country(country), today)  # the retention rule in force now
        keep = years if years is not None else rules.retention_years_after_end
        if add_months(ended, 12 * keep) <= today:
            found.append(Candidate(ident, ref, unit_id, ended, keep, rules.version))
    return found


def anonymise(session: Session, participant: Participant) -> None:
    birth = participant.birth_date
    participant.anonymised_birth_year = birth.year if birth else None
    for owner, field in Encrypted.registry:
        if owner is Participant:
            setattr(participant, field.sealed_attr, None)
    participant.national_id_index = None
    participant.duf_index = None
    participant.anonymised_at = utcnow()
    for model, sealed in participant_sealed_columns().items():
        session.execute(
            update(model)
            .where(model.participant_id == participant.id)
            .values(dict.fromkeys(sealed))
            .execution_options(synchronize_session=False)
        )


def participant_sealed_columns() -> dict[type[Any], list[str]]:
    """Every model that holds sealed values about one participant, with those columns.

    Found through the encryption registry: a model with a `participant_id` column and
    sealed values (follow-up summaries, task titles, plan versions, notes of any later
    module) is blanked with the participant, so no module has to remember to join in.
    """
    found: dict[type[Any], list[str]] = {}
    for owner, field in Encrypted.registry:
        if owner is not Participant and hasattr(owner, "participant_id"):
            found.setdefault(owner, []).append(field.sealed_attr)
    return found


def run(session: Session, actor: Actor, today: date, years: int | None = None) -> int:
    """Anonymise every candidate, committing per batch; returns how many."""
    done = 0
    chosen = candidates(session, today, years)
    for start in range(0, len(chosen), BATCH):
        batch = chosen[start : start + BATCH]
        for candidate in batch:
            participant = session.get(Participant, candidate.participant_id)
            if participant is None or participant.anonymised_at is not None:
                continue
            anonymise(session, participant)
            session.add(
                DeletionLog(
                    participant_ref=candidate.ref,
                    unit_id=candidate.unit_id,
                    programme_end_on=candidate.programme_end_on,
                    retention_years=candidate.retention_years,
                    rule_set=candidate.rule_set,
                )
            )
            done += 1
        actor.record(
            session,
            "retention.run",
            None,
            object_type="participant",
            field_categories=(f"count:{len(batch)}",),
        )
        session.commit()
    return done
