"""Forms for the employer register and work placements; limits come from `models.placements`."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from models.codes import Country
from models.placements import (
    AGREEMENT_KIND_LABELS,
    JOB_OUTCOME_LABELS,
    MAX_ADDRESS,
    MAX_CONTACT_NAME,
    MAX_CONTACT_ROLE,
    MAX_EMAIL,
    MAX_GOALS_TEXT,
    MAX_INDUSTRY,
    MAX_NAME,
    MAX_NEXT_STEPS,
    MAX_NOTE,
    MAX_PHONE,
    MAX_SUMMARY,
    PLACEMENT_STATUS_LABELS,
    PLACEMENT_TYPE_LABELS,
    RATING_LABELS,
    AgreementInput,
    AgreementKind,
    ContactInput,
    EmployerInput,
    EvaluationInput,
    JobOutcome,
    PlacementInput,
    PlacementStatus,
    PlacementType,
)

DATE_FORMAT = "%Y-%m-%d"
COUNTRY_LABELS = {Country.NORWAY: _l("Norway"), Country.SWEDEN: _l("Sweden")}


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
        label, validators=validators, format=DATE_FORMAT, render_kw={"autocomplete": "off"}
    )


def _select(label: Any, message: Any) -> SelectField:
    # Choices are validated by the domain, so a forged value gets the domain's message.
    return SelectField(label, validators=[InputRequired(message=message)], validate_choice=False)


def _check(fields: tuple[tuple[SelectField, type[Any]], ...]) -> bool:
    """False (with a message on the field) when a select holds a value not offered."""
    ok = True
    for select_field, cls in fields:
        if select_field.data and _code(cls, select_field.data) is None:
            select_field.errors = [*select_field.errors, _l("Choose a value from the list.")]
            ok = False
    return ok


def _number(raw: Any, kind: type[int] | type[float]) -> Any:
    text = str(raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        return None
    if kind is float and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


class EmployerForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[InputRequired(message=_l("Enter the employer's name.")), Length(max=MAX_NAME)],
    )
    country = SelectField(_l("Country"), validate_choice=False)
    org_number = StringField(_l("Organisation number"), validators=[Optional(), Length(max=20)])
    industry = StringField(_l("Industry"), validators=[Optional(), Length(max=MAX_INDUSTRY)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=MAX_ADDRESS)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_NOTE)])
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(c.value, label) for c, label in COUNTRY_LABELS.items()]

    def check_codes(self) -> bool:
        return _check(((self.country, Country),))

    def to_input(self) -> EmployerInput:
        return EmployerInput(
            name=self.name.data or "",
            country=_code(Country, self.country.data) or Country.NORWAY,
            org_number=self.org_number.data or "",
            industry=self.industry.data or "",
            address=self.address.data or "",
            notes=self.notes.data or "",
        )


class ContactForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(message=_l("Enter the contact person's name.")),
            Length(max=MAX_CONTACT_NAME),
        ],
    )
    job_title = StringField(
        _l("Role at the employer"), validators=[Optional(), Length(max=MAX_CONTACT_ROLE)]
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=MAX_PHONE)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=MAX_EMAIL)])
    version = HiddenField()

    def to_input(self) -> ContactInput:
        return ContactInput(
            name=self.name.data or "",
            job_title=self.job_title.data or "",
            phone=self.phone.data or "",
            email=self.email.data or "",
        )


class AgreementForm(FlaskForm):
    kind = _select(_l("Kind of agreement"), _l("Choose the kind of agreement."))
    valid_from = _date(_l("Valid from"), _l("Enter the date the agreement starts."))
    valid_to = _date(_l("Valid to"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(AGREEMENT_KIND_LABELS, _l("— choose —"))

    def check_codes(self) -> bool:
        return _check(((self.kind, AgreementKind),))

    def to_input(self) -> AgreementInput:
        return AgreementInput(
            kind=_code(AgreementKind, self.kind.data),
            valid_from=self.valid_from.data,
            valid_to=self.valid_to.data,
            note=self.note.data or "",
        )


class PlacementForm(FlaskForm):
    employer = _select(_l("Employer"), _l("Choose an employer from the register."))
    supervisor = SelectField(_l("Supervisor"), validate_choice=False)
    placement_type = _select(_l("Type of placement"), _l("Choose the type of placement."))
    start_on = _date(_l("Start date"), _l("Enter the start date."))
    end_on = _date(_l("End date"))
    days_per_week = StringField(_l("Days per week"), render_kw={"inputmode": "numeric"})
    hours_per_week = StringField(_l("Hours per week"), render_kw={"inputmode": "decimal"})
    goals = TextAreaField(
        _l("Goals of the placement"), validators=[Optional(), Length(max=MAX_GOALS_TEXT)]
    )
    status = _select(_l("Status"), _l("Choose the status."))
    outcome = _select(_l("Led to a job offer?"), _l("Choose whether it led to a job offer."))
    version = HiddenField()

    def __init__(
        self,
        *args: Any,
        employers: list[tuple[str, str]] | None = None,
        supervisors: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.employer.choices = [SelectChoice("", _l("— choose —"))] + [
            SelectChoice(ref, name) for ref, name in employers or []
        ]
        self.supervisor.choices = [SelectChoice("", _l("— none —"))] + [
            SelectChoice(ref, name) for ref, name in supervisors or []
        ]
        self.placement_type.choices = _choices(PLACEMENT_TYPE_LABELS, _l("— choose —"))
        self.status.choices = _choices(PLACEMENT_STATUS_LABELS)
        self.outcome.choices = _choices(JOB_OUTCOME_LABELS)

    def check_codes(self) -> bool:
        ok = _check(
            (
                (self.placement_type, PlacementType),
                (self.status, PlacementStatus),
                (self.outcome, JobOutcome),
            )
        )
        for number_field, kind, message in (
            (self.days_per_week, int, _l("Enter a whole number of days.")),
            (self.hours_per_week, float, _l("Enter the hours as a number, e.g. 15 or 7.5.")),
        ):
            if str(number_field.data or "").strip() and _number(number_field.data, kind) is None:
                number_field.errors = [*number_field.errors, message]
                ok = False
        return ok

    def to_input(self) -> PlacementInput:
        return PlacementInput(
            employer_ref=self.employer.data or "",
            supervisor_ref=self.supervisor.data or "",
            placement_type=_code(PlacementType, self.placement_type.data),
            start_on=self.start_on.data,
            end_on=self.end_on.data,
            days_per_week=_number(self.days_per_week.data, int),
            hours_per_week=_number(self.hours_per_week.data, float),
            goals=self.goals.data or "",
            status=_code(PlacementStatus, self.status.data),
            outcome=_code(JobOutcome, self.outcome.data),
        )


class EvaluationForm(FlaskForm):
    evaluated_on = _date(_l("Date of the evaluation"), _l("Enter the date of the evaluation."))
    summary = TextAreaField(
        _l("Summary"),
        validators=[
            InputRequired(message=_l("Write a short summary of the evaluation.")),
            Length(max=MAX_SUMMARY),
        ],
    )
    ratings = FieldList(SelectField(validate_choice=False), min_entries=0)
    next_steps = TextAreaField(
        _l("Next steps"), validators=[Optional(), Length(max=MAX_NEXT_STEPS)]
    )

    def __init__(self, *args: Any, goals: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        goals = goals or []
        # One rating per goal; anything beyond the goals is dropped, a missing one added.
        while len(self.ratings.entries) > len(goals):
            self.ratings.pop_entry()
        while len(self.ratings.entries) < len(goals):
            self.ratings.append_entry()
        choices = [SelectChoice("", _l("— not rated —"))] + [
            SelectChoice(str(value), _l(label)) for value, label in RATING_LABELS.items()
        ]
        for entry, goal in zip(self.ratings.entries, goals, strict=True):
            entry.choices = choices
            entry.label.text = goal

    def check_codes(self) -> bool:
        ok = True
        for entry in self.ratings.entries:
            if entry.data and _number(entry.data, int) not in RATING_LABELS:
                entry.errors = [*entry.errors, _l("Choose a value from the list.")]
                ok = False
        return ok

    def to_input(self) -> EvaluationInput:
        return EvaluationInput(
            evaluated_on=self.evaluated_on.data,
            summary=self.summary.data or "",
            ratings=[_number(entry.data, int) for entry in self.ratings.entries],
            next_steps=self.next_steps.data or "",
        )


class VersionForm(FlaskForm):
    """A button that acts on one record version (add to the plan)."""

    version = HiddenField()
