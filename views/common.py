"""Small helpers the blueprints share: the acting user as an Actor, loading a participant
through the policy, auditing a read, saving a form through one operation, form errors
from domain errors, pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import abort, current_app, g, request
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.database import db
from app.i18n import translate_error
from app.security import acting_user, record_event
from models.access import View, view_of
from models.codes import Section
from models.errors import DomainError, StaleEdit, ValidationFailed
from models.participants import Participant, get_by_ref
from models.policy import Action, Actor, Grant, require

T = TypeVar("T")


def acting_actor() -> Actor:
    """The logged-in user as the domain's Actor, with this request's id for the audit log."""
    return Actor(acting_user(), g.get("request_id"))


def load_participant(ref: str, action: Action) -> tuple[Participant, Grant]:
    """The participant, if the user may perform `action` on it (404 otherwise); the grant
    is kept on `g.grant` for the audit event."""
    participant = get_by_ref(db(), ref)
    grant = require(acting_user(), action, participant)
    g.grant = grant
    return participant, grant


def read_section(ref: str, section: Section) -> tuple[Participant, Grant, View]:
    """For a module's read pages: the participant and the reader's view of it, if the view
    shows `section` (404 otherwise, as for a participant out of scope)."""
    participant, grant = load_participant(ref, Action.PARTICIPANT_READ)
    view = view_of(db(), acting_user(), participant, grant)
    if not view.shows(section):
        abort(404)
    return participant, grant, view


def audit_read(action: str, participant: Participant, grant: Grant, *categories: str) -> None:
    """One audit event for a page about `participant`, committed before anything is
    rendered: no event, no data."""
    record_event(
        action,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=categories,
        grant=grant,
    )
    db().commit()


def attach_error(form: FlaskForm, error: DomainError) -> None:
    """Show a domain error next to its field (or at the top of the form)."""
    message = translate_error(error)
    field_name = error.field if isinstance(error, ValidationFailed) else None
    field = getattr(form, field_name, None) if field_name else None
    if field is not None and hasattr(field, "errors"):
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.append(message)
    else:
        form.form_errors.append(message)


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What `save` did: `ok` with the operation's result, or the status to answer with."""

    ok: bool
    result: T | None = None
    status: int = 200


def save(form: FlaskForm, operation: Callable[[], T]) -> Saved[T]:
    """Run one domain operation for a submitted, validated form, and commit it.

    On a stale form (someone saved in between) or a domain error the transaction is
    rolled back, the message is put next to its field and the status to answer with
    is returned (409, or the error's own); the form keeps what the user typed.
    """
    database = db()
    try:
        result = operation()
        database.commit()
    except (StaleEdit, StaleDataError):
        database.rollback()
        attach_error(form, StaleEdit())
        return Saved(False, status=409)
    except DomainError as exc:
        database.rollback()
        attach_error(form, exc)
        return Saved(False, status=exc.status_code)
    return Saved(True, result)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def requested_page() -> int:
    try:
        number = int(request.values.get("page", "1"))
    except ValueError:
        return 1
    return max(1, min(number, 1_000_000))


def paginate(session: Session, stmt: Select[Any], number: int | None = None) -> Page[Any]:
    """One page of `stmt` plus the total count; only the rows shown are loaded."""
    size = int(current_app.config["PAGE_SIZE"])
    number = number or requested_page()
    total = int(
        session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    )
    pages = max(1, -(-total // size))
    number = min(number, pages)
    items = list(session.scalars(stmt.limit(size).offset((number - 1) * size)))
    return Page(items=items, number=number, size=size, total=total)


# -- a leader's unit and year -------------------------------------------------------


@dataclass(frozen=True)
class UnitYear:
    """The unit (among those the acting user leads) and the year a leader's page shows."""

    units: list[Any]
    unit: Any
    year: int
    error: str | None  # the bad year's message; `year` is then the default


def led_units() -> list[Any]:
    """The units the acting user leads; none is 403 (the role check let a leader in)."""
    from models.access import led_units as units_led_by

    units = units_led_by(db(), acting_user())
    if not units:
        abort(403)
    return units


def led_unit(units: list[Any], raw: str) -> Any:
    """The unit chosen by id among `units` (the first when none is chosen); another is 404."""
    raw = raw.strip()
    if not raw:
        return units[0]
    chosen = next((u for u in units if str(u.id) == raw), None)
    if chosen is None:
        abort(404)
    return chosen


def choose_unit_and_year(default_year: int, first_year: int, last_year: int) -> UnitYear:
    """The `unit` and `year` of the query string, for the outcome figures and the NIR page."""
    from flask_babel import gettext

    units = led_units()
    unit = led_unit(units, request.args.get("unit", ""))
    raw_year = request.args.get("year", "").strip()
    if not raw_year:
        return UnitYear(units, unit, default_year, None)
    if raw_year.isdigit() and first_year <= int(raw_year) <= last_year:
        return UnitYear(units, unit, int(raw_year), None)
    error = gettext("Choose a year from %(first)d to %(last)d.", first=first_year, last=last_year)
    return UnitYear(units, unit, default_year, error)
