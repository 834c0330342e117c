"""Rule set v1: each legal rule at its boundary — the day before, the day of, the day after."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from models.codes import Country, PermitCategory
from models.errors import DomainError
from models.rules import (
    NO_2021,
    NO_2022,
    RULE_SETS,
    SE_2018,
    SE_2023,
    DeadlineKind,
    Facts,
    NoRuleSet,
    RuleResult,
    add_months,
    age_on,
    deadlines,
    language_training_entitlement,
    programme_entitlement,
    rule_set_for,
    within_municipality_limit,
)

P = PermitCategory
TODAY = date(2025, 9, 1)
BORN = date(1995, 5, 15)


def no_facts(**changes: Any) -> Facts:
    """A refugee in Norway, 29 when the permit was granted, settled in January 2025."""
    base = Facts(
        country=Country.NORWAY,
        birth_date=BORN,
        permit_category=P.NO_REFUGEE,
        settlement_date=date(2025, 1, 10),
        arrival_date=date(2024, 9, 1),
        permit_granted_on=date(2024, 11, 1),
    )
    return dataclasses.replace(base, **changes)


def se_facts(**changes: Any) -> Facts:
    """A refugee in Sweden, 30, folkbokförd in January 2025."""
    base = Facts(
        country=Country.SWEDEN,
        birth_date=BORN,
        permit_category=P.SE_REFUGEE,
        settlement_date=date(2025, 1, 10),
        arrival_date=date(2024, 9, 1),
    )
    return dataclasses.replace(base, **changes)


# --- calendar arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 8, 31), 3, date(2025, 11, 30)),  # 31 Aug: November has no 31st
        (date(2025, 11, 30), 3, date(2026, 2, 28)),  # common year
        (date(2023, 11, 30), 3, date(2024, 2, 29)),  # leap year
        (date(2023, 11, 29), 3, date(2024, 2, 29)),
        (date(2025, 11, 15), 3, date(2026, 2, 15)),  # same day, across the new year
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 24, date(2026, 2, 28)),  # two years from a leap day
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 10, 10), 0, date(2025, 10, 10)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    """Is N months later the same day of the month, or that month's last day? Yes."""
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [(date(2025, 5, 14), 29), (date(2025, 5, 15), 30), (date(2025, 5, 16), 30)],
)
def test_age_counts_from_the_birthday_itself(on: date, expected: int) -> None:
    """Is a person a year older on the birthday itself, and not the day before? Yes."""
    assert age_on(BORN, on) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2022, 2, 28), 17),
        (date(2022, 3, 1), 18),
        (date(2024, 2, 28), 19),
        (date(2024, 2, 29), 20),
    ],
)
def test_age_of_someone_born_on_a_leap_day(on: date, expected: int) -> None:
    """Does someone born on 29 February complete a year on 1 March in a common year? Yes."""
    assert age_on(date(2004, 2, 29), on) == expected


# --- rule sets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "on", "expected"),
    [
        (Country.NORWAY, date(2021, 1, 1), NO_2021),
        (Country.NORWAY, date(2022, 6, 14), NO_2021),
        (Country.NORWAY, date(2022, 6, 15), NO_2022),
        (Country.NORWAY, date(2022, 6, 16), NO_2022),
        (Country.NORWAY, TODAY, NO_2022),
        (Country.SWEDEN, date(2018, 1, 1), SE_2018),
        (Country.SWEDEN, date(2022, 12, 31), SE_2018),
        (Country.SWEDEN, date(2023, 1, 1), SE_2023),
    ],
)
def test_rule_set_for_picks_the_version_in_force(
    country: Country, on: date, expected: object
) -> None:
    """Is the version in force the latest one whose valid_from is on or before the day? Yes."""
    assert rule_set_for(country, on) is expected


@pytest.mark.parametrize(
    ("country", "on"), [(Country.NORWAY, date(2020, 12, 31)), (Country.SWEDEN, date(2017, 12, 31))]
)
def test_rule_set_for_before_the_first_version(country: Country, on: date) -> None:
    """Is asking for a day before the first rule set a domain error naming country and day? Yes."""
    with pytest.raises(NoRuleSet) as raised:
        rule_set_for(country, on)
    assert isinstance(raised.value, DomainError)
    assert isinstance(raised.value, LookupError)
    assert raised.value.params == {"country": country.value, "date": on.isoformat()}


def test_a_later_version_takes_over_on_its_first_day() -> None:
    """Does a later amendment (here one built in the test) apply from its valid_from? Yes."""
    later = dataclasses.replace(
        NO_2022, version="NO-2030-01-01", valid_from=date(2030, 1, 1), programme_age_max=60
    )
    sets = (*RULE_SETS, later)
    assert rule_set_for(Country.NORWAY, date(2029, 12, 31), sets) is NO_2022
    assert rule_set_for(Country.NORWAY, date(2030, 1, 1), sets) is later
    assert rule_set_for(Country.SWEDEN, date(2030, 1, 1), sets) is SE_2023


def test_rule_set_versions_are_unique_and_dated() -> None:
    """Does every version name its country and its valid_from, once? Yes."""
    versions = [rs.version for rs in RULE_SETS]
    assert len(versions) == len(set(versions))
    for rs in RULE_SETS:
        assert rs.version == f"{rs.country.value}-{rs.valid_from.isoformat()}"
        assert rs.sources


def test_the_amendment_changes_only_what_it_should() -> None:
    """Does chapter 6A (2022) keep every other parameter of the 2021 Act? Yes."""
    changed = {
        f.name
        for f in dataclasses.fields(NO_2021)
        if getattr(NO_2021, f.name) != getattr(NO_2022, f.name)
    }
    assert changed == {
        "version",
        "valid_from",
        "title",
        "sources",
        "programme_right_only_permits",
        "right_only_permits_granted_from",
        "language_right_only_permits",
    }


# --- Norway: right and duty to the introduction programme -------------------------------------


@pytest.mark.parametrize(
    ("granted", "expected"),
    [
        (date(2025, 5, 14), False),  # one day short of 18
        (date(2025, 5, 15), True),  # the 18th birthday
        (date(2025, 5, 16), True),
    ],
)
def test_programme_minimum_age_on_the_grant_date(granted: date, expected: bool) -> None:
    """Does the programme right start with the 18th birthday on the permit grant date? Yes."""
    facts = no_facts(
        birth_date=date(2007, 5, 15), permit_granted_on=granted, settlement_date=date(2025, 6, 1)
    )
    result = programme_entitlement(facts, TODAY)
    assert result.value is expected
    expected_rule = "programme-right" if expected else "programme-right-age"
    assert result.rule_id == f"NO-2021/{expected_rule}"
    assert result.caveats == ()


@pytest.mark.parametrize(
    ("granted", "expected"),
    [
        (date(2025, 5, 14), True),  # 55, the day before turning 56
        (date(2025, 5, 15), False),  # turning 56
        (date(2025, 5, 16), False),
    ],
)
def test_programme_maximum_age_on_the_grant_date(granted: date, expected: bool) -> None:
    """Is 55 the last age in the target group, 56 outside it? Yes."""
    facts = no_facts(birth_date=date(1969, 5, 15), permit_granted_on=granted)
    result = programme_entitlement(facts, TODAY)
    assert result.value is expected
    assert result.params["min"] == 18
    assert result.params["max"] == 55


def test_programme_age_is_not_lost_by_growing_older() -> None:
    """Does someone 55 at the grant keep the right after turning 56? Yes."""
    facts = no_facts(birth_date=date(1969, 6, 1), permit_granted_on=date(2025, 1, 5))
    assert programme_entitlement(facts, date(2025, 9, 1)).value is True


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2025, 5, 14), False), (date(2025, 5, 15), True), (date(2025, 5, 16), True)],
)
def test_programme_age_falls_back_to_today_without_a_grant_date(
    today: date, expected: bool
) -> None:
    """Without a grant date, is the age counted on today — 18 today yes, a day short no? Yes."""
    facts = no_facts(
        birth_date=date(2007, 5, 15), permit_granted_on=None, settlement_date=date(2025, 4, 1)
    )
    result = programme_entitlement(facts, today)
    assert result.value is expected
    assert len(result.caveats) == 1
    assert "grant date is not recorded" in result.caveats[0]


@pytest.mark.parametrize(
    "category",
    [P.NO_REFUGEE, P.NO_RESETTLEMENT, P.NO_HUMANITARIAN, P.NO_FAMILY_OF_REFUGEE],
)
def test_target_group_has_right_and_duty(category: PermitCategory) -> None:
    """Do the Act's target groups have the right and the duty to the programme? Yes."""
    result = programme_entitlement(no_facts(permit_category=category), TODAY)
    assert result.value is True
    assert result.duty is True
    assert result.rule_id == "NO-2021/programme-right"
    assert result.rule_set == "NO-2022-06-15"


@pytest.mark.parametrize("category", [P.NO_WORK, P.NO_EEA, P.NO_FAMILY_OTHER, P.NO_OTHER])
def test_other_permits_give_no_programme_right(category: PermitCategory) -> None:
    """Does a work permit, EEA registration or other basis give a programme right? No."""
    result = programme_entitlement(no_facts(permit_category=category), TODAY)
    assert result.value is False
    assert result.duty is False
    assert result.rule_id == "NO-2021/programme-right-permit"
    assert result.rule_set == "NO-2022-06-15"


def test_missing_birth_date_gives_no_answer() -> None:
    """Without a birth date, is the programme entitlement unknown, with a reason? Yes."""
    result = programme_entitlement(no_facts(birth_date=None), TODAY)
    assert result.value is None
    assert result.rule_id == "NO-2021/programme-right-missing-birth-date"
    assert "birth date is not recorded" in result.explanation


def test_missing_permit_category_gives_no_answer() -> None:
    """Without a permit category, is the programme entitlement unknown? Yes."""
    result = programme_entitlement(no_facts(permit_category=None), TODAY)
    assert result.value is None
    assert result.rule_id == "NO-2021/programme-right-missing-permit"


def test_permit_category_of_the_other_country() -> None:
    """Is a Swedish permit category on a Norwegian record an error to correct, not a 'no'? Yes."""
    result = programme_entitlement(no_facts(permit_category=P.SE_REFUGEE), TODAY)
    assert result.value is None
    assert result.rule_id == "NO-2021/programme-right-permit-country"


@pytest.mark.parametrize(
    ("granted", "expected"),
    [(date(2020, 12, 31), None), (date(2021, 1, 1), True), (date(2021, 1, 2), True)],
)
def test_permits_before_2021_fall_under_the_previous_act(
    granted: date, expected: bool | None
) -> None:
    """Is a permit granted before 1 January 2021 left to the Introduction Act (unknown)? Yes."""
    facts = no_facts(permit_granted_on=granted, settlement_date=date(2021, 2, 1))
    result = programme_entitlement(facts, date(2022, 1, 1))
    assert result.value is expected
    if expected is None:
        assert result.rule_id == "NO-2021/programme-right-previous-act"
        assert result.params == {"first": "2021-01-01"}


@pytest.mark.parametrize(
    ("granted", "duty", "rule"),
    [
        (date(2022, 3, 10), True, "programme-right"),  # before chapter 6A's group
        (date(2022, 3, 11), False, "programme-right-only"),
        (date(2022, 3, 12), False, "programme-right-only"),
    ],
)
def test_collective_protection_under_chapter_6a(granted: date, duty: bool, rule: str) -> None:
    """Does collective protection granted from 11 March 2022 give the right without duty? Yes."""
    facts = no_facts(
        permit_category=P.NO_COLLECTIVE_PROTECTION,
        permit_granted_on=granted,
        settlement_date=date(2022, 5, 1),
    )
    result = programme_entitlement(facts, date(2022, 7, 1))
    assert result.value is True
    assert result.duty is duty
    assert result.rule_id == f"NO-2021/{rule}"
    assert result.rule_set == "NO-2022-06-15"


def test_collective_protection_before_chapter_6a_was_in_force() -> None:
    """On 14 June 2022, did collective protection still carry the ordinary duty? Yes."""
    facts = no_facts(
        permit_category=P.NO_COLLECTIVE_PROTECTION,
        permit_granted_on=date(2022, 4, 1),
        settlement_date=date(2022, 5, 1),
    )
    result = programme_entitlement(facts, date(2022, 6, 14))
    assert (result.value, result.duty, result.rule_set) == (True, True, "NO-2021-01-01")


@pytest.mark.parametrize(
    ("today", "expected", "rule"),
    [
        (date(2027, 1, 9), True, "programme-right"),
        (date(2027, 1, 10), False, "programme-right-municipality-limit"),
        (date(2027, 1, 11), False, "programme-right-municipality-limit"),
    ],
)
def test_programme_right_ends_after_two_years_in_a_municipality(
    today: date, expected: bool, rule: str
) -> None:
    """Does the programme right end on the second anniversary of settlement? Yes."""
    result = programme_entitlement(no_facts(), today)
    assert result.value is expected
    assert result.rule_id == f"NO-2021/{rule}"


def test_programme_right_without_settlement_date_is_flagged() -> None:
    """Without a settlement date, is the right given with a caveat about the limit? Yes."""
    result = programme_entitlement(no_facts(settlement_date=None), TODAY)
    assert result.value is True
    assert any("limit on time lived" in caveat for caveat in result.caveats)


# --- Norway: the two-year limit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2027, 1, 9), True), (date(2027, 1, 10), False), (date(2027, 1, 11), False)],
)
def test_municipality_limit(today: date, expected: bool) -> None:
    """Is the person within the limit until the day before the second anniversary? Yes."""
    result = within_municipality_limit(no_facts(), today)
    assert result.value is expected
    assert result.rule_id == "NO-2021/municipality-limit"
    assert result.params == {"years": 2}


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2026, 2, 27), True), (date(2026, 2, 28), False), (date(2026, 3, 1), False)],
)
def test_municipality_limit_from_a_leap_day(today: date, expected: bool) -> None:
    """Settled on 29 February, does the limit end on 28 February two years later? Yes."""
    facts = no_facts(settlement_date=date(2024, 2, 29), permit_granted_on=date(2024, 1, 2))
    assert within_municipality_limit(facts, today).value is expected


def test_municipality_limit_is_met_for_good_by_the_decision() -> None:
    """Once the programme was decided within two years, does the limit stay met? Yes."""
    facts = no_facts(programme_decision_on=date(2025, 3, 1))
    assert within_municipality_limit(facts, date(2028, 1, 1)).value is True


def test_municipality_limit_without_settlement_date() -> None:
    """Without a settlement date, is the limit unknown? Yes."""
    result = within_municipality_limit(no_facts(settlement_date=None), TODAY)
    assert result.value is None
    assert result.rule_id == "NO-2021/municipality-limit-missing-settlement"


def test_municipality_limit_does_not_exist_in_sweden() -> None:
    """Does Sweden's rule set have the two-year municipality limit? No."""
    result = within_municipality_limit(se_facts(), TODAY)
    assert result.value is None
    assert result.rule_id == "SE-2018/municipality-limit-not-applicable"
    assert result.rule_set == "SE-2023-01-01"


# --- Norway: training in Norwegian and social studies --------------------------------------


@pytest.mark.parametrize(
    ("granted", "expected"),
    [(date(2025, 5, 14), False), (date(2025, 5, 15), True), (date(2025, 5, 16), True)],
)
def test_language_right_from_18_at_the_grant(granted: date, expected: bool) -> None:
    """Does the language right start with the 18th birthday on the permit grant date? Yes."""
    facts = no_facts(birth_date=date(2007, 5, 15), permit_granted_on=granted)
    result = language_training_entitlement(facts, TODAY)
    assert result.value is expected
    assert result.rule_id == (
        "NO-2021/language-right" if expected else "NO-2021/language-right-age"
    )


@pytest.mark.parametrize(
    ("granted", "expected"),
    [(date(2025, 5, 14), True), (date(2025, 5, 15), False), (date(2025, 5, 16), False)],
)
def test_language_right_needs_to_be_under_67_at_the_grant(granted: date, expected: bool) -> None:
    """On the grant day, is 66 inside the language group and 67 outside? Yes."""
    facts = no_facts(birth_date=date(1958, 5, 15), permit_granted_on=granted)
    assert language_training_entitlement(facts, granted).value is expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2027, 5, 14), True), (date(2027, 5, 15), False), (date(2027, 5, 16), False)],
)
def test_language_right_ends_at_67(today: date, expected: bool) -> None:
    """Does the right and duty to language training end on the 67th birthday? Yes."""
    facts = no_facts(birth_date=date(1960, 5, 15), permit_granted_on=date(2025, 1, 1))
    result = language_training_entitlement(facts, today)
    assert result.value is expected
    if not expected:
        assert result.params["end"] == 67


def test_language_right_is_not_grown_into() -> None:
    """Does someone 17 at the grant get the language right on turning 18? No."""
    facts = no_facts(birth_date=date(2007, 5, 15), permit_granted_on=date(2025, 5, 14))
    result = language_training_entitlement(facts, date(2025, 9, 1))
    assert result.value is False
    assert result.rule_id == "NO-2021/language-right-age"


def test_language_right_and_duty_for_refugees() -> None:
    """Does a refugee of 29 have the right and the duty to language training? Yes."""
    result = language_training_entitlement(no_facts(), TODAY)
    assert (result.value, result.duty, result.rule_id) == (True, True, "NO-2021/language-right")


@pytest.mark.parametrize("category", [P.NO_WORK, P.NO_EEA, P.NO_OTHER])
def test_language_right_not_for_work_or_eea(category: PermitCategory) -> None:
    """Does a work permit or EEA registration give a right to free language training? No."""
    result = language_training_entitlement(no_facts(permit_category=category), TODAY)
    assert result.value is False
    assert result.rule_id == "NO-2021/language-right-permit"


def test_language_right_for_other_family_immigration_is_left_to_the_advisor() -> None:
    """Is 'family immigration (other)' answered as unknown, pending the sponsor's basis? Yes."""
    result = language_training_entitlement(no_facts(permit_category=P.NO_FAMILY_OTHER), TODAY)
    assert result.value is None
    assert result.rule_id == "NO-2021/language-right-review"


def test_language_right_without_duty_for_collective_protection() -> None:
    """Does chapter 6A collective protection give a language right without duty? Yes."""
    facts = no_facts(permit_category=P.NO_COLLECTIVE_PROTECTION, permit_granted_on=date(2023, 1, 1))
    result = language_training_entitlement(facts, TODAY)
    assert (result.value, result.duty) == (True, False)
    assert result.rule_id == "NO-2021/language-right-only"


def test_language_right_missing_birth_date() -> None:
    """Without a birth date, is the language entitlement unknown, with a reason? Yes."""
    result = language_training_entitlement(no_facts(birth_date=None), TODAY)
    assert result.value is None
    assert result.rule_id == "NO-2021/language-right-missing-birth-date"


# --- Sweden ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2025, 5, 14), False), (date(2025, 5, 15), True), (date(2025, 5, 16), True)],
)
def test_establishment_programme_from_20(today: date, expected: bool) -> None:
    """Is a person in the establishment programme's group from their 20th birthday? Yes."""
    result = programme_entitlement(se_facts(birth_date=date(2005, 5, 15)), today)
    assert result.value is expected
    assert result.rule_id == (
        "SE-2018/programme-right" if expected else "SE-2018/programme-right-age"
    )


@pytest.mark.parametrize(
    ("today", "version", "expected"),
    [
        (date(2022, 12, 31), "SE-2018-01-01", False),  # 65, under the 2018 limit
        (date(2023, 1, 1), "SE-2023-01-01", True),  # 65, under the raised limit
        (date(2023, 5, 14), "SE-2023-01-01", True),  # the last day at 65
        (date(2023, 5, 15), "SE-2023-01-01", False),  # turning 66
    ],
)
def test_establishment_programme_upper_age_by_version(
    today: date, version: str, expected: bool
) -> None:
    """Is 65 outside the group under the 2018 set and inside under the 2023 set? Yes."""
    facts = se_facts(birth_date=date(1957, 5, 15), settlement_date=date(2022, 11, 1))
    result = programme_entitlement(facts, today)
    assert result.value is expected
    assert result.rule_set == version


@pytest.mark.parametrize("category", [P.SE_REFUGEE, P.SE_SUBSIDIARY_PROTECTION, P.SE_FAMILY])
def test_establishment_programme_groups(category: PermitCategory) -> None:
    """Are refugees, persons with subsidiary protection and their family in the group? Yes."""
    result = programme_entitlement(se_facts(permit_category=category), TODAY)
    assert result.value is True
    assert result.duty is None  # Arbetsförmedlingen assigns the programme; no legal duty


def test_establishment_programme_other_permits() -> None:
    """Does another Swedish residence basis put a person in the programme's group? No."""
    result = programme_entitlement(se_facts(permit_category=P.SE_OTHER), TODAY)
    assert result.value is False
    assert result.rule_id == "SE-2018/programme-right-permit"


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2026, 6, 30), False), (date(2026, 7, 1), True), (date(2026, 7, 2), True)],
)
def test_sfi_from_the_second_half_of_the_year_turning_16(today: date, expected: bool) -> None:
    """Does the right to SFI start on 1 July of the year one turns 16, birthday or not? Yes."""
    result = language_training_entitlement(se_facts(birth_date=date(2010, 12, 31)), today)
    assert result.value is expected
    assert result.duty is False


def test_sfi_is_open_to_any_permit() -> None:
    """Does someone outside the programme's group still have the right to SFI? Yes."""
    result = language_training_entitlement(se_facts(permit_category=P.SE_OTHER), TODAY)
    assert result.value is True
    assert result.rule_id == "SE-2018/language-right"


# --- deadlines ---------------------------------------------------------------------------


def test_norwegian_deadlines_three_months_after_settlement() -> None:
    """Settled 31 August, are mapping, decision and start due 30 November, in order? Yes."""
    facts = no_facts(settlement_date=date(2025, 8, 31))
    found = deadlines(facts, date(2025, 9, 1))
    assert [d.kind for d in found] == [
        DeadlineKind.COMPETENCE_MAPPING,
        DeadlineKind.PROGRAMME_DECISION,
        DeadlineKind.PROGRAMME_START,
    ]
    assert {d.due_on for d in found} == {date(2025, 11, 30)}
    for deadline in found:
        assert deadline.rule.value == deadline.due_on
        assert deadline.rule.rule_set == "NO-2022-06-15"
        assert deadline.rule.params == {"months": 3}
    assert found[2].rule.rule_id == "NO-2021/deadline-programme-start"


@pytest.mark.parametrize(
    ("today", "overdue"),
    [(date(2025, 11, 29), False), (date(2025, 11, 30), False), (date(2025, 12, 1), True)],
)
def test_deadline_is_overdue_only_after_its_last_day(today: date, overdue: bool) -> None:
    """Is a deadline on its last day still on time, and overdue the day after? Yes."""
    found = deadlines(no_facts(settlement_date=date(2025, 8, 31)), today)
    assert all(d.is_overdue(today) is overdue for d in found)


@pytest.mark.parametrize(
    ("today", "days", "expected"),
    [
        (date(2025, 11, 16), 14, True),  # exactly 14 days away
        (date(2025, 11, 15), 14, False),  # 15 days away
        (date(2025, 11, 30), 0, True),  # the last day itself
        (date(2025, 12, 1), 14, False),  # overdue is not "due within"
    ],
)
def test_deadline_due_within(today: date, days: int, expected: bool) -> None:
    """Is a deadline 'due within N days' exactly when its last day is 0..N days away? Yes."""
    deadline = deadlines(no_facts(settlement_date=date(2025, 8, 31)), date(2025, 9, 1))[0]
    assert deadline.is_due_within(today, days) is expected


def test_due_within_refuses_negative_days() -> None:
    """Is a negative window a programming error? Yes."""
    deadline = deadlines(no_facts(), TODAY)[0]
    with pytest.raises(ValueError):
        deadline.is_due_within(TODAY, -1)


def test_met_deadline_is_never_overdue() -> None:
    """Once the event happened — even late — is the deadline no longer overdue? Yes."""
    facts = no_facts(
        settlement_date=date(2025, 8, 31),
        competence_mapping_on=date(2025, 10, 1),
        programme_decision_on=date(2025, 12, 5),
    )
    found = {d.kind: d for d in deadlines(facts, date(2026, 1, 15))}
    mapping = found[DeadlineKind.COMPETENCE_MAPPING]
    decision = found[DeadlineKind.PROGRAMME_DECISION]
    start = found[DeadlineKind.PROGRAMME_START]
    assert mapping.met_on == date(2025, 10, 1) and not mapping.was_met_late
    assert decision.was_met_late and not decision.is_overdue(date(2026, 1, 15))
    assert not decision.is_due_within(date(2025, 11, 20), 30)
    assert start.met_on is None and start.is_overdue(date(2026, 1, 15))


def test_claim_after_settlement_restarts_the_clock() -> None:
    """Does a later claim for the programme count three months from the claim? Yes."""
    facts = no_facts(settlement_date=date(2025, 1, 10), programme_claimed_on=date(2025, 5, 31))
    assert {d.due_on for d in deadlines(facts, TODAY)} == {date(2025, 8, 31)}


def test_no_programme_deadlines_for_a_work_permit() -> None:
    """Does a work-permit holder get programme deadlines? No."""
    assert deadlines(no_facts(permit_category=P.NO_WORK), TODAY) == []


def test_deadlines_kept_when_the_entitlement_is_unknown() -> None:
    """Without a birth date, are the municipality's deadlines still shown? Yes."""
    assert len(deadlines(no_facts(birth_date=None), TODAY)) == 3


def test_no_deadlines_before_settlement() -> None:
    """Before settlement, is there any deadline yet? No."""
    assert deadlines(no_facts(settlement_date=None), TODAY) == []


@pytest.mark.parametrize(
    ("settled", "due"),
    [
        (date(2025, 11, 30), date(2026, 2, 28)),
        (date(2023, 11, 30), date(2024, 2, 29)),
        (date(2025, 8, 31), date(2025, 11, 30)),
    ],
)
def test_sfi_start_within_three_months(settled: date, due: date) -> None:
    """Must SFI be possible to start within three months of folkbokföring? Yes."""
    found = deadlines(se_facts(settlement_date=settled), settled)
    assert [(d.kind, d.due_on) for d in found] == [(DeadlineKind.SFI_START, due)]
    assert found[0].rule.rule_id == "SE-2018/deadline-sfi-start"


def test_sfi_deadline_met_by_the_start() -> None:
    """Does the recorded SFI start meet the deadline? Yes."""
    facts = se_facts(sfi_start_on=date(2025, 2, 1))
    (deadline,) = deadlines(facts, TODAY)
    assert deadline.met_on == date(2025, 2, 1) and not deadline.is_overdue(TODAY)


def test_sfi_deadline_counts_from_the_right_for_the_young() -> None:
    """For someone too young at folkbokföring, does the clock start with the right? Yes."""
    facts = se_facts(birth_date=date(2010, 3, 1), settlement_date=date(2026, 1, 15))
    (deadline,) = deadlines(facts, date(2026, 7, 1))
    assert deadline.due_on == date(2026, 10, 1)


def test_no_sfi_deadline_before_the_right() -> None:
    """Does someone not yet entitled to SFI get an SFI deadline? No."""
    facts = se_facts(birth_date=date(2012, 3, 1))
    assert deadlines(facts, TODAY) == []


# --- results -----------------------------------------------------------------------------


def _all_results(facts: Facts, today: date) -> list[RuleResult]:
    results = [
        programme_entitlement(facts, today),
        language_training_entitlement(facts, today),
        within_municipality_limit(facts, today),
    ]
    return results + [d.rule for d in deadlines(facts, today)]


@pytest.mark.parametrize(
    "facts",
    [
        no_facts(),
        no_facts(birth_date=None),
        no_facts(permit_category=P.NO_WORK),
        no_facts(permit_granted_on=None),
        no_facts(permit_category=P.NO_COLLECTIVE_PROTECTION),
        se_facts(),
        se_facts(permit_category=None),
    ],
)
def test_every_result_names_its_rule_and_rule_set(facts: Facts) -> None:
    """Does every result say which rule and which rule set version produced it? Yes."""
    for result in _all_results(facts, TODAY):
        prefix, _, name = result.rule_id.partition("/")
        assert prefix in {"NO-2021", "SE-2018"} and name
        assert result.rule_set in {rs.version for rs in RULE_SETS}
        assert result.explanation
        str(result)  # every placeholder has its parameter


def test_results_carry_no_personal_data() -> None:
    """Do explanations or parameters contain the participant's dates or age? No."""
    facts = no_facts(birth_date=date(1981, 7, 23), settlement_date=date(2025, 3, 17))
    for result in _all_results(facts, TODAY):
        text = str(result)
        for value in ("1981", "07-23", "2025-03-17", str(age_on(date(1981, 7, 23), TODAY))):
            assert value not in text
        assert set(result.params) <= {
            "min",
            "max",
            "end",
            "years",
            "months",
            "duty",
            "age",
            "first",
        }


def test_result_renders_its_parameters_in_english() -> None:
    """Does str() interpolate the legal parameters into the explanation? Yes."""
    result = programme_entitlement(no_facts(birth_date=date(2010, 1, 1)), TODAY)
    assert str(result) == ("The programme is for people aged 18 to 55; this person is not.")


def test_results_are_immutable_and_hashable() -> None:
    """Can a result's parameters be changed after the fact, or a deadline not be hashed? No."""
    (deadline, *_) = deadlines(no_facts(), TODAY)
    with pytest.raises(TypeError):
        deadline.rule.params["months"] = 4  # type: ignore[index]
    assert hash(deadline) == hash(dataclasses.replace(deadline))


def test_no_deadlines_under_the_previous_act() -> None:
    """A permit granted before 2021 (the old Introduction Act): are 2021-act deadlines computed?
    No — they would all show as overdue for ever."""
    facts = Facts(
        country=Country.NORWAY,
        birth_date=date(1980, 1, 1),
        permit_category=PermitCategory.NO_REFUGEE,
        settlement_date=date(2019, 3, 1),
        arrival_date=date(2018, 1, 1),
        permit_granted_on=date(2018, 12, 1),
    )
    assert deadlines(facts, date(2026, 11, 23)) == []
