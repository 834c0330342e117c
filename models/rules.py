"""Rule set v1: the legal parameters of the programmes, dated, and the rules computed from them.

Every legal parameter (age limits, deadlines in months, the permit categories of
the target groups) lives in a `RuleSet` with the date it came into force
(`valid_from`); no rule below carries a legal number of its own. When the law
changes, add a new `RuleSet` to `RULE_SETS` — never edit an old one, because
results already shown and stored name the version they were computed under.

Every rule returns a `RuleResult` naming the rule (`rule_id`, stable across
releases) and the rule set version it used, with an English explanation marked
with `N_` for translation. Explanations and their `params` carry legal
parameters only, never personal data: a result may be logged or shown to anyone
who may see the participant's entitlement.

Pure Python: no Flask, no database. Any caller may use these functions; none of
them changes anything.

Sources are cited next to each parameter; those marked "needs confirmation"
could not be checked against the statute text; they are listed in the issue note
of rule set v1 as open questions.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from models.codes import (
    Country,
    EndGoal,
    PermitCategory,
    PlanElementType,
    permit_country,
)
from models.errors import N_, DomainError

# ---------------------------------------------------------------------------
# Calendar arithmetic


def add_months(start: date, months: int) -> date:
    """The same day of the month `months` later; the month's last day when it has no such day.

    This is how Norwegian law counts a deadline set in months (domstolloven § 148
    second paragraph: "Har ikke maaneden dette tal, ender fristen paa den sidste
    dag i maaneden"), e.g. 30 November + 3 months = 28 (29) February.
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def age_on(birth_date: date, on: date) -> int:
    """Completed years on `on`: one more on the birthday itself.

    Someone born on 29 February completes a year on 1 March in a common year.
    """
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


# ---------------------------------------------------------------------------
# Rule sets


class AgeBasis(enum.StrEnum):
    """On which day an age limit is measured."""

    TODAY = "today"  # the day the rule is evaluated
    PERMIT_GRANT = "permit_grant"  # the day the residence permit was granted


class NoRuleSet(DomainError, LookupError):
    """No rule set of the country was in force on the date asked about."""

    def __init__(self, country: Country, on: date) -> None:
        super().__init__(
            N_("No rule set for %(country)s is in force on %(date)s."),
            country=country.value,
            date=on.isoformat(),
        )


@dataclass(frozen=True)
class RuleSet:
    """One dated version of the legal parameters of one country's programme.

    `None` in a parameter means the rule does not exist in that country or version.
    """

    country: Country
    version: str  # e.g. "NO-2021-01-01"; stored with every result
    valid_from: date
    title: str  # human-readable name of the law, e.g. "Integreringsloven (2021)"
    rule_prefix: str  # first part of every rule_id computed under this set, e.g. "NO-2021"
    sources: tuple[str, ...]  # the statutes and guidance the parameters come from

    # Who the law applies to at all: permits granted before this date fall under the
    # previous law (Norway: introduksjonsloven 2003), which this module does not model.
    applies_to_permits_granted_from: date | None

    # The programme (NO introduksjonsprogram, SE etableringsprogram).
    programme_age_min: int  # inclusive: from the birthday of this age
    programme_age_max: int  # inclusive: until the day before the next birthday
    programme_age_basis: AgeBasis
    # Permits giving the right and the duty to the programme (SE: the programme's target group).
    programme_permits: frozenset[PermitCategory]
    # Permits giving the right without the duty, if granted on or after the date below.
    programme_right_only_permits: frozenset[PermitCategory] = frozenset()
    right_only_permits_granted_from: date | None = None
    # Right to the programme only while the person has lived less than this in a municipality.
    municipality_limit_years: int | None = None

    # Deadlines counted from settlement (or from the claim for the programme).
    competence_mapping_months: int | None = None
    programme_decision_months: int | None = None
    programme_start_months: int | None = None

    # Language training (NO opplæring i norsk og samfunnskunnskap, SE sfi).
    language_age_min: int | None = None  # inclusive
    language_age_max: int | None = None  # inclusive; the right also ends at max + 1 (NO)
    language_age_basis: AgeBasis = AgeBasis.TODAY
    # SE: the right starts on 1 July of the year the person turns this age.
    language_from_second_half_of_year_turning: int | None = None
    # Permits giving right and duty / right without duty; None means "any permit".
    language_permits: frozenset[PermitCategory] | None = None
    language_right_only_permits: frozenset[PermitCategory] = frozenset()
    # Permits where the answer depends on facts the record does not hold.
    language_review_permits: frozenset[PermitCategory] = frozenset()
    sfi_start_months: int | None = None
    # Personal data is anonymised this many years after the programme ended. Unconfirmed:
    # set from the municipality's archive plan (bevaringsplan / gallringsbeslut) before use.
    retention_years_after_end: int = 10

    # The individual plan. Programme length in months, the longer maximum for end goals
    # that need it, and how much an extension may add.
    programme_min_months: int | None = None
    programme_max_months: int | None = None
    programme_max_months_by_goal: tuple[tuple[EndGoal, int], ...] = ()
    programme_extension_months: int | None = None
    # Participants under this age without upper-secondary education should have one of
    # these end goals.
    young_without_upper_secondary_age: int | None = None
    young_end_goals: frozenset[EndGoal] = frozenset()
    # Accepted full-time norms (hours per week; the plan names the one it uses) and the
    # holiday weeks of a programme year.
    hours_per_week_norms: tuple[float, ...] = ()
    holiday_weeks: int = 5
    # Elements every plan must hold; parenting when the participant has children under 18;
    # at least one element pointing towards work or education.
    mandatory_elements: tuple[PlanElementType, ...] = ()
    parenting_when_children_under: int | None = None
    work_or_education_element_required: bool = False
    # Product default, not law: how often a plan is reviewed (months); the deployment may
    # override it (VEIVISER_PLAN_REVIEW_MONTHS).
    plan_review_months: int = 6
    # Appeal deadline, counted from the decision date (NO forvaltningsloven § 29,
    # SE förvaltningslagen 44 §: three weeks, strictly from the notice).
    appeal_weeks: int = 3

    # Language training. A lesson of `lesson_minutes` counts as `lesson_programme_minutes`
    # of programme time (NO: 45 → 75, the IMDi practice; the deployment may override it).
    lesson_minutes: int | None = None
    lesson_programme_minutes: int | None = None
    # An advisor task when unexcused absence passes this share of the planned hours over
    # the last weeks (product default; municipalities set their own in local rules).
    absence_threshold_percent: float = 10.0
    absence_window_weeks: int = 4
    social_studies_pass_score: int | None = None
    social_studies_max_score: int | None = None
    # Norwegian training must be completed within these months of the start (shorter with
    # upper-secondary education); approved leave extends the deadline by its length.
    language_training_months: int | None = None
    language_training_months_upper_secondary: int | None = None
    social_orientation_hours: int | None = None  # SE: samhällsorientering, at least

    # Housing: a contract ending within this many days shows among the deadlines
    # (product default).
    housing_contract_warning_days: int = 60

    def max_programme_months(self, end_goal: EndGoal | None) -> int | None:
        """The longest programme (without extension) for a plan with `end_goal`."""
        for goal, months in self.programme_max_months_by_goal:
            if goal is end_goal:
                return months
        return self.programme_max_months


_NO_TARGET_GROUP = frozenset(
    {
        PermitCategory.NO_REFUGEE,
        PermitCategory.NO_RESETTLEMENT,
        PermitCategory.NO_COLLECTIVE_PROTECTION,
        PermitCategory.NO_HUMANITARIAN,
        PermitCategory.NO_FAMILY_OF_REFUGEE,
    }
)

_SE_TARGET_GROUP = frozenset(
    {
        PermitCategory.SE_REFUGEE,
        PermitCategory.SE_SUBSIDIARY_PROTECTION,
        PermitCategory.SE_FAMILY,
    }
)

NO_2021 = RuleSet(
    country=Country.NORWAY,
    version="NO-2021-01-01",
    valid_from=date(2021, 1, 1),
    title="Integreringsloven (2021)",
    rule_prefix="NO-2021",
    sources=(
        "Lov 6. november 2020 nr. 127 om integrering gjennom opplæring, utdanning og arbeid",
        "IMDi, Juridisk veileder til integreringsloven",
        "Prop. 89 L (2019–2020)",
    ),
    # § 51 / IMDi: the Act applies to those granted a permit from 1 January 2021.
    applies_to_permits_granted_from=date(2021, 1, 1),
    # § 8: 18–55 years, counted on the day the permit was granted (IMDi, "Målgruppe for
    # introduksjonsprogram": "alder på tidspunktet for innvilgelse av oppholdstillatelse").
    programme_age_min=18,
    programme_age_max=55,
    programme_age_basis=AgeBasis.PERMIT_GRANT,
    # §§ 8–9: utlendingsloven § 28 (refugee), § 35 (resettlement), § 34 (collective
    # protection), § 38 after an asylum application, family immigration with these.
    # The family rule also requires that the sponsor had lived in a municipality less than
    # five years when the application was made; the record does not hold that.
    programme_permits=_NO_TARGET_GROUP,
    # § 8: "har bodd i en kommune i mindre enn to år" (IMDi).
    municipality_limit_years=2,
    # § 12: decision and start at the latest three months after settlement or the claim;
    # the mapping must precede the decision (IMDi veileder 5.2.1), so the same deadline.
    competence_mapping_months=3,
    programme_decision_months=3,
    programme_start_months=3,
    # § 26: 18–67 at the grant; the right and the duty end on the 67th birthday.
    language_age_min=18,
    language_age_max=66,
    language_age_basis=AgeBasis.PERMIT_GRANT,
    # § 27 (right and duty). Needs confirmation: the exact § 27/§ 28 lists; the record's
    # "family immigration (other)" may be either (with a Norwegian citizen: right and
    # duty; with a labour migrant: duty only), so it is left to the advisor.
    language_permits=_NO_TARGET_GROUP,
    language_review_permits=frozenset({PermitCategory.NO_FAMILY_OTHER}),
    # § 13: "fra tre måneder og inntil to år"; up to four years for participants whose end
    # goal is completed upper-secondary education. Needs confirmation: the extension
    # (§ 13 fifth paragraph, "inntil ett år" when there are strong reasons).
    programme_min_months=3,
    programme_max_months=24,
    programme_max_months_by_goal=((EndGoal.UPPER_SECONDARY_COMPLETED, 48),),
    programme_extension_months=12,
    # § 13: participants aged 18–25 without upper-secondary education shall as a rule have
    # completed upper-secondary education as their end goal.
    young_without_upper_secondary_age=25,
    young_end_goals=frozenset({EndGoal.UPPER_SECONDARY_COMPLETED}),
    # § 13: "helårig og på full tid" — 37.5 hours a week; some municipalities count a
    # 30-hour week of organised activity (IMDi). Five weeks' holiday a year.
    hours_per_week_norms=(37.5, 30.0),
    holiday_weeks=5,
    # § 13 second paragraph: Norwegian, social studies, a life-skills course, a parenting
    # course for participants with children under 18, and work- or education-oriented elements.
    mandatory_elements=(
        PlanElementType.LANGUAGE,
        PlanElementType.SOCIAL_STUDIES,
        PlanElementType.LIFE_SKILLS,
    ),
    parenting_when_children_under=18,
    work_or_education_element_required=True,
    lesson_minutes=45,
    lesson_programme_minutes=75,
    # § 37 / forskrift: the social-studies test is passed at 26 of 34 points (IMDi, HK-dir).
    social_studies_pass_score=26,
    social_studies_max_score=34,
    # § 29: Norwegian within three years; 18 months for participants with upper-secondary
    # education (needs confirmation: the exact wording on who has the shorter deadline).
    language_training_months=36,
    language_training_months_upper_secondary=18,
)

# Amendment: temporary chapter 6A for temporary collective protection (fordrevne fra Ukraina).
NO_2022 = replace(
    NO_2021,
    version="NO-2022-06-15",
    valid_from=date(2022, 6, 15),
    title="Integreringsloven med midlertidig kapittel 6A (2022)",
    # rule_prefix stays "NO-2021": the same Act, so unchanged rules keep their ids.
    sources=(
        *NO_2021.sources,
        "Lov 10. juni 2022 nr. 35 (midlertidige endringer, fordrevne fra Ukraina); "
        "integreringsloven kapittel 6A, i kraft 15. juni 2022",
        "Prop. 107 L (2021–2022); Prop. 90 L (2022–2023); Prop. 72 L (2023–2024)",
        "IMDi, Juridisk veileder til integreringslovens midlertidige kapittel 6A",
    ),
    # Chapter 6A applies to collective protection (utlendingsloven § 34) granted from
    # 11 March 2022 and gives the right to the programme without the duty (Prop. 90 L
    # (2022–2023) 9.1: "gir rettigheter, men ikke plikter"). Earlier § 34 grants keep the
    # ordinary right and duty. 6A is temporary: currently until 1 July 2026 (IMDi).
    programme_right_only_permits=frozenset({PermitCategory.NO_COLLECTIVE_PROTECTION}),
    right_only_permits_granted_from=date(2022, 3, 11),
    # § 37 d: one year of Norwegian (no social studies) is a right (IMDi); that it carries
    # no duty needs confirmation against the text of § 37 d.
    language_right_only_permits=frozenset({PermitCategory.NO_COLLECTIVE_PROTECTION}),
)

SE_2018 = RuleSet(
    country=Country.SWEDEN,
    version="SE-2018-01-01",
    valid_from=date(2018, 1, 1),
    title="Lag (2017:584) om ansvar för etableringsinsatser; skollagen 20 kap.",
    rule_prefix="SE-2018",
    sources=(
        "Lag (2017:584) om ansvar för etableringsinsatser för vissa nyanlända invandrare",
        "Förordning (2017:820) om etableringsinsatser för vissa nyanlända invandrare",
        "Skollagen (2010:800) 20 kap. (sfi)",
    ),
    applies_to_permits_granted_from=None,
    # Lag 2017:584: "har fyllt 20 men inte 65 år". Those aged 18–19 without parents in
    # Sweden are also covered; the record does not hold that, so they are not.
    programme_age_min=20,
    programme_age_max=64,
    programme_age_basis=AgeBasis.TODAY,
    # Flykting, alternativt skyddsbehövande and their family (anhöriga who applied within
    # six years of the sponsor's first reception in a municipality — not in the record).
    programme_permits=_SE_TARGET_GROUP,
    # Skollagen 20 kap.: the right to sfi starts in the second half of the calendar year the
    # person turns 16; no upper age; any permit, as long as the person lives in Sweden.
    language_from_second_half_of_year_turning=16,
    language_permits=None,
    # Skollagen 20 kap.: "Om det inte finns särskilda skäl ska utbildningen kunna påbörjas
    # inom tre månader" from the day the right arose.
    sfi_start_months=3,
    # Förordning 2017:820: the programme lasts at most 24 months. Needs confirmation:
    # the shortest period and the extension for parental leave or sickness.
    programme_max_months=24,
    # Full time is 40 hours a week (Arbetsförmedlingen); needs confirmation.
    hours_per_week_norms=(40.0,),
    holiday_weeks=5,
    # Förordning 2017:820 § 8: sfi, samhällsorientering and work-preparing activities.
    mandatory_elements=(PlanElementType.LANGUAGE, PlanElementType.SOCIAL_STUDIES),
    work_or_education_element_required=True,
    # Förordning (2010:1138) om samhällsorientering: at least 100 hours since 2020.
    social_orientation_hours=100,
)

# Amendment: upper age 65 inclusive ("fyllt 20 men inte 66 år", Arbetsförmedlingen).
SE_2023 = replace(
    SE_2018,
    version="SE-2023-01-01",
    # Needs confirmation: the date. Pension-related age limits rose by one year on
    # 1 January 2023 (Prop. 2021/22:181); the SFS amending lag 2017:584 was not found.
    valid_from=date(2023, 1, 1),
    title="Lag (2017:584) om ansvar för etableringsinsatser (övre åldersgräns 66 år)",
    sources=(*SE_2018.sources, "Arbetsförmedlingen, Etableringsprogrammet", "Prop. 2021/22:181"),
    programme_age_max=65,
)

RULE_SETS: tuple[RuleSet, ...] = (NO_2021, NO_2022, SE_2018, SE_2023)


def rule_set_for(country: Country, on: date, rule_sets: tuple[RuleSet, ...] = RULE_SETS) -> RuleSet:
    """The version in force on `on`: the latest `valid_from` on or before that day.

    Raises `NoRuleSet` when the country had no rule set yet on that day.
    """
    in_force = [rs for rs in rule_sets if rs.country == country and rs.valid_from <= on]
    if not in_force:
        raise NoRuleSet(country, on)
    return max(in_force, key=lambda rs: rs.valid_from)


# ---------------------------------------------------------------------------
# Facts and results


@dataclass(frozen=True)
class Facts:
    """What the participant record knows; the rules read nothing else."""

    country: Country
    birth_date: date | None
    permit_category: PermitCategory | None
    settlement_date: date | None  # NO: bosetting in the municipality; SE: folkbokföring
    arrival_date: date | None
    programme_decision_on: date | None = None
    programme_start_on: date | None = None
    competence_mapping_on: date | None = None
    sfi_start_on: date | None = None
    permit_granted_on: date | None = None  # NO: age limits are measured on this day
    programme_claimed_on: date | None = None  # NO: "krav om deltagelse" restarts § 12's clock


@dataclass(frozen=True)
class RuleResult:
    """One computed answer and the rule that produced it.

    `value` is a bool for entitlements (None when the record lacks a fact the rule
    needs; `explanation` then says which), a date for deadlines. `explanation` and each
    of `caveats` are untranslated msgids to be interpolated with `params`.
    """

    value: Any
    rule_id: str
    rule_set: str
    explanation: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    caveats: tuple[str, ...] = ()

    @property
    def duty(self) -> bool | None:
        """For entitlements: whether participation is also a duty (None if not applicable)."""
        duty = self.params.get("duty")
        return duty if isinstance(duty, bool) else None

    def __str__(self) -> str:
        """The explanation in English, with its caveats."""
        texts = (self.explanation, *self.caveats)
        return " ".join(text % self.params if self.params else text for text in texts)


def _result(
    rs: RuleSet,
    name: str,
    value: Any,
    explanation: str,
    caveats: tuple[str, ...] = (),
    **params: Any,
) -> RuleResult:
    return RuleResult(
        value=value,
        rule_id=f"{rs.rule_prefix}/{name}",
        rule_set=rs.version,
        explanation=explanation,
        params=MappingProxyType(params),
        caveats=caveats,
    )


class DeadlineKind(enum.StrEnum):
    COMPETENCE_MAPPING = "competence_mapping"
    PROGRAMME_DECISION = "programme_decision"
    PROGRAMME_START = "programme_start"
    SFI_START = "sfi_start"
    # Computed from the record by models.deadlines, not by the legal rules below.
    PLAN_REVIEW = "plan_review"
    APPEAL = "appeal"
    PLANNED_END = "planned_end"
    LANGUAGE_TRAINING = "language_training"
    HOUSING_CONTRACT_END = "housing_contract_end"


DEADLINE_KIND_LABELS = {
    DeadlineKind.COMPETENCE_MAPPING: N_("Competence mapping"),
    DeadlineKind.PROGRAMME_DECISION: N_("Programme decision"),
    DeadlineKind.PROGRAMME_START: N_("Programme start"),
    DeadlineKind.SFI_START: N_("Start of SFI"),
    DeadlineKind.PLAN_REVIEW: N_("Plan review"),
    DeadlineKind.APPEAL: N_("Appeal deadline"),
    DeadlineKind.PLANNED_END: N_("Planned end of the programme"),
    DeadlineKind.LANGUAGE_TRAINING: N_("Norwegian training completed"),
    DeadlineKind.HOUSING_CONTRACT_END: N_("Housing contract ends"),
}


@dataclass(frozen=True)
class Deadline:
    """A legal deadline: the last day (inclusive) on which the event is on time."""

    kind: DeadlineKind
    due_on: date
    met_on: date | None  # when the event happened, None if it has not yet
    rule: RuleResult

    def is_overdue(self, today: date) -> bool:
        """Not met, and the last day has passed."""
        return self.met_on is None and today > self.due_on

    def is_due_within(self, today: date, days: int) -> bool:
        """Not met, not overdue, and the last day is at most `days` days away."""
        if days < 0:
            raise ValueError("days must not be negative")
        return self.met_on is None and today <= self.due_on <= today + timedelta(days=days)

    @property
    def was_met_late(self) -> bool:
        return self.met_on is not None and self.met_on > self.due_on


# ---------------------------------------------------------------------------
# Rules


def _permit_problem(rs: RuleSet, facts: Facts, topic: str) -> RuleResult | None:
    """The result when the permit is missing, of the other country, or under the previous act."""
    if facts.permit_category is None:
        return _result(
            rs,
            f"{topic}-missing-permit",
            None,
            N_("The residence permit category is not recorded, so the entitlement is unknown."),
        )
    if permit_country(facts.permit_category) != facts.country:
        return _result(
            rs,
            f"{topic}-permit-country",
            None,
            N_(
                "The recorded permit category belongs to the other country's programme; "
                "correct the country or the permit category."
            ),
        )
    granted, first = facts.permit_granted_on, rs.applies_to_permits_granted_from
    if granted is not None and first is not None and granted < first:
        return _result(
            rs,
            f"{topic}-previous-act",
            None,
            N_(
                "The permit was granted before %(first)s, so the previous act applies "
                "(Norway: the Introduction Act 2003); decide the entitlement manually."
            ),
            first=first.isoformat(),
        )
    return None


_AGE_FROM_TODAY = N_(
    "Age is counted on today's date because the permit grant date is not recorded; "
    "the law counts it on the grant date."
)


_LIMIT_UNCHECKED = N_(
    "The settlement date is not recorded, so the limit on time lived in a municipality "
    "was not checked."
)


def _age_reference(basis: AgeBasis, facts: Facts, today: date) -> tuple[date, tuple[str, ...]]:
    """The day an age limit is measured on, and a caveat when it had to fall back to today."""
    if basis is AgeBasis.PERMIT_GRANT:
        if facts.permit_granted_on is not None:
            return facts.permit_granted_on, ()
        return today, (_AGE_FROM_TODAY,)
    return today, ()


def _right_only(rs: RuleSet, facts: Facts, permits: frozenset[PermitCategory]) -> bool:
    """Whether the permit gives the right without the duty under this rule set."""
    if facts.permit_category not in permits:
        return False
    start = rs.right_only_permits_granted_from
    granted = facts.permit_granted_on
    return start is None or granted is None or granted >= start


def programme_entitlement(facts: Facts, today: date) -> RuleResult:
    """Right (and duty) to the programme on `today`.

    `value` is True when the person has the right (NO: with `duty` True for rett og plikt,
    False for right only; SE: in the programme's target group, `duty` None because
    Arbetsförmedlingen assigns the programme), False when not, None when a fact is missing.
    Norway: permit category, age at the permit grant and less than two years in a
    municipality; Sweden: permit category and age today.
    """
    rs = rule_set_for(facts.country, today)
    problem = _permit_problem(rs, facts, "programme-right")
    if problem is not None:
        return problem
    assert facts.permit_category is not None
    right_only = _right_only(rs, facts, rs.programme_right_only_permits)
    if not right_only and facts.permit_category not in rs.programme_permits:
        return _result(
            rs,
            "programme-right-permit",
            False,
            N_("This residence permit category gives no right to the programme."),
            duty=False,
        )
    if facts.birth_date is None:
        return _result(
            rs,
            "programme-right-missing-birth-date",
            None,
            N_("The birth date is not recorded, so the age limits cannot be checked."),
        )
    on, caveats = _age_reference(rs.programme_age_basis, facts, today)
    age = age_on(facts.birth_date, on)
    limits = {"min": rs.programme_age_min, "max": rs.programme_age_max}
    if not rs.programme_age_min <= age <= rs.programme_age_max:
        return _result(
            rs,
            "programme-right-age",
            False,
            N_("The programme is for people aged %(min)d to %(max)d; this person is not."),
            caveats,
            duty=False,
            **limits,
        )
    if facts.country is Country.NORWAY:
        within = within_municipality_limit(facts, today)
        if within.value is False:
            return _result(
                rs,
                "programme-right-municipality-limit",
                False,
                N_(
                    "The right to the programme ends once the person has lived "
                    "%(years)d years in a municipality."
                ),
                caveats,
                duty=False,
                years=within.params["years"],
            )
        if within.value is None:
            caveats = (*caveats, _LIMIT_UNCHECKED)
    if right_only:
        return _result(
            rs,
            "programme-right-only",
            True,
            N_(
                "Right, but no duty, to the programme: temporary collective protection "
                "(chapter 6A), aged %(min)d to %(max)d."
            ),
            caveats,
            duty=False,
            **limits,
        )
    if facts.country is Country.NORWAY:
        return _result(
            rs,
            "programme-right",
            True,
            N_(
                "Right and duty to the introduction programme: the permit category is in the "
                "target group and the person is aged %(min)d to %(max)d."
            ),
            caveats,
            duty=True,
            **limits,
        )
    return _result(
        rs,
        "programme-right",
        True,
        N_(
            "In the establishment programme's target group: the permit category is covered "
            "and the person is aged %(min)d to %(max)d."
        ),
        caveats,
        **limits,
    )


def _sfi_right_from(rs: RuleSet, birth_date: date) -> date:
    assert rs.language_from_second_half_of_year_turning is not None
    return date(birth_date.year + rs.language_from_second_half_of_year_turning, 7, 1)


def language_training_entitlement(facts: Facts, today: date) -> RuleResult:
    """Right (and duty) to language training on `today`.

    Norway: training in Norwegian and social studies for the permit groups of § 27,
    aged 18–67 at the grant, ending on the 67th birthday. Sweden: sfi, for anyone living
    in Sweden from the second half of the year they turn 16; a right, never a duty.
    """
    rs = rule_set_for(facts.country, today)
    if facts.country is Country.SWEDEN:
        return _sfi_entitlement(rs, facts, today)
    problem = _permit_problem(rs, facts, "language-right")
    if problem is not None:
        return problem
    assert facts.permit_category is not None
    if facts.permit_category in rs.language_review_permits:
        return _result(
            rs,
            "language-right-review",
            None,
            N_(
                "Whether this permit category gives right and duty, or duty only, depends on "
                "the sponsor's residence basis; decide it manually."
            ),
        )
    right_only = _right_only(rs, facts, rs.language_right_only_permits)
    permits = rs.language_permits
    if not right_only and permits is not None and facts.permit_category not in permits:
        return _result(
            rs,
            "language-right-permit",
            False,
            N_("This residence permit category gives no right to free language training."),
            duty=False,
        )
    if facts.birth_date is None:
        return _result(
            rs,
            "language-right-missing-birth-date",
            None,
            N_("The birth date is not recorded, so the age limits cannot be checked."),
        )
    assert rs.language_age_min is not None and rs.language_age_max is not None
    limits = {"min": rs.language_age_min, "max": rs.language_age_max}
    on, caveats = _age_reference(rs.language_age_basis, facts, today)
    in_group = rs.language_age_min <= age_on(facts.birth_date, on) <= rs.language_age_max
    if not in_group or age_on(facts.birth_date, today) > rs.language_age_max:
        return _result(
            rs,
            "language-right-age",
            False,
            N_(
                "Language training under the Act is for people aged %(min)d to %(max)d when "
                "the permit was granted, and ends at %(end)d; this person is outside that."
            ),
            caveats,
            duty=False,
            end=rs.language_age_max + 1,
            **limits,
        )
    if right_only:
        return _result(
            rs,
            "language-right-only",
            True,
            N_("Right, but no duty, to training in Norwegian: temporary collective protection."),
            caveats,
            duty=False,
        )
    return _result(
        rs,
        "language-right",
        True,
        N_(
            "Right and duty to training in Norwegian and social studies: the permit category "
            "qualifies and the person was aged %(min)d to %(max)d when it was granted."
        ),
        caveats,
        duty=True,
        **limits,
    )


def _sfi_entitlement(rs: RuleSet, facts: Facts, today: date) -> RuleResult:
    if facts.birth_date is None:
        return _result(
            rs,
            "language-right-missing-birth-date",
            None,
            N_("The birth date is not recorded, so the age limits cannot be checked."),
        )
    assert rs.language_from_second_half_of_year_turning is not None
    age = rs.language_from_second_half_of_year_turning
    if today < _sfi_right_from(rs, facts.birth_date):
        return _result(
            rs,
            "language-right-age",
            False,
            N_("The right to SFI starts in the second half of the year the person turns %(age)d."),
            duty=False,
            age=age,
        )
    return _result(
        rs,
        "language-right",
        True,
        N_(
            "Right to SFI: the person lives in Sweden and is past the second half of the year "
            "they turned %(age)d. SFI is a right, not a duty."
        ),
        duty=False,
        age=age,
    )


def within_municipality_limit(facts: Facts, today: date) -> RuleResult:
    """Norway: has the person lived in the municipality less than the limit (two years)?

    Measured on the programme decision date when there is one (the limit is met for
    good once the programme is decided), otherwise on `today`. True until the day
    before the second anniversary of settlement.
    """
    rs = rule_set_for(facts.country, today)
    if rs.municipality_limit_years is None:
        return _result(
            rs,
            "municipality-limit-not-applicable",
            None,
            N_("This country's rules have no limit on time lived in a municipality."),
        )
    years = rs.municipality_limit_years
    if facts.settlement_date is None:
        return _result(
            rs,
            "municipality-limit-missing-settlement",
            None,
            N_("The settlement date is not recorded, so the %(years)d-year limit is unknown."),
            years=years,
        )
    decided = facts.programme_decision_on
    on = decided if decided is not None and decided <= today else today
    ends_on = add_months(facts.settlement_date, 12 * years)
    if on < ends_on:
        return _result(
            rs,
            "municipality-limit",
            True,
            N_("Settled less than %(years)d years ago: within the limit for the programme."),
            years=years,
        )
    return _result(
        rs,
        "municipality-limit",
        False,
        N_("Settled %(years)d or more years ago: past the limit for the right to the programme."),
        years=years,
    )


def deadlines(facts: Facts, today: date) -> list[Deadline]:
    """The legal deadlines that apply to the participant, sorted by due date.

    Norway, when the person may have a right to the programme (entitlement not False):
    competence mapping, programme decision and programme start, each three months after
    settlement or after the claim for the programme when that came later (§ 12).
    Sweden, when the person may have a right to sfi: sfi can start within three months of
    the right arising (folkbokföring, or the age when that came later).
    Without a settlement date there is no deadline yet.
    """
    rs = rule_set_for(facts.country, today)
    if facts.settlement_date is None:
        return []
    if (
        rs.applies_to_permits_granted_from is not None
        and facts.permit_granted_on is not None
        and facts.permit_granted_on < rs.applies_to_permits_granted_from
    ):
        return []  # the previous act's deadlines, which this rule set does not model
    found: list[Deadline] = []
    if facts.country is Country.NORWAY:
        if programme_entitlement(facts, today).value is not False:
            found.extend(_programme_deadlines(rs, facts))
    elif language_training_entitlement(facts, today).value is not False:
        found.extend(_sfi_deadlines(rs, facts))
    return sorted(found, key=lambda d: (d.due_on, list(DeadlineKind).index(d.kind)))


def _programme_deadlines(rs: RuleSet, facts: Facts) -> list[Deadline]:
    assert facts.settlement_date is not None
    start = facts.settlement_date
    claimed = facts.programme_claimed_on
    if claimed is not None and claimed > start:
        start = claimed
    specs = (
        (
            DeadlineKind.COMPETENCE_MAPPING,
            rs.competence_mapping_months,
            facts.competence_mapping_on,
            N_(
                "The competence mapping must be done before the programme decision, so at the "
                "latest %(months)d months after settlement or the claim."
            ),
        ),
        (
            DeadlineKind.PROGRAMME_DECISION,
            rs.programme_decision_months,
            facts.programme_decision_on,
            N_(
                "The municipality must decide on the programme at the latest %(months)d months "
                "after settlement or the claim."
            ),
        ),
        (
            DeadlineKind.PROGRAMME_START,
            rs.programme_start_months,
            facts.programme_start_on,
            N_(
                "The programme must start at the latest %(months)d months after settlement or "
                "the claim."
            ),
        ),
    )
    found = []
    for kind, months, met_on, explanation in specs:
        if months is None:
            continue
        due_on = add_months(start, months)
        rule = _result(
            rs, f"deadline-{kind.value.replace('_', '-')}", due_on, explanation, months=months
        )
        found.append(Deadline(kind=kind, due_on=due_on, met_on=met_on, rule=rule))
    return found


def _sfi_deadlines(rs: RuleSet, facts: Facts) -> list[Deadline]:
    assert facts.settlement_date is not None
    if rs.sfi_start_months is None:
        return []
    start = facts.settlement_date
    if facts.birth_date is not None and rs.language_from_second_half_of_year_turning is not None:
        start = max(start, _sfi_right_from(rs, facts.birth_date))
    due_on = add_months(start, rs.sfi_start_months)
    rule = _result(
        rs,
        "deadline-sfi-start",
        due_on,
        N_(
            "Unless there are special reasons, SFI must be possible to start within %(months)d "
            "months of the right arising (folkbokföring)."
        ),
        months=rs.sfi_start_months,
    )
    return [Deadline(DeadlineKind.SFI_START, due_on, facts.sfi_start_on, rule)]
