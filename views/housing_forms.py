"""Forms of housing and housing notes; limits come from `models.housing`."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from models.accounts import User
from models.housing import (
    HOUSING_NOTE_KIND_LABELS,
    HOUSING_TYPE_LABELS,
    MAX_ADAPTATIONS,
    MAX_ADDRESS,
    MAX_HOUSEHOLD,
    MAX_LANDLORD,
    MAX_NOTE,
    HousingInput,
    HousingNoteInput,
    HousingNoteKind,
    HousingType,
)
from models.participants import MAX_MUNICIPALITY
from models.tasks import MAX_NEXT_ACTIONS, MAX_TITLE, NextAction
from views.followup_forms import user_choices

ACTION_NUMBERS = tuple(range(1, MAX_NEXT_ACTIONS + 1))
DATE_FORMAT = "%Y-%m-%d"


def _date(label: Any, message: Any = None) -> DateField:
    validators = [InputRequired(message=message)] if message else [Optional()]
    return DateField(
        label, validators=validators, format=DATE_FORMAT, render_kw={"autocomplete": "off"}
    )


def _choices(labels: dict[Any, str]) -> list[SelectChoice]:
    blank = [SelectChoice("", _l("— choose —"))]
    return blank + [SelectChoice(value.value, _l(label)) for value, label in labels.items()]


def _code(cls: type[Any], value: Any) -> Any:
    """The code for a submitted value, or None for an empty or unknown one."""
    try:
        return cls(value) if value else None
    except ValueError:
        return None


def _user(value: Any, users: dict[int, User]) -> User | None:
    text = str(value or "").strip()
    return users.get(int(text)) if text.isdigit() else None


class HousingForm(FlaskForm):
    """Recording a housing and correcting one (the move-out is recorded here too)."""

    housing_type = SelectField(
        _l("Type of housing"),
        validators=[InputRequired(message=_l("Choose the type of housing."))],
        validate_choice=False,  # the domain answers a forged value with its own message
    )
    municipality = StringField(
        _l("Municipality"),
        validators=[
            InputRequired(message=_l("Enter the municipality.")),
            Length(max=MAX_MUNICIPALITY),
        ],
    )
    address = TextAreaField(
        _l("Address"),
        validators=[InputRequired(message=_l("Enter the address.")), Length(max=MAX_ADDRESS)],
        render_kw={"rows": 2, "autocomplete": "off"},
    )
    household_size = IntegerField(
        _l("People in the household"),
        validators=[
            InputRequired(message=_l("Enter how many people live in the household.")),
            NumberRange(
                min=1,
                max=MAX_HOUSEHOLD,
                message=_l("The household has between 1 and %(max)d people.", max=MAX_HOUSEHOLD),
            ),
        ],
    )
    contract_start_on = _date(_l("Contract starts"), _l("Enter the date the contract starts."))
    contract_end_on = _date(_l("Contract ends"))
    moved_out_on = _date(_l("Moved out"))
    landlord = TextAreaField(
        _l("Landlord's contact"),
        validators=[Length(max=MAX_LANDLORD)],
        render_kw={"rows": 2, "autocomplete": "off"},
    )
    adaptations = TextAreaField(
        _l("Adaptations needed"),
        validators=[Length(max=MAX_ADAPTATIONS)],
        render_kw={"rows": 3},
    )
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.housing_type.choices = _choices(HOUSING_TYPE_LABELS)

    def check_codes(self) -> bool:
        """False (with a message on the field) when the type is not one offered."""
        if self.housing_type.data and _code(HousingType, self.housing_type.data) is None:
            self.housing_type.errors = [
                *self.housing_type.errors,
                _l("Choose a value from the list."),
            ]
            return False
        return True

    def to_input(self) -> HousingInput:
        return HousingInput(
            housing_type=_code(HousingType, self.housing_type.data),
            municipality=self.municipality.data or "",
            address=self.address.data or "",
            landlord=self.landlord.data or "",
            household_size=self.household_size.data,
            adaptations=self.adaptations.data or "",
            contract_start_on=self.contract_start_on.data,
            contract_end_on=self.contract_end_on.data,
            moved_out_on=self.moved_out_on.data,
        )


class HousingNoteForm(FlaskForm):
    """Logging a housing follow-up (with up to three next actions) and correcting one."""

    noted_on = _date(_l("Date"), _l("Enter the date of the housing follow-up."))
    kind = SelectField(
        _l("Kind"),
        validators=[InputRequired(message=_l("Choose the kind of housing follow-up."))],
        validate_choice=False,
    )
    note = TextAreaField(
        _l("Note"),
        validators=[
            InputRequired(message=_l("Write what the housing follow-up was about.")),
            Length(max=MAX_NOTE),
        ],
        render_kw={"rows": 6},
    )
    version = HiddenField()

    action1_title = StringField(_l("Next action 1"), validators=[Length(max=MAX_TITLE)])
    action1_assignee = SelectField(_l("Who does next action 1"), validators=[Optional()])
    action1_due_on = _date(_l("Next action 1 due"))
    action2_title = StringField(_l("Next action 2"), validators=[Length(max=MAX_TITLE)])
    action2_assignee = SelectField(_l("Who does next action 2"), validators=[Optional()])
    action2_due_on = _date(_l("Next action 2 due"))
    action3_title = StringField(_l("Next action 3"), validators=[Length(max=MAX_TITLE)])
    action3_assignee = SelectField(_l("Who does next action 3"), validators=[Optional()])
    action3_due_on = _date(_l("Next action 3 due"))

    def __init__(self, *args: Any, assignee_choices: list[User], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "note")
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(HOUSING_NOTE_KIND_LABELS)
        for number in ACTION_NUMBERS:
            self.action(number)[1].choices = user_choices(assignee_choices, blank=True)
        self._users = {u.id: u for u in assignee_choices}

    def action(self, number: int) -> tuple[StringField, SelectField, DateField]:
        return (
            getattr(self, f"action{number}_title"),
            getattr(self, f"action{number}_assignee"),
            getattr(self, f"action{number}_due_on"),
        )

    def check_codes(self) -> bool:
        if self.kind.data and _code(HousingNoteKind, self.kind.data) is None:
            self.kind.errors = [*self.kind.errors, _l("Choose a value from the list.")]
            return False
        return True

    def to_input(self, with_actions: bool = True) -> HousingNoteInput:
        actions = []
        if with_actions:
            for number in ACTION_NUMBERS:
                title, assignee, due_on = self.action(number)
                actions.append(
                    NextAction(
                        title=title.data or "",
                        assignee=_user(assignee.data, self._users),
                        assignee_given=bool((assignee.data or "").strip()),
                        due_on=due_on.data,
                    )
                )
        return HousingNoteInput(
            noted_on=self.noted_on.data,
            kind=_code(HousingNoteKind, self.kind.data),
            note=self.note.data or "",
            next_actions=actions,
        )
