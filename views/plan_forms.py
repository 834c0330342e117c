"""Forms of the competence mapping, career guidance and the plan; limits from `models.plans`."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from models.codes import (
    CEFR_LABELS,
    ELEMENT_STATUS_LABELS,
    END_GOAL_LABELS,
    PLAN_ELEMENT_TYPE_LABELS,
    CefrLevel,
    ElementStatus,
    EndGoal,
    PlanElementType,
    Skill,
)
from models.plans import (
    DIGITAL_SKILLS_LABELS,
    EDUCATION_LEVEL_LABELS,
    GUIDANCE_DIRECTION_LABELS,
    LITERACY_LABELS,
    MAX_HOURS,
    MAX_MAPPED_LANGUAGES,
    MAX_NOTE,
    MAX_REASON,
    MAX_SHORT,
    MAX_TEXT,
    MAX_YEARS,
    DigitalSkills,
    EducationLevel,
    ElementInput,
    GuidanceDirection,
    GuidanceInput,
    Literacy,
    MappingInput,
    PlanInput,
)
from views.participant_forms import language_choices


def _choices(labels: dict[Any, str], blank: bool = False) -> list[SelectChoice]:
    items = [SelectChoice(k.value, _l(v)) for k, v in labels.items()]
    return ([SelectChoice("", _l("— choose —"))] if blank else []) + items


def _date(label: Any, *, required: bool = False) -> DateField:
    validators: list[Any] = (
        [InputRequired(message=_l("Enter a date."))] if required else [Optional()]
    )
    return DateField(label, validators=validators, format="%Y-%m-%d")


def _years(label: Any) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(0, MAX_YEARS, message=_l("Enter a number of years between 0 and 60.")),
        ],
    )


def _level_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("— no goal —"))] + [
        SelectChoice(level.value, _l(CEFR_LABELS[level])) for level in CefrLevel
    ]


def _reason() -> StringField:
    return StringField(
        _l("Reason for the change"),
        validators=[
            InputRequired(message=_l("Say briefly why the plan is changed.")),
            Length(max=MAX_REASON),
        ],
    )


class MappingForm(FlaskForm):
    revision = HiddenField()
    mapped_on = _date(_l("Date of the mapping"), required=True)
    education_level = SelectField(_l("Highest education"), choices=[])
    education_years = _years(_l("Years of schooling"))
    education_country = StringField(_l("Country of education"), validators=[Length(max=MAX_SHORT)])
    education_field = StringField(_l("Field of education"), validators=[Length(max=MAX_SHORT)])
    occupation = StringField(_l("Occupation"), validators=[Length(max=MAX_SHORT)])
    work_years = _years(_l("Years of work experience"))
    language_1 = SelectField(_l("Language 1"), choices=[], default="")
    level_1 = SelectField(_l("Level, language 1"), choices=[], default="")
    language_2 = SelectField(_l("Language 2"), choices=[], default="")
    level_2 = SelectField(_l("Level, language 2"), choices=[], default="")
    language_3 = SelectField(_l("Language 3"), choices=[], default="")
    level_3 = SelectField(_l("Level, language 3"), choices=[], default="")
    language_4 = SelectField(_l("Language 4"), choices=[], default="")
    level_4 = SelectField(_l("Level, language 4"), choices=[], default="")
    literacy = SelectField(_l("Reading and writing"), choices=[])
    digital_skills = SelectField(_l("Digital skills"), choices=[])
    other_competence = TextAreaField(_l("Other competence"), validators=[Length(max=MAX_TEXT)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.education_level.choices = _choices(EDUCATION_LEVEL_LABELS)
        self.literacy.choices = _choices(LITERACY_LABELS)
        self.digital_skills.choices = _choices(DIGITAL_SKILLS_LABELS)
        for number in range(1, MAX_MAPPED_LANGUAGES + 1):
            getattr(self, f"language_{number}").choices = language_choices(blank=True)
            getattr(self, f"level_{number}").choices = [SelectChoice("", _l("— level —"))] + [
                SelectChoice(level.value, _l(CEFR_LABELS[level])) for level in CefrLevel
            ]

    def language_rows(self) -> list[tuple[Any, Any]]:
        return [
            (getattr(self, f"language_{n}"), getattr(self, f"level_{n}"))
            for n in range(1, MAX_MAPPED_LANGUAGES + 1)
        ]

    def to_input(self) -> MappingInput:
        languages = []
        for language, level in self.language_rows():
            if language.data:
                languages.append((str(language.data), str(level.data or "")))
        return MappingInput(
            mapped_on=self.mapped_on.data,
            education_level=EducationLevel(self.education_level.data),
            education_years=self.education_years.data,
            education_country=self.education_country.data or "",
            education_field=self.education_field.data or "",
            occupation=self.occupation.data or "",
            work_years=self.work_years.data,
            languages=languages,
            literacy=Literacy(self.literacy.data),
            digital_skills=DigitalSkills(self.digital_skills.data),
            other_competence=self.other_competence.data or "",
        )


class GuidanceForm(FlaskForm):
    given_on = _date(_l("Date of the guidance"), required=True)
    provider = StringField(
        _l("Given by"),
        validators=[InputRequired(message=_l("Say who gave the guidance.")), Length(max=MAX_SHORT)],
    )
    recommendation = SelectField(_l("Recommendation"), choices=[])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=MAX_TEXT)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recommendation.choices = _choices(GUIDANCE_DIRECTION_LABELS)

    def to_input(self) -> GuidanceInput:
        return GuidanceInput(
            given_on=self.given_on.data,
            provider=self.provider.data or "",
            recommendation=GuidanceDirection(self.recommendation.data),
            summary=self.summary.data or "",
        )


class PlanForm(FlaskForm):
    version = HiddenField()
    end_goal = SelectField(_l("End goal"), choices=[])
    long_term_goal = TextAreaField(_l("Long-term goal"), validators=[Length(max=MAX_TEXT)])
    goal_listening = SelectField(_l("Language goal: listening"), choices=[], default="")
    goal_reading = SelectField(_l("Language goal: reading"), choices=[], default="")
    goal_writing = SelectField(_l("Language goal: writing"), choices=[], default="")
    goal_oral = SelectField(_l("Language goal: oral"), choices=[], default="")
    programme_start_on = _date(_l("Programme start"), required=True)
    planned_end_on = _date(_l("Planned end"), required=True)
    hours_per_week_norm = SelectField(_l("Full-time norm (hours per week)"), choices=[])
    has_children_under_18 = BooleanField(_l("The participant has children under 18"))
    contract_text = TextAreaField(
        _l("Integration contract: mutual obligations"), validators=[Length(max=MAX_TEXT)]
    )
    reason = _reason()

    def __init__(self, *args: Any, norms: tuple[float, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.end_goal.choices = _choices(END_GOAL_LABELS, blank=True)
        for skill in Skill:
            getattr(self, f"goal_{skill.value}").choices = _level_choices()
        self.hours_per_week_norm.choices = [SelectChoice(f"{n:g}", f"{n:g}") for n in norms]

    def fill(self, plan: Any) -> None:
        self.end_goal.data = plan.end_goal.value
        self.long_term_goal.data = plan.long_term_goal or ""
        goals = plan.goals_by_skill
        for skill in Skill:
            getattr(self, f"goal_{skill.value}").data = goals[skill].value if skill in goals else ""
        self.programme_start_on.data = plan.programme_start_on
        self.planned_end_on.data = plan.planned_end_on
        self.hours_per_week_norm.data = f"{float(plan.hours_per_week_norm):g}"
        self.has_children_under_18.data = plan.has_children_under_18
        self.contract_text.data = plan.contract_text or ""

    def skill_fields(self) -> list[Any]:
        return [getattr(self, f"goal_{skill.value}") for skill in Skill]

    def to_input(self) -> PlanInput:
        goals = {}
        for skill in Skill:
            value = getattr(self, f"goal_{skill.value}").data
            if value:
                goals[skill] = CefrLevel(value)
        try:
            norm: float | None = float(self.hours_per_week_norm.data or "")
        except ValueError:
            norm = None
        return PlanInput(
            end_goal=EndGoal(self.end_goal.data) if self.end_goal.data else None,
            long_term_goal=self.long_term_goal.data or "",
            language_goals=goals,
            programme_start_on=self.programme_start_on.data,
            planned_end_on=self.planned_end_on.data,
            hours_per_week_norm=norm,
            has_children_under_18=bool(self.has_children_under_18.data),
            contract_text=self.contract_text.data or "",
        )


class ElementForm(FlaskForm):
    version = HiddenField()
    element_type = SelectField(_l("Kind of element"), choices=[])
    provider_unit = SelectField(_l("Provider"), choices=[], default="")
    start_on = _date(_l("Start"))
    end_on = _date(_l("End"))
    hours_per_week = FloatField(
        _l("Hours per week"),
        validators=[
            InputRequired(message=_l("Enter the hours per week.")),
            NumberRange(0, MAX_HOURS, message=_l("Enter hours per week between 0 and 60.")),
        ],
    )
    status = SelectField(_l("Status"), choices=[])
    note = TextAreaField(_l("Note"), validators=[Length(max=MAX_NOTE)])
    reason = _reason()

    def __init__(
        self, *args: Any, units: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.element_type.choices = _choices(PLAN_ELEMENT_TYPE_LABELS, blank=True)
        self.status.choices = _choices(ELEMENT_STATUS_LABELS)
        self.provider_unit.choices = [SelectChoice("", _l("— none —"))] + [
            SelectChoice(str(ident), name) for ident, name in units or []
        ]

    def to_input(self) -> ElementInput:
        provider = self.provider_unit.data
        return ElementInput(
            element_type=PlanElementType(self.element_type.data)
            if self.element_type.data
            else None,
            provider_unit_id=int(provider) if provider and str(provider).isdigit() else None,
            start_on=self.start_on.data,
            end_on=self.end_on.data,
            hours_per_week=self.hours_per_week.data,
            status=ElementStatus(self.status.data),
            note=self.note.data or "",
        )


class RemoveElementForm(FlaskForm):
    version = HiddenField()
    reason = _reason()


class AgreeForm(FlaskForm):
    agreed_on = _date(_l("Date agreed with the participant"), required=True)
    interpreter_used = BooleanField(_l("An interpreter was used"))
    language = SelectField(_l("Language of the conversation"), choices=[], default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices(blank=True)


class ReviewForm(FlaskForm):
    version = HiddenField()
    reviewed_on = _date(_l("Date of the review"), required=True)
    note = TextAreaField(_l("Note from the review"), validators=[Length(max=MAX_NOTE)])
