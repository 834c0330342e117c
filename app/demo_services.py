"""Made-up housing and work placements for the demo: employers with contacts and
agreements, placements with evaluations (one offered to the plan), housing histories
with housing notes (one contract ending soon).

Written through the domain operations as the demo advisor, each participant's story
in its own savepoint, like `app.demo_casework`. Only for `veiviser demo`.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.accounts import Unit, User
from models.codes import Country
from models.errors import DomainError
from models.housing import (
    HousingInput,
    HousingNoteInput,
    HousingNoteKind,
    HousingType,
    log_housing_note,
    record_housing,
)
from models.participants import Participant
from models.placements import (
    AgreementInput,
    AgreementKind,
    ContactInput,
    Employer,
    EmployerContact,
    EmployerInput,
    EvaluationInput,
    JobOutcome,
    PlacementInput,
    PlacementStatus,
    PlacementType,
    add_agreement,
    add_contact,
    add_evaluation,
    add_placement_to_plan,
    create_employer,
    create_placement,
)
from models.plans import Plan
from models.policy import Actor
from models.tasks import NextAction

DEMO_ADVISOR = "advisor@demo.veiviser.no"
# (name, organisation number with a valid check digit, industry, supervisor)
EMPLOYERS = (
    ("Kiwi Strømmen", "923456783", "Dagligvare", "Kari Nilsen"),
    ("Lillestrøm sykehjem", "934567897", "Helse og omsorg", "Ole Hansen"),
    ("Bygg og Betong AS", "945678909", "Bygg og anlegg", "Ahmed Yusuf"),
)
STREETS = ("Storgata", "Jernbanegata", "Solheimveien", "Kirkegata", "Nittedalsgata")


def _employers(
    session: Session, actor: Actor, unit_id: int, today: date
) -> list[tuple[Employer, EmployerContact]]:
    made = []
    for name, org_number, industry, supervisor in EMPLOYERS:
        employer = create_employer(
            session,
            actor,
            unit_id,
            EmployerInput(
                name=name,
                country=Country.NORWAY,
                org_number=org_number,
                industry=industry,
                address="Lillestrøm",
                notes="Fast samarbeidspartner for språkpraksis.",
            ),
        )
        contact = add_contact(
            session,
            actor,
            employer,
            ContactInput(name=supervisor, job_title="Avdelingsleder", phone="+47 912 34 567"),
        )
        add_agreement(
            session,
            actor,
            employer,
            AgreementInput(
                kind=AgreementKind.PLACEMENT,
                valid_from=today - timedelta(days=200),
                valid_to=today + timedelta(days=165),
                note="Rammeavtale om praksisplasser.",
            ),
            today=today,
        )
        made.append((employer, contact))
    return made


def _placement(
    session: Session,
    actor: Actor,
    participant: Participant,
    index: int,
    employer: Employer,
    supervisor: EmployerContact,
    today: date,
) -> None:
    started = today - timedelta(days=40 + 10 * index)
    placement = create_placement(
        session,
        actor,
        participant,
        PlacementInput(
            employer_ref=employer.ref,
            supervisor_ref=supervisor.ref,
            placement_type=(PlacementType.LANGUAGE_PRACTICE, PlacementType.WORK_PRACTICE)[
                index % 2
            ],
            start_on=started,
            end_on=started + timedelta(days=120),
            days_per_week=3,
            hours_per_week=18,
            goals="Bruke norsk med kunder og kolleger\nMøte presis\nLære rutinene på varelageret",
            status=PlacementStatus.ONGOING,
            outcome=JobOutcome.UNKNOWN,
        ),
        today=today,
    )
    add_evaluation(
        session,
        actor,
        participant,
        placement,
        EvaluationInput(
            evaluated_on=today - timedelta(days=7),
            summary="God innsats. Forstår beskjeder, trenger øvelse i å ta telefonen.",
            ratings=[3, 4, 2],
            next_steps="Øve på kundesamtaler; ny evaluering om fire uker.",
        ),
        today=today,
    )
    if index == 0 and session.scalar(select(Plan.id).where(Plan.participant_id == participant.id)):
        add_placement_to_plan(
            session, actor, participant, placement, placement.version, today=today
        )


def _housing(
    session: Session, actor: Actor, participant: Participant, index: int, today: date
) -> None:
    user = actor.user
    assert user is not None
    moved_in = today - timedelta(days=400 + 30 * index)
    record_housing(
        session,
        actor,
        participant,
        HousingInput(
            housing_type=HousingType.TEMPORARY,
            municipality="Lillestrøm",
            address=f"Mottaksveien {index + 1}",
            household_size=1 + index % 4,
            contract_start_on=moved_in,
            contract_end_on=moved_in + timedelta(days=120),
        ),
        today=today,
    )
    record_housing(
        session,
        actor,
        participant,
        HousingInput(
            housing_type=(HousingType.MUNICIPAL, HousingType.PRIVATE_RENTAL)[index % 2],
            municipality="Lillestrøm",
            address=f"{STREETS[index % len(STREETS)]} {10 + index}, 2000 Lillestrøm",
            landlord="Lillestrøm kommune, boligkontoret, tlf. 66 93 80 00",
            household_size=1 + index % 4,
            contract_start_on=moved_in + timedelta(days=121),
            # The first one's contract ends soon: it shows among the deadlines.
            contract_end_on=today + timedelta(days=45 if index == 0 else 400),
        ),
        today=today,
    )
    log_housing_note(
        session,
        actor,
        participant,
        HousingNoteInput(
            noted_on=today - timedelta(days=3 + index),
            kind=HousingNoteKind.HOME_VISIT,
            note="Boveiledning: gikk gjennom strømavtale og søppelsortering.",
            next_actions=[
                NextAction(
                    title="Hjelpe med søknad om bostøtte",
                    assignee=user,
                    assignee_given=True,
                    due_on=today + timedelta(days=10 + index),
                )
            ],
        ),
        today=today,
    )


def load_services(session: Session, today: date, *, count: int = 6) -> int:
    """Housing and placements for the demo advisor's first participants in the programme;
    returns how many got some. Does nothing when an employer exists."""
    if session.scalar(select(Employer.id).limit(1)) is not None:
        return 0
    advisor = session.scalar(select(User).where(User.email == DEMO_ADVISOR))
    if advisor is None:
        return 0
    actor = Actor(advisor)
    unit_id = advisor.memberships[0].unit_id
    if session.get(Unit, unit_id) is None:
        return 0
    employers = _employers(session, actor, unit_id, today)
    participants = list(
        session.scalars(
            select(Participant)
            .where(
                Participant.primary_advisor_id == advisor.id,
                Participant.settlement_on.is_not(None),
            )
            .order_by(Participant.id)
            .limit(count)
        )
    )
    done = 0
    for index, participant in enumerate(participants):
        try:
            with session.begin_nested():
                _housing(session, actor, participant, index, today)
                if index < 4:
                    employer, supervisor = employers[index % len(employers)]
                    _placement(session, actor, participant, index, employer, supervisor, today)
            done += 1
        except DomainError:
            continue  # a made-up story the rules refuse: the others still load
    return done
