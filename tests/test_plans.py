"""The plan's domain: rule-set checks at their boundaries, versions, diff, agreement,
review dates, the competence mapping and the deadlines provider."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from models import plans as ops
from models.audit import AuditEvent
from models.base import local_today
from models.codes import CefrLevel, ElementStatus, EndGoal, PlanElementType, Skill
from models.deadlines import deadlines_for
from models.errors import Forbidden, NotFound, StaleEdit, ValidationFailed
from models.policy import Actor
from models.rules import NO_2021, SE_2018, DeadlineKind

START = date(2026, 1, 1)
TODAY = date(2026, 3, 1)

ALL_MANDATORY = (
    PlanElementType.LANGUAGE,
    PlanElementType.SOCIAL_STUDIES,
    PlanElementType.LIFE_SKILLS,
    PlanElementType.WORK_PRACTICE,
)


def element(
    kind: PlanElementType,
    hours: float = 0.0,
    *,
    start: date | None = None,
    end: date | None = None,
    status: ElementStatus = ElementStatus.PLANNED,
) -> ops.ElementFacts:
    return ops.ElementFacts(kind, start, end, hours, status)


def facts(**changes: Any) -> ops.PlanFacts:
    values: dict[str, Any] = {
        "end_goal": EndGoal.WORK,
        "programme_start_on": START,
        "planned_end_on": date(2027, 12, 31),
        "hours_per_week_norm": 37.5,
        "has_children_under_18": False,
        "elements": (
            element(PlanElementType.LANGUAGE, 20),
            element(PlanElementType.SOCIAL_STUDIES, 2.5),
            element(PlanElementType.LIFE_SKILLS, 5),
            element(PlanElementType.WORK_PRACTICE, 10),
        ),
        "birth_date": date(1990, 5, 17),
        "has_upper_secondary": True,
    }
    values.update(changes)
    return ops.PlanFacts(**values)


def rule_ids(warnings: list[ops.PlanWarning]) -> list[str]:
    return [w.rule_id for w in warnings]


# -- programme length ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (date(2027, 12, 30), None),  # a day before the last day of 24 months
        (date(2027, 12, 31), None),  # the last day of 24 months
        (date(2028, 1, 1), "extension"),  # the day after
        (date(2028, 12, 31), "extension"),  # the last day with the 12-month extension
        (date(2029, 1, 1), "too long"),  # the day after that
    ],
)
def test_length_boundaries(end: date, expected: str | None) -> None:
    """Is a plan longer than 24 months flagged, first as needing extension, then too long?"""
    found = ops.check_length(NO_2021, facts(planned_end_on=end))
    if expected is None:
        assert found == []
    else:
        assert rule_ids(found) == ["NO-2021/plan-length"]
        assert found[0].rule_set == "NO-2021-01-01"
        assert ("extension decision" in found[0].message) is (expected == "extension")


def test_length_for_upper_secondary_goal_is_48_months() -> None:
    """Does the end goal upper-secondary allow 48 months? Yes: the day after is flagged."""
    goal = EndGoal.UPPER_SECONDARY_COMPLETED
    assert ops.check_length(NO_2021, facts(end_goal=goal, planned_end_on=date(2029, 12, 31))) == []
    over = ops.check_length(NO_2021, facts(end_goal=goal, planned_end_on=date(2030, 1, 1)))
    assert "extension decision" in over[0].message


def test_length_minimum() -> None:
    """Is a programme shorter than 3 months flagged? Yes; exactly 3 months is not."""
    assert ops.check_length(NO_2021, facts(planned_end_on=date(2026, 3, 31))) == []
    short = ops.check_length(NO_2021, facts(planned_end_on=date(2026, 3, 30)))
    assert "shorter" in short[0].message


def test_length_without_extension_rule_is_too_long_at_once() -> None:
    """Sweden has no extension allowance: a day over 24 months is simply too long."""
    found = ops.check_length(SE_2018, facts(planned_end_on=date(2028, 1, 1)))
    assert rule_ids(found) == ["SE-2018/plan-length"]
    assert "too long" in found[0].message


# -- under 25 without upper-secondary -----------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "warns"),
    [
        (date(2001, 1, 2), True),  # 24 on programme start (turns 25 the next day)
        (date(2001, 1, 1), False),  # 25 on programme start
    ],
)
def test_young_without_upper_secondary(birth: date, warns: bool) -> None:
    found = ops.check_young(NO_2021, facts(birth_date=birth, has_upper_secondary=False))
    assert (rule_ids(found) == ["NO-2021/plan-young-end-goal"]) is warns


def test_young_rule_needs_the_facts() -> None:
    """No warning with upper-secondary done, an unknown mapping, or the right end goal."""
    young = date(2005, 1, 1)
    assert ops.check_young(NO_2021, facts(birth_date=young, has_upper_secondary=True)) == []
    assert ops.check_young(NO_2021, facts(birth_date=young, has_upper_secondary=None)) == []
    goal = EndGoal.UPPER_SECONDARY_COMPLETED
    assert (
        ops.check_young(NO_2021, facts(birth_date=young, has_upper_secondary=False, end_goal=goal))
        == []
    )


# -- hours ----------------------------------------------------------------------------------------


def test_hours_at_the_norm_pass() -> None:
    assert ops.check_hours(NO_2021, facts(), TODAY) == []


def test_hours_just_under_the_norm_warn() -> None:
    elements = (
        element(PlanElementType.LANGUAGE, 20),
        element(PlanElementType.SOCIAL_STUDIES, 2.5),
        element(PlanElementType.LIFE_SKILLS, 5),
        element(PlanElementType.WORK_PRACTICE, 9.99),
    )
    found = ops.check_hours(NO_2021, facts(elements=elements), TODAY)
    assert "NO-2021/plan-hours-week" in rule_ids(found)


def test_done_and_cancelled_elements_do_not_count() -> None:
    elements = (
        element(PlanElementType.LANGUAGE, 37.5, status=ElementStatus.CANCELLED),
        element(PlanElementType.WORK_PRACTICE, 37.5, status=ElementStatus.DONE),
    )
    assert ops.weekly_hours(facts(elements=elements), TODAY) == 0


def test_year_with_more_than_the_holiday_weeks_empty_warns() -> None:
    """Full time the whole year but for 6 empty weeks (5 weeks' holiday allowed): warn."""
    gap_start = date(2026, 6, 1)
    elements = (
        element(PlanElementType.LANGUAGE, 37.5, end=gap_start - timedelta(days=1)),
        element(PlanElementType.WORK_PRACTICE, 37.5, start=gap_start + timedelta(weeks=6)),
    )
    found = ops.check_hours(NO_2021, facts(elements=elements), TODAY)
    assert rule_ids(found) == ["NO-2021/plan-hours-year"]
    ok = (
        element(PlanElementType.LANGUAGE, 37.5, end=gap_start - timedelta(days=1)),
        element(PlanElementType.WORK_PRACTICE, 37.5, start=gap_start + timedelta(weeks=4)),
    )
    assert ops.check_hours(NO_2021, facts(elements=ok), TODAY) == []


# -- mandatory elements ----------------------------------------------------------------


@pytest.mark.parametrize("missing", ALL_MANDATORY[:3])
def test_each_mandatory_element_missing(missing: PlanElementType) -> None:
    elements = tuple(element(k, 10) for k in ALL_MANDATORY if k is not missing)
    found = ops.check_elements(NO_2021, facts(elements=elements))
    assert rule_ids(found) == ["NO-2021/plan-mandatory-elements"]
    assert found[0].params == {"element": missing.value}


def test_work_or_education_element_missing() -> None:
    elements = tuple(element(k, 10) for k in ALL_MANDATORY[:3])
    found = ops.check_elements(NO_2021, facts(elements=elements))
    assert rule_ids(found) == ["NO-2021/plan-work-or-education"]


def test_parenting_course_when_children_under_18() -> None:
    with_children = facts(has_children_under_18=True)
    assert rule_ids(ops.check_elements(NO_2021, with_children)) == ["NO-2021/plan-parenting"]
    elements = (*with_children.elements, element(PlanElementType.PARENTING, 2))
    assert ops.check_elements(NO_2021, facts(has_children_under_18=True, elements=elements)) == []


def test_cancelled_mandatory_element_does_not_count() -> None:
    elements = (
        element(PlanElementType.LANGUAGE, 20, status=ElementStatus.CANCELLED),
        *(element(k, 10) for k in ALL_MANDATORY[1:]),
    )
    assert rule_ids(ops.check_elements(NO_2021, facts(elements=elements))) == [
        "NO-2021/plan-mandatory-elements"
    ]


def test_complete_plan_has_no_warnings() -> None:
    assert ops.check_plan(NO_2021, facts(), TODAY) == []


# -- operations ------------------------------------------------------------------------------------


@pytest.fixture
def setting(db_session: Any, make_user: Any, make_unit: Any, make_participant: Any) -> Any:
    unit = make_unit()
    advisor = make_user("advisor", unit)
    participant = make_participant(unit=unit, advisor=advisor)

    class Setting:
        pass

    s = Setting()
    s.session = db_session  # type: ignore[attr-defined]
    s.unit = unit  # type: ignore[attr-defined]
    s.advisor = advisor  # type: ignore[attr-defined]
    s.actor = Actor(advisor)  # type: ignore[attr-defined]
    s.participant = participant  # type: ignore[attr-defined]
    return s


def plan_input(**changes: Any) -> ops.PlanInput:
    values: dict[str, Any] = {
        "end_goal": EndGoal.WORK,
        "long_term_goal": "Work as an electrician",
        "language_goals": {Skill.ORAL: CefrLevel.B1, Skill.READING: CefrLevel.A2},
        "programme_start_on": START,
        "planned_end_on": date(2027, 12, 31),
        "hours_per_week_norm": 37.5,
        "has_children_under_18": False,
        "contract_text": "We meet every month.",
    }
    values.update(changes)
    return ops.PlanInput(**values)


def save(s: Any, reason: str = "First plan", **changes: Any) -> ops.PlanVersion:
    plan = ops.plan_of(s.session, s.participant)
    return ops.save_plan(
        s.session,
        s.actor,
        s.participant,
        plan.version if plan else 0,
        plan_input(**changes),
        reason=reason,
        today=TODAY,
    )


def add(s: Any, kind: PlanElementType, hours: float = 10, **changes: Any) -> ops.PlanVersion:
    plan = ops.plan_of(s.session, s.participant)
    assert plan is not None
    data = ops.ElementInput(element_type=kind, hours_per_week=hours, **changes)
    return ops.add_element(
        s.session, s.actor, s.participant, plan.version, data, reason="add", today=TODAY
    )


def test_saving_twice_gives_two_versions(setting: Any) -> None:
    first = save(setting)
    second = save(setting, reason="New goal", long_term_goal="Work as a nurse")
    plan = ops.plan_of(setting.session, setting.participant)
    assert plan is not None
    assert [v.number for v in ops.versions_of(setting.session, plan)] == [2, 1]
    assert (first.number, second.number) == (1, 2)
    assert second.reason == "New goal"
    assert first.snapshot["long_term_goal"] == "Work as an electrician"
    assert second.snapshot["long_term_goal"] == "Work as a nurse"
    assert second.created_by_id == setting.advisor.id


def test_each_save_writes_one_audit_event_without_values(setting: Any) -> None:
    before = setting.session.scalar(select(func.count()).select_from(AuditEvent))
    save(setting)
    setting.session.commit()  # events are written when the transaction commits
    events = setting.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
    ).all()
    after = setting.session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == before + 1
    assert events[0].action == "plan.create"
    assert "electrician" not in str(events[0].field_categories)


def test_reason_is_required(setting: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        save(setting, reason="  ")
    assert caught.value.field == "reason"


def test_stale_version_is_refused(setting: Any) -> None:
    save(setting)
    with pytest.raises(StaleEdit):
        ops.save_plan(
            setting.session,
            setting.actor,
            setting.participant,
            0,
            plan_input(),
            reason="x",
            today=TODAY,
        )


def test_norm_must_be_one_of_the_rule_set(setting: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        save(setting, hours_per_week_norm=40.0)
    assert caught.value.field == "hours_per_week_norm"


def test_only_assigned_advisor_may_write(setting: Any, make_user: Any) -> None:
    other = make_user("advisor", setting.unit)
    leader = make_user("leader", setting.unit)
    with pytest.raises(NotFound):
        ops.save_plan(
            setting.session, Actor(other), setting.participant, 0, plan_input(), reason="x",
            today=TODAY,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        ops.save_plan(
            setting.session, Actor(leader), setting.participant, 0, plan_input(), reason="x",
            today=TODAY,
        )  # fmt: skip


def test_diff_shows_exactly_the_changed_fields(setting: Any) -> None:
    save(setting)
    add(setting, PlanElementType.LANGUAGE, 20)
    add(setting, PlanElementType.WORK_PRACTICE, 10)
    plan = ops.plan_of(setting.session, setting.participant)
    assert plan is not None
    language = next(e for e in plan.elements if e.element_type is PlanElementType.LANGUAGE)
    practice = next(e for e in plan.elements if e.element_type is PlanElementType.WORK_PRACTICE)
    ops.update_element(
        setting.session,
        setting.actor,
        setting.participant,
        language.ref,
        language.version,
        ops.ElementInput(
            element_type=PlanElementType.LANGUAGE,
            hours_per_week=22.5,
            status=ElementStatus.ONGOING,
        ),
        reason="more hours",
        today=TODAY,
    )
    ops.remove_element(
        setting.session,
        setting.actor,
        setting.participant,
        practice.ref,
        practice.version,
        reason="mistake",
        today=TODAY,
    )
    add(setting, PlanElementType.JOB_SEEKING, 5)
    last = save(
        setting,
        reason="goal",
        end_goal=EndGoal.HIGHER_EDUCATION_QUALIFICATION,
        language_goals={Skill.ORAL: CefrLevel.B2, Skill.READING: CefrLevel.A2},
    )
    third = ops.version_by_number(setting.session, plan, 3)
    changes = ops.diff(third.snapshot, last.snapshot)
    assert [(c.field, c.before, c.after) for c in changes.fields] == [
        ("end_goal", "work", "higher_education_qualification"),
        ("language_goals.oral", "B1", "B2"),
    ]
    kinds = {(e.kind, e.element_type) for e in changes.elements}
    assert kinds == {
        ("changed", "language"),
        ("added", "job_seeking"),
        ("removed", "work_practice"),
    }
    changed = next(e for e in changes.elements if e.kind == "changed")
    assert [(c.field, c.before, c.after) for c in changed.fields] == [
        ("hours_per_week", 20.0, 22.5),
        ("status", "planned", "ongoing"),
    ]
    assert ops.diff(last.snapshot, last.snapshot).is_empty


def test_agreed_version_is_unchanged_after_later_edits(setting: Any) -> None:
    first = save(setting)
    now = local_today()  # an agreement is dated no earlier than the version
    ops.mark_agreed(
        setting.session,
        setting.actor,
        setting.participant,
        first.number,
        agreed_on=now,
        interpreter_used=True,
        language="ar",
        today=now,
    )
    sealed = first.snapshot_sealed
    snapshot = dict(first.snapshot)
    save(setting, reason="change", long_term_goal="Something else")
    add(setting, PlanElementType.LANGUAGE)
    setting.session.expire_all()
    plan = ops.plan_of(setting.session, setting.participant)
    assert plan is not None
    again = ops.version_by_number(setting.session, plan, 1)
    assert again.snapshot_sealed == sealed
    assert again.snapshot == snapshot
    assert (again.agreed_on, again.interpreter_used, again.agreed_language) == (now, True, "ar")
    assert ops.latest_agreed(setting.session, plan).number == 1  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed):
        ops.mark_agreed(
            setting.session, setting.actor, setting.participant, 1, agreed_on=now,
            interpreter_used=False, language="", today=now,
        )  # fmt: skip


def test_review_dates(setting: Any) -> None:
    """Review due 6 months after the first save, forced to today when the end goal changes
    or the planned end moves past the maximum, and 6 months after a recorded review."""
    save(setting)
    plan = ops.plan_of(setting.session, setting.participant)
    assert plan is not None
    assert plan.review_due_on == date(2026, 9, 1)
    save(setting, reason="same goal, new text", contract_text="new")
    assert plan.review_due_on == date(2026, 9, 1)
    save(setting, reason="new goal", end_goal=EndGoal.PRIMARY_SCHOOL)
    assert plan.review_due_on == TODAY
    ops.record_review(
        setting.session,
        setting.actor,
        setting.participant,
        plan.version,
        reviewed_on=TODAY,
        note="went well",
        today=TODAY,
        review_months=3,
    )
    assert plan.review_due_on == date(2026, 6, 1)
    save(
        setting, reason="extend", end_goal=EndGoal.PRIMARY_SCHOOL, planned_end_on=date(2028, 6, 30)
    )
    assert plan.review_due_on == TODAY


def test_require_review(setting: Any) -> None:
    save(setting)
    ops.require_review(setting.session, setting.participant, date(2026, 4, 2))
    plan = ops.plan_of(setting.session, setting.participant)
    assert plan is not None and plan.review_due_on == date(2026, 4, 2)


def test_deadlines_provider(setting: Any) -> None:
    save(setting)
    items = {d.kind: d for d in deadlines_for(setting.session, setting.participant, TODAY)}
    assert items[DeadlineKind.PLAN_REVIEW].due_on == date(2026, 9, 1)
    assert items[DeadlineKind.PLAN_REVIEW].rule_id == "NO-2021/plan-review"
    assert items[DeadlineKind.PLANNED_END].due_on == date(2027, 12, 31)
    assert items[DeadlineKind.PLANNED_END].met_on is None
    setting.participant.programme_end_on = date(2027, 6, 1)
    items = {d.kind: d for d in deadlines_for(setting.session, setting.participant, TODAY)}
    assert items[DeadlineKind.PLANNED_END].met_on == date(2027, 6, 1)


def test_first_mapping_sets_the_date_and_corrections_are_revisions(setting: Any) -> None:
    data = ops.MappingInput(
        mapped_on=date(2026, 2, 1),
        education_level=EducationLevel.NONE,
        languages=[("ar", "C1"), ("en", "A2")],
        other_competence="Drives a car",
    )
    first = ops.save_mapping(
        setting.session, setting.actor, setting.participant, 0, data, today=TODAY
    )
    assert setting.participant.competence_mapping_on == date(2026, 2, 1)
    assert first.languages == [("ar", CefrLevel.C1), ("en", CefrLevel.A2)]
    assert first.has_upper_secondary is False
    data.mapped_on = date(2026, 2, 20)
    data.education_level = EducationLevel.VOCATIONAL
    second = ops.save_mapping(
        setting.session, setting.actor, setting.participant, 1, data, today=TODAY
    )
    assert second.revision == 2
    assert setting.participant.competence_mapping_on == date(2026, 2, 1)
    assert ops.current_mapping(setting.session, setting.participant) is second
    with pytest.raises(StaleEdit):
        ops.save_mapping(setting.session, setting.actor, setting.participant, 1, data, today=TODAY)


def test_guidance(setting: Any) -> None:
    data = ops.GuidanceInput(
        given_on=TODAY,
        provider="Karrieresenteret",
        recommendation=ops.GuidanceDirection.EDUCATION,
        summary="Nursing school",
    )
    ops.add_guidance(setting.session, setting.actor, setting.participant, data, today=TODAY)
    rows = ops.guidances(setting.session, setting.participant)
    assert [(g.provider, g.summary) for g in rows] == [("Karrieresenteret", "Nursing school")]
    data.provider = ""
    with pytest.raises(ValidationFailed):
        ops.add_guidance(setting.session, setting.actor, setting.participant, data, today=TODAY)


EducationLevel = ops.EducationLevel
