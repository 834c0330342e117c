"""Forms of the participant record; limits come from `models.participants`."""

from __future__ import annotations

from typing import Any

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from models.access import MAX_PURPOSE, MAX_REASON
from models.codes import (
    CONSENTABLE_SECTIONS,
    COUNTRY_LABELS,
    PARTICIPANT_STATUS_LABELS,
    PERMIT_CATEGORY_LABELS,
    SECTION_LABELS,
    SEX_LABELS,
    Country,
    PermitCategory,
    Sex,
)
from models.participants import (
    MAX_ADDRESS,
    MAX_EMAIL,
    MAX_MUNICIPALITY,
    MAX_NAME,
    MAX_NOTES,
    MAX_PHONE,
    ParticipantInput,
)

# Languages most often met in the programmes; names come from CLDR in the user's language.
LANGUAGE_CODES = (
    "ar", "ti", "prs", "fa", "ps", "so", "uk", "ru", "ckb", "kmr", "am", "om", "sw", "fr",
    "en", "es", "pt", "tr", "ur", "hi", "bn", "ta", "si", "my", "ne", "th", "vi", "zh", "pl",
    "lt", "ro", "sq", "bs", "uz", "tg", "rw", "ln", "ha", "de", "it", "nb", "sv",
)  # fmt: skip


def language_name(code: str) -> str:
    locale = get_locale() or Locale("nb")
    return str(locale.languages.get(code) or Locale("en").languages.get(code) or code)


def language_choices(blank: bool = False) -> list[SelectChoice]:
    choices = sorted(
        (SelectChoice(code, language_name(code)) for code in LANGUAGE_CODES),
        key=lambda c: c.label.casefold(),
    )
    return ([SelectChoice("", _l("— none —"))] if blank else []) + choices


def _labelled(labels: dict[Any, str], values: Any) -> list[SelectChoice]:
    return [SelectChoice(v.value, _l(labels[v])) for v in values]


def optional_date(label: Any) -> DateField:
    return DateField(label, validators=[Optional()], format="%Y-%m-%d")


class ParticipantForm(FlaskForm):
    """Registration and correction of a participant's record."""

    country = SelectField(_l("Programme country"), validators=[InputRequired()])
    given_name = StringField(_l("Given name(s)"), validators=[Length(max=MAX_NAME)])
    family_name = StringField(_l("Family name"), validators=[Length(max=MAX_NAME)])
    preferred_name = StringField(_l("Preferred name"), validators=[Length(max=MAX_NAME)])
    national_id = StringField(
        _l("National identity number"),
        validators=[Length(max=20)],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"},
    )
    duf_number = StringField(
        _l("DUF number"),
        validators=[Length(max=20)],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"},
    )
    birth_date = optional_date(_l("Date of birth"))
    sex = SelectField(_l("Sex (as recorded)"))
    phone = StringField(
        _l("Phone"),
        validators=[Length(max=MAX_PHONE)],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    email = StringField(
        _l("E-mail address"), validators=[Length(max=MAX_EMAIL)], render_kw={"autocomplete": "off"}
    )
    address = TextAreaField(
        _l("Address"),
        validators=[Length(max=MAX_ADDRESS)],
        render_kw={"rows": 2, "autocomplete": "off"},
    )
    is_protected_address = BooleanField(
        _l("Protected address (fortrolig/strengt fortrolig adresse)")
    )
    languages = SelectMultipleField(
        _l("Languages spoken"), validate_choice=True, render_kw={"size": 6}
    )
    interpreter_needed = BooleanField(_l("Needs an interpreter"))
    interpreter_language = SelectField(_l("Interpreter language"))
    permit_category = SelectField(_l("Residence basis"))
    permit_granted_on = optional_date(_l("Residence permit granted"))
    arrival_on = optional_date(_l("Arrived in the country"))
    settlement_municipality = StringField(
        _l("Settled in municipality"), validators=[Length(max=MAX_MUNICIPALITY)]
    )
    settlement_on = optional_date(_l("Settlement date"))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=MAX_NOTES)], render_kw={"rows": 4})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _labelled(COUNTRY_LABELS, Country)
        self.sex.choices = _labelled(SEX_LABELS, Sex)
        self.languages.choices = language_choices()
        self.interpreter_language.choices = language_choices(blank=True)
        self.permit_category.choices = [
            SelectChoice("", _l("— not recorded —")),
            *_labelled(PERMIT_CATEGORY_LABELS, PermitCategory),
        ]

    def to_input(self) -> ParticipantInput:
        return ParticipantInput(
            country=Country(self.country.data),
            given_name=self.given_name.data or "",
            family_name=self.family_name.data or "",
            preferred_name=self.preferred_name.data or "",
            national_id=self.national_id.data or "",
            duf_number=self.duf_number.data or "",
            birth_date=self.birth_date.data,
            sex=Sex(self.sex.data) if self.sex.data in Sex._value2member_map_ else Sex.UNKNOWN,
            phone=self.phone.data or "",
            email=self.email.data or "",
            address=self.address.data or "",
            is_protected_address=bool(self.is_protected_address.data),
            languages=list(self.languages.data or []),
            interpreter_needed=bool(self.interpreter_needed.data),
            interpreter_language=self.interpreter_language.data or "",
            permit_category=PermitCategory(self.permit_category.data)
            if self.permit_category.data
            else None,
            permit_granted_on=self.permit_granted_on.data,
            arrival_on=self.arrival_on.data,
            settlement_municipality=self.settlement_municipality.data or "",
            settlement_on=self.settlement_on.data,
            notes=self.notes.data or "",
        )


class RegisterForm(ParticipantForm):
    unit = SelectField(_l("Unit"), coerce=int, validators=[InputRequired()])
    primary_advisor = SelectField(_l("Primary advisor"), coerce=int, validators=[Optional()])


class EditForm(ParticipantForm):
    version = HiddenField()
    reason = StringField(
        _l("Reason for the change"),
        validators=[
            InputRequired(message=_l("Say briefly why the record is changed.")),
            Length(max=500),
        ],
    )


class ReassignForm(FlaskForm):
    primary_advisor = SelectField(_l("Primary advisor"), coerce=int, validators=[Optional()])
    secondary_advisor = SelectField(_l("Secondary advisor"), coerce=int, validators=[Optional()])


class BreakGlassForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need access now?"),
        validators=[
            InputRequired(message=_l("Explain why you need access.")),
            Length(max=MAX_REASON),
        ],
        render_kw={"rows": 3},
    )


class ConsentForm(FlaskForm):
    partner_unit = SelectField(_l("Share with"), coerce=int, validators=[InputRequired()])
    sections = SelectMultipleField(_l("Sections to share"), render_kw={"size": 7})
    purpose = TextAreaField(
        _l("Purpose"), validators=[Length(max=MAX_PURPOSE)], render_kw={"rows": 2}
    )
    valid_from = DateField(
        _l("Valid from"),
        validators=[InputRequired(message=_l("Enter the date the consent starts."))],
    )
    valid_to = optional_date(_l("Valid until"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sections.choices = _labelled(SECTION_LABELS, CONSENTABLE_SECTIONS)


class CaseloadFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(
        _l("Search by name, national identity number or DUF number"),
        validators=[Optional(), Length(max=100)],
    )
    status = SelectField(_l("Status"), validators=[Optional()])
    advisor = SelectField(_l("Advisor"), validators=[Optional()])

    def __init__(self, *args: Any, advisor_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [
            SelectChoice("", _l("All")),
            *_labelled(PARTICIPANT_STATUS_LABELS, PARTICIPANT_STATUS_LABELS.keys()),
        ]
        self.advisor.choices = [SelectChoice("", _l("All"))] + [
            SelectChoice(str(i), name) for i, name in advisor_choices
        ]


class OverrideForm(FlaskForm):
    subject = SelectField(_l("Result to override"))
    value = StringField(
        _l("New value"),
        validators=[Length(max=20)],
        description=_l("«yes» or «no» for a right; a date (YYYY-MM-DD) for a deadline."),
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[InputRequired(message=_l("Explain the override.")), Length(max=1000)],
        render_kw={"rows": 3},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from models.participants import OVERRIDE_SUBJECTS

        super().__init__(*args, **kwargs)
        self.subject.choices = [SelectChoice(k, _l(v)) for k, v in OVERRIDE_SUBJECTS.items()]
