"""Forms for decisions and the end of the programme; limits come from `models.decisions`."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models.codes import (
    APPEAL_OUTCOME_LABELS,
    DECISION_TYPE_LABELS,
    MAIN_ACTIVITY_LABELS,
    PROGRAMME_END_KIND_LABELS,
    PROGRAMME_END_REASON_LABELS,
    AppealOutcome,
    DecisionType,
    MainActivity,
    ProgrammeEndKind,
    ProgrammeEndReason,
)
from models.decisions import MAX_CORRECTION_REASON, MAX_NOTE, DecisionInput, EndInput

DATE_FORMAT = "%Y-%m-%d"


def _choices(labels: dict[Any, str], blank: Any = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(value.value, _l(label)) for value, label in labels.items()]


def _code(cls: type[Any], value: Any) -> Any:
    """The code for a submitted value, or None for an empty or unknown one."""
    try:
        return cls(value) if value else None
    except ValueError:
        return None


def _date(label: Any, message: Any = None) -> DateField:
    validators = [InputRequired(message=message)] if message else [Optional()]
    return DateField(
        label,
        validators=validators,
        format=DATE_FORMAT,
        render_kw={"autocomplete": "off"},
    )


def _select(label: Any, message: Any) -> SelectField:
    # Choices are validated by the domain, so a forged value gets the domain's message.
    return SelectField(label, validators=[InputRequired(message=message)], validate_choice=False)


class DecisionForm(FlaskForm):
    decision_type = _select(_l("Type of decision"), _l("Choose the type of decision."))
    decided_on = _date(_l("Decision date"), _l("Enter the date of the decision."))
    notified_on = _date(_l("Notice date (when the participant was told)"))
    appeal_received_on = _date(_l("Appeal received"))
    appeal_outcome = SelectField(
        _l("Outcome of the appeal"), validators=[Optional()], validate_choice=False
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=MAX_NOTE)])
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decision_type.choices = _choices(DECISION_TYPE_LABELS, _l("— choose —"))
        self.appeal_outcome.choices = _choices(APPEAL_OUTCOME_LABELS, _l("— not decided —"))

    def to_input(self) -> DecisionInput:
        return DecisionInput(
            decision_type=_code(DecisionType, self.decision_type.data),
            decided_on=self.decided_on.data,
            notified_on=self.notified_on.data,
            appeal_received_on=self.appeal_received_on.data,
            appeal_outcome=_code(AppealOutcome, self.appeal_outcome.data),
            note=self.note.data or "",
        )

    def check_codes(self) -> bool:
        """False (with a message on the field) when a select holds a value not offered."""
        ok = True
        for field, cls in (
            (self.decision_type, DecisionType),
            (self.appeal_outcome, AppealOutcome),
        ):
            if field.data and _code(cls, field.data) is None:
                field.errors = [*field.errors, _l("Choose a value from the list.")]
                ok = False
        return ok


class ProgrammeEndForm(FlaskForm):
    ended_on = _date(_l("End date"), _l("Enter the date the programme ended."))
    kind = _select(_l("How the programme ended"), _l("Choose how the programme ended."))
    reason = _select(_l("Reason"), _l("Choose the reason for the end."))
    activity_after = _select(
        _l("Main activity right after the programme"),
        _l("Choose the participant's main activity right after the programme."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(PROGRAMME_END_KIND_LABELS, _l("— choose —"))
        self.reason.choices = _choices(PROGRAMME_END_REASON_LABELS, _l("— choose —"))
        self.activity_after.choices = _choices(MAIN_ACTIVITY_LABELS, _l("— choose —"))

    def to_input(self) -> EndInput:
        return EndInput(
            ended_on=self.ended_on.data,
            kind=_code(ProgrammeEndKind, self.kind.data),
            reason=_code(ProgrammeEndReason, self.reason.data),
            activity_after=_code(MainActivity, self.activity_after.data),
        )

    def check_codes(self) -> bool:
        ok = True
        for field, cls in (
            (self.kind, ProgrammeEndKind),
            (self.reason, ProgrammeEndReason),
            (self.activity_after, MainActivity),
        ):
            if field.data and _code(cls, field.data) is None:
                field.errors = [*field.errors, _l("Choose a value from the list.")]
                ok = False
        return ok


class ProgrammeEndCorrectionForm(ProgrammeEndForm):
    correction_reason = TextAreaField(
        _l("Why is the end corrected?"),
        validators=[
            InputRequired(message=_l("Say briefly why the end is corrected.")),
            Length(max=MAX_CORRECTION_REASON),
        ],
    )
    version = HiddenField()


class TwelveMonthStatusForm(FlaskForm):
    activity = _select(
        _l("Main activity 12 months after the programme"),
        _l("Choose the participant's main activity."),
    )
    recorded_on = _date(_l("Date the status was found out"), _l("Enter the date."))
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.activity.choices = _choices(MAIN_ACTIVITY_LABELS, _l("— choose —"))

    @property
    def activity_code(self) -> MainActivity | None:
        value: MainActivity | None = _code(MainActivity, self.activity.data)
        return value

    def check_codes(self) -> bool:
        if self.activity.data and self.activity_code is None:
            self.activity.errors = [*self.activity.errors, _l("Choose a value from the list.")]
            return False
        return True
