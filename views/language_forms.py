"""Forms for language training; limits come from `models.language`."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Form as BaseForm
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from models.codes import CEFR_LABELS, SKILL_LABELS, CefrLevel, Skill
from models.language import (
    ABSENCE_REASON_LABELS,
    ATTENDANCE_STATUS_LABELS,
    ENROLMENT_END_LABELS,
    LEAVE_TYPE_LABELS,
    MAX_CLASS_NAME,
    MAX_COMMENT,
    MAX_LESSON_MINUTES,
    MAX_LESSONS_PER_DAY,
    MAX_ORIENTATION_HOURS,
    MAX_ROOM,
    MAX_SESSION_MINUTES,
    TEST_KIND_LABELS,
    WEEKDAY_LABELS,
    AbsenceReason,
    AttendanceInput,
    AttendanceStatus,
    ClassInput,
    EnrolmentEnd,
    LeaveType,
    SfiCourse,
    SfiGrade,
    StudyPath,
    TestInput,
    TestKind,
)

DATE_FORMAT = "%Y-%m-%d"
MAX_IDENTIFIER = 20


def _choices(labels: dict[Any, str], blank: Any = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(str(value.value), _l(label)) for value, label in labels.items()]


def _register_choices() -> tuple[list[SelectChoice], list[SelectChoice]]:
    """The register's two code lists, translated once per request: a class of 25 renders
    them 25 times each, and lazy labels would be translated again for every option."""
    cached: tuple[list[SelectChoice], list[SelectChoice]] | None = g.get("register_choices")
    if cached is None:
        cached = (
            [
                SelectChoice(v.value, gettext(label))
                for v, label in ATTENDANCE_STATUS_LABELS.items()
            ],
            [SelectChoice("", gettext("— no reason —"))]
            + [SelectChoice(v.value, gettext(label)) for v, label in ABSENCE_REASON_LABELS.items()],
        )
        g.register_choices = cached
    return cached


def _plain(values: list[Any], blank: Any) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(v.value, v.value) for v in values]


def _code(cls: type[Any], value: Any) -> Any:
    """The code for a submitted value, or None for an empty or unknown one."""
    try:
        return cls(value) if value else None
    except ValueError:
        return None


def _date(label: Any, message: Any = None) -> DateField:
    validators = [InputRequired(message=message)] if message else [Optional()]
    return DateField(
        label, validators=validators, format=DATE_FORMAT, render_kw={"autocomplete": "off"}
    )


def _int(label: Any, low: int, high: int, message: Any, required: bool = True) -> IntegerField:
    first = InputRequired(message=message) if required else Optional()
    return IntegerField(
        label,
        validators=[first, NumberRange(min=low, max=high, message=message)],
        render_kw={"inputmode": "numeric"},
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ClassForm(FlaskForm):
    name = StringField(
        _l("Name of the class"),
        validators=[
            InputRequired(message=_l("Give the class a name.")),
            Length(max=MAX_CLASS_NAME),
        ],
    )
    unit_id = SelectField(_l("Adult learning centre"), coerce=int, validate_choice=False)
    level = SelectField(_l("Level"), validators=[Optional()], validate_choice=False)
    weekdays = MultiCheckboxField(_l("Weekdays"), coerce=int, validate_choice=False)
    lesson_minutes = _int(
        _l("Lesson length (minutes)"),
        1,
        MAX_LESSON_MINUTES,
        _l("A lesson lasts from 1 to %(max)d minutes.", max=MAX_LESSON_MINUTES),
    )
    lessons_per_day = _int(
        _l("Lessons a day"),
        1,
        MAX_LESSONS_PER_DAY,
        _l("Enter from 1 to %(max)d lessons a day.", max=MAX_LESSONS_PER_DAY),
    )
    starts_on = _date(_l("First day"), _l("Enter the first day of the class."))
    ends_on = _date(_l("Last day"), _l("Enter the last day of the class."))
    room = StringField(_l("Room"), validators=[Optional(), Length(max=MAX_ROOM)])
    teacher_ids = MultiCheckboxField(_l("Teachers"), coerce=int, validate_choice=False)
    version = HiddenField()

    def __init__(
        self,
        *args: Any,
        units: list[tuple[int, str]],
        teachers: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.unit_id.choices = [SelectChoice(i, n) for i, n in units]
        self.level.choices = _choices(CEFR_LABELS, _l("— not set —"))
        self.weekdays.choices = [
            SelectChoice(d.value, _l(lbl)) for d, lbl in WEEKDAY_LABELS.items()
        ]
        self.teacher_ids.choices = [SelectChoice(i, n) for i, n in teachers]

    def to_input(self) -> ClassInput:
        return ClassInput(
            name=self.name.data or "",
            unit_id=self.unit_id.data,
            level=_code(CefrLevel, self.level.data),
            weekdays=list(self.weekdays.data or []),
            lesson_minutes=self.lesson_minutes.data,
            lessons_per_day=self.lessons_per_day.data,
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
            room=self.room.data or "",
            teacher_ids=list(self.teacher_ids.data or []),
        )


class EnrolForm(FlaskForm):
    identifier = StringField(
        _l("National ID or DUF number"),
        validators=[
            InputRequired(message=_l("Enter the participant's national ID or DUF number.")),
            Length(max=MAX_IDENTIFIER),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    starts_on = _date(_l("From"), _l("Enter the date."))


class EndEnrolmentForm(FlaskForm):
    reason = SelectField(
        _l("What happens"),
        validators=[InputRequired(message=_l("Choose what happens."))],
        validate_choice=False,
    )
    ends_on = _date(_l("From / last day"), _l("Enter the date."))
    move_to = SelectField(_l("Move to class"), coerce=int, validate_choice=False)
    version = HiddenField()

    def __init__(self, *args: Any, classes: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = _choices(ENROLMENT_END_LABELS, _l("— choose —"))
        self.move_to.choices = [SelectChoice(0, _l("— not moving —"))] + [
            SelectChoice(i, n) for i, n in classes
        ]

    def to_reason(self) -> EnrolmentEnd | None:
        code: EnrolmentEnd | None = _code(EnrolmentEnd, self.reason.data)
        return code


class AttendanceEntryForm(BaseForm):
    item = HiddenField()
    status = SelectField(_l("Attendance"), validate_choice=False)
    reason = SelectField(_l("Reason"), validate_choice=False)
    minutes = IntegerField(
        _l("Minutes attended"),
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=MAX_SESSION_MINUTES,
                message=_l("Enter from 0 to %(max)d minutes.", max=MAX_SESSION_MINUTES),
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices, self.reason.choices = _register_choices()

    def to_input(self) -> AttendanceInput:
        return AttendanceInput(
            enrolment_ref=str(self.item.data or ""),
            status=_code(AttendanceStatus, self.status.data),
            reason=_code(AbsenceReason, self.reason.data),
            minutes=self.minutes.data,
        )


class RegisterForm(FlaskForm):
    entries = FieldList(FormField(AttendanceEntryForm), max_entries=200)
    version = HiddenField()

    def to_inputs(self) -> list[AttendanceInput]:
        return [entry.form.to_input() for entry in self.entries]


class LeaveForm(FlaskForm):
    leave_type = SelectField(
        _l("Kind of leave"),
        validators=[InputRequired(message=_l("Choose the kind of leave."))],
        validate_choice=False,
    )
    starts_on = _date(_l("First day"), _l("Enter the first day of the leave."))
    ends_on = _date(_l("Last day"), _l("Enter the last day of the leave."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.leave_type.choices = _choices(LEAVE_TYPE_LABELS, _l("— choose —"))

    def to_type(self) -> LeaveType | None:
        code: LeaveType | None = _code(LeaveType, self.leave_type.data)
        return code


class EstimateForm(FlaskForm):
    skill = SelectField(
        _l("Skill"),
        validators=[InputRequired(message=_l("Choose the skill."))],
        validate_choice=False,
    )
    level = SelectField(
        _l("Estimated level"),
        validators=[InputRequired(message=_l("Choose the level."))],
        validate_choice=False,
    )
    assessed_on = _date(_l("Date"), _l("Enter the date."))
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=MAX_COMMENT)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skill.choices = _choices(SKILL_LABELS, _l("— choose —"))
        self.level.choices = _choices(CEFR_LABELS, _l("— choose —"))

    def codes(self) -> tuple[Skill | None, CefrLevel | None]:
        return _code(Skill, self.skill.data), _code(CefrLevel, self.level.data)


class TestResultForm(FlaskForm):
    kind = SelectField(
        _l("Result"),
        validators=[InputRequired(message=_l("Choose the kind of result."))],
        validate_choice=False,
    )
    taken_on = _date(_l("Date"), _l("Enter the date."))
    skill = SelectField(_l("Skill (Norwegian test)"), validate_choice=False)
    level = SelectField(_l("Level (Norwegian test)"), validate_choice=False)
    score = IntegerField(
        _l("Score (social studies test)"),
        validators=[Optional(), NumberRange(min=0, max=1000, message=_l("Enter a whole number."))],
        render_kw={"inputmode": "numeric"},
    )
    study_path = SelectField(_l("Study path (SFI)"), validate_choice=False)
    course = SelectField(_l("Course (SFI)"), validate_choice=False)
    grade = SelectField(_l("Grade (SFI)"), validate_choice=False)
    hours = IntegerField(
        _l("Hours (civic orientation)"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=MAX_ORIENTATION_HOURS,
                message=_l("Enter from 1 to %(max)d hours.", max=MAX_ORIENTATION_HOURS),
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )

    def __init__(self, *args: Any, kinds: tuple[TestKind, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("— choose —"))] + [
            SelectChoice(k.value, _l(TEST_KIND_LABELS[k])) for k in kinds
        ]
        self.skill.choices = _choices(SKILL_LABELS, _l("— not applicable —"))
        self.level.choices = _choices(CEFR_LABELS, _l("— not applicable —"))
        self.study_path.choices = _plain(list(StudyPath), _l("— not applicable —"))
        self.course.choices = _plain(list(SfiCourse), _l("— not applicable —"))
        self.grade.choices = _plain(list(SfiGrade), _l("— not applicable —"))

    def to_input(self) -> TestInput:
        return TestInput(
            kind=_code(TestKind, self.kind.data),
            taken_on=self.taken_on.data,
            skill=_code(Skill, self.skill.data),
            level=_code(CefrLevel, self.level.data),
            score=self.score.data,
            study_path=_code(StudyPath, self.study_path.data),
            course=_code(SfiCourse, self.course.data),
            grade=_code(SfiGrade, self.grade.data),
            hours=self.hours.data,
        )
