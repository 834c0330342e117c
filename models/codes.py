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
