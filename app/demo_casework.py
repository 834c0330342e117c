"""Made-up case work for the demo: mappings, plans, follow-ups with tasks, decisions, an end.

Written through the domain operations as the demo advisor, so every row is what
the forms would have produced (sealed, versioned, audited). Only for `veiviser
demo`; each participant's work is one savepoint, so a rule that refuses one
made-up story leaves the others in place.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.accounts import Unit, User
from models.codes import (
    CefrLevel,
    DecisionType,
    ElementStatus,
    EndGoal,
    FollowUpKind,
    MainActivity,
    ParticipantStatus,
    PlanElementType,
    ProgrammeEndKind,
    ProgrammeEndReason,
    Skill,
)
from models.decisions import DecisionInput, EndInput, end_programme, record_decision
from models.errors import DomainError
from models.followups import FollowUpInput, log_follow_up
from models.participants import Participant
from models.plans import (
    EducationLevel,
    ElementInput,
    Literacy,
    MappingInput,
    PlanElement,
    PlanInput,
    add_element,
    mark_agreed,
    plan_of,
    save_mapping,
    save_plan,
    update_element,
    versions_of,
)
from models.policy import Actor
from models.tasks import NextAction

DEMO_ADVISOR = "advisor@demo.veiviser.no"
STORIES = 10  # participants of the demo advisor who get case work

FOLLOW_UP_SUMMARIES = (
    "Gikk gjennom planen. Trives på norskkurset, ønsker praksis i butikk.",
    "Telefon: syk denne uken, har levert egenmelding.",
    "Hjemmebesøk sammen med boveileder. Leiligheten fungerer, trenger hjelp med strømavtale.",
    "Møte med praksisplass: god innsats, veileder anbefaler forlengelse.",
)
ACTIONS = (
    "Kontakte arbeidsgiver om praksisplass",
    "Bestille tolk til neste samtale",
    "Sende søknad om førerkort-kurs",
    "Følge opp fravær med voksenopplæringen",
)


def _elements(start: date, today: date, adult_learning: Unit | None) -> list[ElementInput]:
    """Norwegian all along, the short courses first, work practice around today."""
    provider = adult_learning.id if adult_learning else None
    spans = (
        (PlanElementType.LANGUAGE, provider, start, max(today, start) + timedelta(days=300), 20),
        (PlanElementType.SOCIAL_STUDIES, provider, start, start + timedelta(days=120), 4),
        (PlanElementType.LIFE_SKILLS, None, start, start + timedelta(days=90), 2),
        (
            PlanElementType.WORK_PRACTICE,
            None,
            max(start, today - timedelta(days=30)),
            max(start, today) + timedelta(days=150),
            12,
        ),
    )
    return [
        ElementInput(kind, unit_id, begins, ends, hours, _status(begins, ends, today))
        for kind, unit_id, begins, ends, hours in spans
    ]


def _status(begins: date, ends: date, today: date) -> ElementStatus:
    if ends < today:
        return ElementStatus.DONE
    return ElementStatus.PLANNED if begins > today else ElementStatus.ONGOING


def _story(
    session: Session,
    actor: Actor,
    participant: Participant,
    index: int,
    today: date,
    adult_learning: Unit | None,
) -> None:
    start = participant.programme_start_on or today - timedelta(days=60)
    mapped_on = participant.competence_mapping_on or min(today, start - timedelta(days=14))
    save_mapping(
        session,
        actor,
        participant,
        0,
        MappingInput(
            mapped_on=mapped_on,
            education_level=(EducationLevel.UPPER_SECONDARY, EducationLevel.PRIMARY)[index % 2],
            education_years=(12, 8)[index % 2],
            education_country="SY",
            occupation=("Frisør", "Snekker", "Sykepleier", "Sjåfør")[index % 4],
            work_years=index % 6 + 1,
            literacy=(Literacy.LATIN_SCRIPT, Literacy.OTHER_SCRIPT)[index % 2],
            other_competence="Førerkort klasse B fra hjemlandet.",
        ),
        today=today,
    )
    save_plan(
        session,
        actor,
        participant,
        0,
        PlanInput(
            end_goal=(EndGoal.WORK, EndGoal.UPPER_SECONDARY_COMPLETED)[index % 2],
            long_term_goal=(
                "Fast jobb innen helse og omsorg.",
                "Fullføre videregående og bli elektriker.",
            )[index % 2],
            language_goals=dict.fromkeys(Skill, CefrLevel.B1),
            programme_start_on=start,
            planned_end_on=start + timedelta(days=700),
            hours_per_week_norm=37.5,
            has_children_under_18=index % 3 == 0,
            contract_text="Deltakeren møter til alle avtalte aktiviteter og gir beskjed ved "
            "fravær. Kommunen gir opplæring, veiledning og praksisplass.",
        ),
        reason="Første plan, laget sammen med deltakeren.",
        today=today,
    )
    for element in _elements(start, today, adult_learning):
        plan = plan_of(session, participant)
        assert plan is not None
        add_element(
            session,
            actor,
            participant,
            plan.version,
            element,
            reason="Lagt inn ved oppstart.",
            today=today,
        )
    plan = plan_of(session, participant)
    if index % 2 == 0 and plan is not None:
        mark_agreed(
            session,
            actor,
            participant,
            versions_of(session, plan)[0].number,
            agreed_on=today,
            interpreter_used=participant.interpreter_needed,
            language=participant.interpreter_language or "nb",
            today=today,
        )
    record_decision(
        session,
        actor,
        participant,
        DecisionInput(
            decision_type=DecisionType.PROGRAMME,
            decided_on=start - timedelta(days=7),
            notified_on=start - timedelta(days=5),
        ),
        today=today,
    )
    user = actor.user
    assert user is not None
    follow_up = log_follow_up(
        session,
        actor,
        participant,
        FollowUpInput(
            occurred_on=today - timedelta(days=index + 1),
            occurred_time=time(10, 0),
            kind=(FollowUpKind.MEETING, FollowUpKind.PHONE, FollowUpKind.HOME_VISIT)[index % 3],
            interpreter_used=participant.interpreter_needed,
            interpreter_language=participant.interpreter_language or "",
            attendees=[user],
            summary=FOLLOW_UP_SUMMARIES[index % len(FOLLOW_UP_SUMMARIES)],
            next_actions=[
                NextAction(
                    title=ACTIONS[index % len(ACTIONS)],
                    assignee=user,
                    assignee_given=True,
                    due_on=today + timedelta(days=(index % 4) * 5),
                )
            ],
        ),
        today=today,
    )
    if index % 4 == 0:
        # As if the demo had run for a while: some tasks are overdue.
        for task in follow_up.tasks:
            task.due_on = today - timedelta(days=2)


def _ended_story(session: Session, actor: Actor, participant: Participant, today: date) -> None:
    """The programme ends in work; the elements done so far go on the certificate."""
    elements = list(
        session.scalars(select(PlanElement).where(PlanElement.participant_id == participant.id))
    )
    for element in elements:
        if element.start_on is None or element.start_on >= today:
            continue
        update_element(
            session,
            actor,
            participant,
            element.ref,
            element.version,
            ElementInput(
                element.element_type,
                element.provider_unit_id,
                element.start_on,
                min(element.end_on or today, today - timedelta(days=10)),
                float(element.hours_per_week or 0),
                ElementStatus.DONE,
            ),
            reason="Fullført før overgang til arbeid.",
            today=today,
        )
    end_programme(
        session,
        actor,
        participant,
        EndInput(
            ended_on=today - timedelta(days=10),
            kind=ProgrammeEndKind.COMPLETED,
            reason=ProgrammeEndReason.WORK,
            activity_after=MainActivity.WORK,
        ),
        today=today,
    )


def load_casework(session: Session, today: date) -> int:
    """Case work for the demo advisor's first participants in the programme; returns how many
    got some. Does nothing when the demo advisor already has any plan."""
    from models.plans import Plan

    if session.scalar(select(Plan.id).limit(1)) is not None:
        return 0
    advisor = session.scalar(select(User).where(User.email == DEMO_ADVISOR))
    if advisor is None:
        return 0
    actor = Actor(advisor)
    adult_learning = session.scalar(select(Unit).where(Unit.kind == "adult_learning"))
    participants = list(
        session.scalars(
            select(Participant)
            .where(
                Participant.primary_advisor_id == advisor.id,
                Participant.status == ParticipantStatus.ACTIVE,
                Participant.settlement_on.is_not(None),
            )
            .order_by(Participant.id)
            .limit(STORIES)
        )
    )
    done = 0
    for index, participant in enumerate(participants):
        try:
            with session.begin_nested():
                _story(session, actor, participant, index, today, adult_learning)
                if index == len(participants) - 1:
                    _ended_story(session, actor, participant, today)
            done += 1
        except DomainError:
            continue  # a made-up story the rules refuse: the others still load
    return done


DEMO_SECOND_ADVISOR = "advisor2@demo.veiviser.no"
ENDINGS = (
    (ProgrammeEndKind.COMPLETED, ProgrammeEndReason.WORK, MainActivity.WORK),
    (ProgrammeEndKind.COMPLETED, ProgrammeEndReason.EDUCATION, MainActivity.EDUCATION),
    (ProgrammeEndKind.COMPLETED, ProgrammeEndReason.GOAL_REACHED, MainActivity.WORK),
    (ProgrammeEndKind.COMPLETED, ProgrammeEndReason.MAX_LENGTH, MainActivity.JOB_SEEKING),
    (ProgrammeEndKind.INTERRUPTED, ProgrammeEndReason.MOVED, MainActivity.UNKNOWN),
    (ProgrammeEndKind.COMPLETED, ProgrammeEndReason.WORK, MainActivity.WORK_AND_EDUCATION),
    (ProgrammeEndKind.STOPPED, ProgrammeEndReason.ABSENCE, MainActivity.OTHER),
)


def load_endings(session: Session, today: date, count: int = 14) -> int:
    """Programme ends spread over the last months for the second demo advisor's
    participants, so the leader's outcome figures have cells above the small-cell limit.
    Returns how many ended; does nothing when that advisor has an ended programme."""
    from models.decisions import ProgrammeEnd

    advisor = session.scalar(select(User).where(User.email == DEMO_SECOND_ADVISOR))
    if advisor is None:
        return 0
    ended_before = session.scalar(
        select(ProgrammeEnd.id)
        .join(Participant, Participant.id == ProgrammeEnd.participant_id)
        .where(Participant.primary_advisor_id == advisor.id)
        .limit(1)
    )
    if ended_before is not None:
        return 0
    participants = session.scalars(
        select(Participant)
        .where(
            Participant.primary_advisor_id == advisor.id,
            Participant.status.in_((ParticipantStatus.ACTIVE, ParticipantStatus.ON_LEAVE)),
            Participant.programme_start_on.is_not(None),
        )
        .order_by(Participant.id)
        .limit(count)
    )
    actor = Actor(advisor)
    done = 0
    for index, participant in enumerate(participants):
        kind, reason, activity = ENDINGS[index % len(ENDINGS)]
        start = participant.programme_start_on or today
        ended_on = max(start, today - timedelta(days=20 + 19 * index))
        try:
            with session.begin_nested():
                end_programme(
                    session,
                    actor,
                    participant,
                    EndInput(ended_on=ended_on, kind=kind, reason=reason, activity_after=activity),
                    today=today,
                )
            done += 1
        except DomainError:
            continue  # a made-up ending the rules refuse: the others still load
    return done
