"""WTForms forms; their limits come from the models' MAX_* constants."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from models.accounts import (
    MAX_EMAIL,
    MAX_PASSWORD,
    MAX_UNIT_NAME,
    MAX_USER_NAME,
    ROLE_LABELS,
    UNIT_KIND_LABELS,
    Role,
    UnitKind,
)

LANGUAGE_CHOICES = (("nb", "Norsk bokmål"), ("sv", "Svenska"), ("en", "English"))


def required(message: Any) -> DataRequired:
    return DataRequired(message=message)


class EmptyForm(FlaskForm):
    """A POST button with nothing but the CSRF token (logout, disable, remove)."""


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[required(_l("Enter your e-mail address.")), Length(max=MAX_EMAIL)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[required(_l("Enter your password.")), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "current-password"},
    )
    otp = StringField(
        _l("Code from your authenticator app"),
        validators=[Optional(), Length(max=10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class MfaSetupForm(FlaskForm):
    otp = StringField(
        _l("Code from your authenticator app"),
        validators=[
            required(_l("Enter the six-digit code from the app.")),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("The code is six digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[required(_l("Enter your current password.")), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[required(_l("Enter a new password.")), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "new-password"},
    )


class LanguageForm(FlaskForm):
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_CHOICES],
        validators=[InputRequired()],
    )
    next = HiddenField()


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, _l(ROLE_LABELS[role])) for role in Role]


def unit_kind_choices() -> list[SelectChoice]:
    return [SelectChoice(kind.value, _l(UNIT_KIND_LABELS[kind])) for kind in UnitKind]


def unit_select_choices(units: list[tuple[int, str]]) -> list[SelectChoice]:
    return [SelectChoice(str(unit_id), name) for unit_id, name in units]


class UnitForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[required(_l("Enter the unit's name.")), Length(max=MAX_UNIT_NAME)],
    )
    kind = SelectField(_l("Kind of service"), validators=[InputRequired()])
    is_active = BooleanField(_l("Active"), default=True)
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = unit_kind_choices()


class UserForm(FlaskForm):
    display_name = StringField(
        _l("Name"),
        validators=[required(_l("Enter the person's name.")), Length(max=MAX_USER_NAME)],
    )
    email = EmailField(
        _l("E-mail address"),
        validators=[
            required(_l("Enter an e-mail address.")),
            Length(max=MAX_EMAIL),
        ],
    )
    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("Browser's choice")),
            *(SelectChoice(code, name) for code, name in LANGUAGE_CHOICES),
        ],
        validators=[Optional()],
    )
    version = HiddenField()


class UnitRoleForm(FlaskForm):
    """A role in a unit: added to an existing user, or given to a new one."""

    unit = SelectField(_l("Unit"), coerce=int, validators=[InputRequired()])
    role = SelectField(_l("Role"), validators=[InputRequired()])

    def __init__(self, *args: Any, unit_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit.choices = unit_select_choices(unit_choices)
        self.role.choices = role_choices()


class NewUserForm(UserForm, UnitRoleForm):
    password = PasswordField(
        _l("First password"),
        validators=[required(_l("Enter a first password.")), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "new-password"},
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[required(_l("Enter a new password.")), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "new-password"},
    )


NO_VERSION = -1


def parse_version(field: HiddenField) -> int:
    """The version the form was rendered with; a missing or garbled one never matches."""
    try:
        return int(field.data)
    except (TypeError, ValueError):
        return NO_VERSION
