"""Forms of follow-ups and tasks; limits come from `models.followups` and `models.tasks`."""

from __future__ import annotations

from typing import Any

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
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional

from models.accounts import User
from models.codes import FOLLOW_UP_KIND_LABELS, FollowUpKind
from models.followups import MAX_EXTERNALS, MAX_SUMMARY, FollowUpInput
from models.tasks import MAX_NEXT_ACTIONS, MAX_TITLE, NextAction
from views.participant_forms import language_choices

ACTION_NUMBERS = tuple(range(1, MAX_NEXT_ACTIONS + 1))


def _date(label: Any) -> DateField:
    return DateField(label, validators=[Optional()], format="%Y-%m-%d")


def user_choices(users: list[User], blank: bool) -> list[SelectChoice]:
    choices = [SelectChoice(str(u.id), u.display_name) for u in users]
    return ([SelectChoice("", _l("— choose —"))] if blank else []) + choices


def _user(value: Any, users: dict[int, User]) -> User | None:
    text = str(value or "").strip()
    return users.get(int(text)) if text.isdigit() else None


class FollowUpForm(FlaskForm):
    """Logging a follow-up (with up to three next actions) and correcting one."""

    occurred_on = _date(_l("Date"))
    occurred_time = TimeField(_l("Time"), validators=[Optional()], format="%H:%M")
    kind = SelectField(
        _l("Kind"), validators=[InputRequired(message=_l("Choose the kind of follow-up."))]
    )
    interpreter_used = BooleanField(_l("An interpreter was used"))
    interpreter_language = SelectField(_l("Interpreter's language"), validators=[Optional()])
    attendees = SelectMultipleField(_l("Staff who took part"), validators=[Optional()])
    externals = StringField(_l("Others who took part"), validators=[Length(max=MAX_EXTERNALS)])
    summary = TextAreaField(
        _l("Summary"),
        validators=[Length(max=MAX_SUMMARY)],
        render_kw={"rows": 8},
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

    def __init__(
        self,
        *args: Any,
        attendee_choices: list[User],
        assignee_choices: list[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [
            SelectChoice(k.value, _l(FOLLOW_UP_KIND_LABELS[k])) for k in FollowUpKind
        ]
        self.interpreter_language.choices = language_choices(blank=True)
        self.attendees.choices = user_choices(attendee_choices, blank=False)
        for number in ACTION_NUMBERS:
            self.action(number)[1].choices = user_choices(assignee_choices, blank=True)
        self._users = {u.id: u for u in [*attendee_choices, *assignee_choices]}

    def action(self, number: int) -> tuple[StringField, SelectField, DateField]:
        return (
            getattr(self, f"action{number}_title"),
            getattr(self, f"action{number}_assignee"),
            getattr(self, f"action{number}_due_on"),
        )

    def to_input(self, with_actions: bool = True) -> FollowUpInput:
        chosen = [str(v) for v in (self.attendees.data or [])]
        attendees = [_user(v, self._users) for v in chosen]
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
        return FollowUpInput(
            occurred_on=self.occurred_on.data,
            occurred_time=self.occurred_time.data,
            kind=FollowUpKind(self.kind.data) if self.kind.data in set(FollowUpKind) else None,
            interpreter_used=bool(self.interpreter_used.data),
            interpreter_language=self.interpreter_language.data or "",
            attendees=[u for u in attendees if u is not None],
            attendees_valid=all(u is not None for u in attendees),
            externals=self.externals.data or "",
            summary=self.summary.data or "",
            next_actions=actions,
        )


class TaskForm(FlaskForm):
    """A task set by hand about one participant."""

    title = StringField(_l("What is to be done"), validators=[Length(max=MAX_TITLE)])
    assignee = SelectField(_l("Who does it"), validators=[Optional()])
    due_on = _date(_l("Due date"))

    def __init__(self, *args: Any, assignee_choices: list[User], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "task")
        super().__init__(*args, **kwargs)
        self.assignee.choices = user_choices(assignee_choices, blank=True)
        self._users = {u.id: u for u in assignee_choices}

    def chosen_assignee(self) -> User | None:
        return _user(self.assignee.data, self._users)


class TaskDoneForm(FlaskForm):
    """The one-click "done" / "open again" button; `back` says which page to return to."""

    back = HiddenField()
