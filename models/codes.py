"""Closed code lists of the participant record, with their labels (translated in the web layer)."""

from __future__ import annotations

import enum

from models.errors import N_


class Country(enum.StrEnum):
    """Which country's programme and rules apply to the participant."""

    NORWAY = "NO"
    SWEDEN = "SE"


COUNTRY_LABELS = {Country.NORWAY: N_("Norway"), Country.SWEDEN: N_("Sweden")}


class PermitCategory(enum.StrEnum):
    """Residence basis. Norway: the Integration Act's target groups and others who may
    attend; Sweden: the establishment programme's groups."""

    NO_REFUGEE = "no_refugee"  # asylum granted, refugee status (utlendingsloven § 28)
    NO_RESETTLEMENT = "no_resettlement"  # overføringsflyktning (UNHCR quota)
    NO_COLLECTIVE_PROTECTION = "no_collective_protection"  # kollektiv beskyttelse (§ 34)
    NO_HUMANITARIAN = "no_humanitarian"  # sterke menneskelige hensyn (§ 38), asylum case
    NO_FAMILY_OF_REFUGEE = "no_family_of_refugee"  # family reunification with the above
    NO_FAMILY_OTHER = "no_family_other"  # family immigration with others
    NO_WORK = "no_work"  # work permit
    NO_EEA = "no_eea"  # EEA/EFTA registration
    NO_OTHER = "no_other"
    SE_REFUGEE = "se_refugee"  # flykting
    SE_SUBSIDIARY_PROTECTION = "se_subsidiary_protection"  # alternativt skyddsbehövande
    SE_FAMILY = "se_family"  # anhörig till flykting/skyddsbehövande
    SE_OTHER = "se_other"


PERMIT_CATEGORY_LABELS = {
    PermitCategory.NO_REFUGEE: N_("Refugee (asylum)"),
    PermitCategory.NO_RESETTLEMENT: N_("Resettlement refugee (quota)"),
    PermitCategory.NO_COLLECTIVE_PROTECTION: N_("Collective protection"),
    PermitCategory.NO_HUMANITARIAN: N_("Residence on humanitarian grounds"),
    PermitCategory.NO_FAMILY_OF_REFUGEE: N_("Family reunification with a refugee"),
    PermitCategory.NO_FAMILY_OTHER: N_("Family immigration (other)"),
    PermitCategory.NO_WORK: N_("Work permit"),
    PermitCategory.NO_EEA: N_("EEA/EFTA citizen"),
    PermitCategory.NO_OTHER: N_("Other residence basis"),
    PermitCategory.SE_REFUGEE: N_("Refugee (flykting)"),
    PermitCategory.SE_SUBSIDIARY_PROTECTION: N_("Subsidiary protection (skyddsbehövande)"),
    PermitCategory.SE_FAMILY: N_("Family member (anhörig)"),
    PermitCategory.SE_OTHER: N_("Other residence basis (Sweden)"),
}


def permit_country(category: PermitCategory) -> Country:
    return Country.SWEDEN if category.value.startswith("se_") else Country.NORWAY


class ParticipantStatus(enum.StrEnum):
    REGISTERED = "registered"  # settled, programme not decided yet
    ACTIVE = "active"  # in the programme
    ON_LEAVE = "on_leave"  # permisjon
    ENDED = "ended"  # completed, interrupted or stopped
    NOT_ENTITLED = "not_entitled"  # registered but outside the programme's target group


PARTICIPANT_STATUS_LABELS = {
    ParticipantStatus.REGISTERED: N_("Registered"),
    ParticipantStatus.ACTIVE: N_("In programme"),
    ParticipantStatus.ON_LEAVE: N_("On leave"),
    ParticipantStatus.ENDED: N_("Programme ended"),
    ParticipantStatus.NOT_ENTITLED: N_("Not in programme"),
}


class Sex(enum.StrEnum):
    """As recorded by the participant or the register; never derived from the ID number."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


SEX_LABELS = {
    Sex.FEMALE: N_("Female"),
    Sex.MALE: N_("Male"),
    Sex.OTHER: N_("Other"),
    Sex.UNKNOWN: N_("Not recorded"),
}


class Section(enum.StrEnum):
    """Sections of a participant's record; consent and access rules speak of these."""

    IDENTITY = "identity"
    CONTACT = "contact"
    RESIDENCE = "residence"
    PLAN = "plan"
    LANGUAGE = "language"
    HOUSING = "housing"
    PLACEMENTS = "placements"
    FOLLOW_UPS = "follow_ups"
    DECISIONS = "decisions"
    HEALTH = "health"


SECTION_LABELS = {
    Section.IDENTITY: N_("Identity"),
    Section.CONTACT: N_("Contact details"),
    Section.RESIDENCE: N_("Residence and settlement"),
    Section.PLAN: N_("Individual plan"),
    Section.LANGUAGE: N_("Language training"),
    Section.HOUSING: N_("Housing"),
    Section.PLACEMENTS: N_("Work placements"),
    Section.FOLLOW_UPS: N_("Follow-ups"),
    Section.DECISIONS: N_("Decisions"),
    Section.HEALTH: N_("Health"),
}

# Sections a partner service may be given through consent.
CONSENTABLE_SECTIONS = (
    Section.PLAN,
    Section.LANGUAGE,
    Section.HOUSING,
    Section.PLACEMENTS,
    Section.FOLLOW_UPS,
    Section.DECISIONS,
    Section.HEALTH,
)


# -- the individual plan ---------------------------------------------------------


class EndGoal(enum.StrEnum):
    """What the programme is to end in (NO sluttmål; SE mål)."""

    WORK = "work"
    UPPER_SECONDARY_COMPLETED = "upper_secondary_completed"
    HIGHER_EDUCATION_QUALIFICATION = "higher_education_qualification"
    PRIMARY_SCHOOL = "primary_school"
    PART_OF_UPPER_SECONDARY = "part_of_upper_secondary"
    OTHER = "other"


END_GOAL_LABELS = {
    EndGoal.WORK: N_("Work"),
    EndGoal.UPPER_SECONDARY_COMPLETED: N_("Completed upper-secondary education"),
    EndGoal.HIGHER_EDUCATION_QUALIFICATION: N_("Qualification for higher education"),
    EndGoal.PRIMARY_SCHOOL: N_("Primary and lower-secondary school"),
    EndGoal.PART_OF_UPPER_SECONDARY: N_("Part of upper-secondary education"),
    EndGoal.OTHER: N_("Other end goal"),
}


class Skill(enum.StrEnum):
    LISTENING = "listening"
    READING = "reading"
    WRITING = "writing"
    ORAL = "oral"


SKILL_LABELS = {
    Skill.LISTENING: N_("Listening"),
    Skill.READING: N_("Reading"),
    Skill.WRITING: N_("Writing"),
    Skill.ORAL: N_("Oral"),
}


class CefrLevel(enum.StrEnum):
    """Common European Framework levels used for goals, estimates and test results."""

    BELOW_A1 = "below_a1"
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"


CEFR_LABELS = {
    CefrLevel.BELOW_A1: N_("Below A1"),
    CefrLevel.A1: "A1",
    CefrLevel.A2: "A2",
    CefrLevel.B1: "B1",
    CefrLevel.B2: "B2",
    CefrLevel.C1: "C1",
}


class PlanElementType(enum.StrEnum):
    LANGUAGE = "language"  # NO opplæring i norsk; SE sfi
    SOCIAL_STUDIES = "social_studies"
    LIFE_SKILLS = "life_skills"
    PARENTING = "parenting"
    LANGUAGE_PRACTICE = "language_practice"
    WORK_PRACTICE = "work_practice"
    WAGE_SUBSIDY = "wage_subsidy"
    UPPER_SECONDARY = "upper_secondary"
    PRIMARY_SCHOOL = "primary_school"
    HIGHER_EDUCATION_BRIDGE = "higher_education_bridge"
    JOB_SEEKING = "job_seeking"
    HEALTH = "health"
    OTHER = "other"


PLAN_ELEMENT_TYPE_LABELS = {
    PlanElementType.LANGUAGE: N_("Norwegian / Swedish language training"),
    PlanElementType.SOCIAL_STUDIES: N_("Social studies"),
    PlanElementType.LIFE_SKILLS: N_("Life-skills course"),
    PlanElementType.PARENTING: N_("Parenting course"),
    PlanElementType.LANGUAGE_PRACTICE: N_("Language practice"),
    PlanElementType.WORK_PRACTICE: N_("Work practice"),
    PlanElementType.WAGE_SUBSIDY: N_("Wage subsidy"),
    PlanElementType.UPPER_SECONDARY: N_("Upper-secondary education"),
    PlanElementType.PRIMARY_SCHOOL: N_("Primary and lower-secondary school"),
    PlanElementType.HIGHER_EDUCATION_BRIDGE: N_("Bridge to higher education"),
    PlanElementType.JOB_SEEKING: N_("Job seeking"),
    PlanElementType.HEALTH: N_("Health-related measure"),
    PlanElementType.OTHER: N_("Other element"),
}

# Elements that point the programme towards work or education (integreringsloven § 13).
WORK_OR_EDUCATION_ELEMENTS = frozenset(
    {
        PlanElementType.LANGUAGE_PRACTICE,
        PlanElementType.WORK_PRACTICE,
        PlanElementType.WAGE_SUBSIDY,
        PlanElementType.UPPER_SECONDARY,
        PlanElementType.PRIMARY_SCHOOL,
        PlanElementType.HIGHER_EDUCATION_BRIDGE,
        PlanElementType.JOB_SEEKING,
    }
)


class ElementStatus(enum.StrEnum):
    PLANNED = "planned"
    ONGOING = "ongoing"
    DONE = "done"
    CANCELLED = "cancelled"


ELEMENT_STATUS_LABELS = {
    ElementStatus.PLANNED: N_("Planned"),
    ElementStatus.ONGOING: N_("Ongoing"),
    ElementStatus.DONE: N_("Done"),
    ElementStatus.CANCELLED: N_("Cancelled"),
}


# -- decisions, follow-ups and the end of the programme ---------------------------


class DecisionType(enum.StrEnum):
    PROGRAMME = "programme"
    PLAN = "plan"
    MATERIAL_PLAN_CHANGE = "material_plan_change"
    EXTENSION = "extension"
    LEAVE = "leave"
    BENEFIT_DEDUCTION = "benefit_deduction"
    TEMPORARY_STOP = "temporary_stop"
    PERMANENT_STOP = "permanent_stop"
    EXEMPTION = "exemption"


DECISION_TYPE_LABELS = {
    DecisionType.PROGRAMME: N_("Participation in the programme"),
    DecisionType.PLAN: N_("Individual plan"),
    DecisionType.MATERIAL_PLAN_CHANGE: N_("Material change of the plan"),
    DecisionType.EXTENSION: N_("Extension of the programme"),
    DecisionType.LEAVE: N_("Leave"),
    DecisionType.BENEFIT_DEDUCTION: N_("Deduction in the benefit"),
    DecisionType.TEMPORARY_STOP: N_("Temporary stop"),
    DecisionType.PERMANENT_STOP: N_("Permanent stop"),
    DecisionType.EXEMPTION: N_("Exemption"),
}


class AppealOutcome(enum.StrEnum):
    UPHELD = "upheld"  # the decision stands
    CHANGED = "changed"  # changed by the municipality itself
    REVERSED = "reversed"  # reversed by the appeal body
    WITHDRAWN = "withdrawn"


APPEAL_OUTCOME_LABELS = {
    AppealOutcome.UPHELD: N_("Decision upheld"),
    AppealOutcome.CHANGED: N_("Decision changed by the municipality"),
    AppealOutcome.REVERSED: N_("Decision reversed on appeal"),
    AppealOutcome.WITHDRAWN: N_("Appeal withdrawn"),
}


class FollowUpKind(enum.StrEnum):
    MEETING = "meeting"
    PHONE = "phone"
    VIDEO = "video"
    HOME_VISIT = "home_visit"
    WITH_EMPLOYER = "with_employer"
    WITH_SCHOOL = "with_school"


FOLLOW_UP_KIND_LABELS = {
    FollowUpKind.MEETING: N_("Meeting"),
    FollowUpKind.PHONE: N_("Phone call"),
    FollowUpKind.VIDEO: N_("Video call"),
    FollowUpKind.HOME_VISIT: N_("Home visit"),
    FollowUpKind.WITH_EMPLOYER: N_("Meeting with employer"),
    FollowUpKind.WITH_SCHOOL: N_("Meeting with school"),
}


class ProgrammeEndKind(enum.StrEnum):
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"  # by the participant
    STOPPED = "stopped"  # by the municipality


PROGRAMME_END_KIND_LABELS = {
    ProgrammeEndKind.COMPLETED: N_("Completed"),
    ProgrammeEndKind.INTERRUPTED: N_("Interrupted by the participant"),
    ProgrammeEndKind.STOPPED: N_("Stopped by the municipality"),
}


class ProgrammeEndReason(enum.StrEnum):
    GOAL_REACHED = "goal_reached"
    WORK = "work"
    EDUCATION = "education"
    MOVED = "moved"
    HEALTH = "health"
    PARENTAL_LEAVE = "parental_leave"
    ABSENCE = "absence"  # repeated unexcused absence
    MAX_LENGTH = "max_length"
    OWN_WISH = "own_wish"
    OTHER = "other"


PROGRAMME_END_REASON_LABELS = {
    ProgrammeEndReason.GOAL_REACHED: N_("End goal reached"),
    ProgrammeEndReason.WORK: N_("Started working"),
    ProgrammeEndReason.EDUCATION: N_("Started education"),
    ProgrammeEndReason.MOVED: N_("Moved to another municipality"),
    ProgrammeEndReason.HEALTH: N_("Health reasons"),
    ProgrammeEndReason.PARENTAL_LEAVE: N_("Parental leave"),
    ProgrammeEndReason.ABSENCE: N_("Repeated unexcused absence"),
    ProgrammeEndReason.MAX_LENGTH: N_("Maximum length reached"),
    ProgrammeEndReason.OWN_WISH: N_("The participant's own wish"),
    ProgrammeEndReason.OTHER: N_("Other reason"),
}


class MainActivity(enum.StrEnum):
    """Main activity right after the programme, and again 12 months later (NIR)."""

    WORK = "work"
    EDUCATION = "education"
    WORK_AND_EDUCATION = "work_and_education"
    JOB_SEEKING = "job_seeking"
    # Sweden only: counts as self-supporting for the establishment programme's goal.
    UNEMPLOYMENT_INSURANCE = "unemployment_insurance"
    OTHER = "other"
    UNKNOWN = "unknown"


MAIN_ACTIVITY_LABELS = {
    MainActivity.WORK: N_("Work"),
    MainActivity.EDUCATION: N_("Education"),
    MainActivity.WORK_AND_EDUCATION: N_("Work and education"),
    MainActivity.JOB_SEEKING: N_("Job seeking"),
    MainActivity.UNEMPLOYMENT_INSURANCE: N_("Unemployment insurance (Sweden)"),
    MainActivity.OTHER: N_("Other activity"),
    MainActivity.UNKNOWN: N_("Not known"),
}
