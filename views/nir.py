"""The national-register (NIR) page of a unit leader: the backlog of unreported events,
the readiness for the 28 February clean-up, marking events as reported, and a link to
request the NIR report from the export page.

Only leaders reach these pages (`Action.UNIT_EXPORT`; 403 for everyone else), and only
for units they lead: another unit is 404. Every page view and every marking writes one
audit event with counts only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, HiddenField
from wtforms.validators import Optional

from app.database import db
from app.i18n import translate_error
from app.security import acting_user, record_event, requires
from models import nir
from models.accounts import Role, Unit
from models.base import local_today
from models.errors import ValidationFailed
from models.policy import Action, Grant
from views.common import Page, UnitYear, choose_unit_and_year, led_unit, led_units, requested_page

bp = Blueprint("nir", __name__, url_prefix="/unit/nir")

DATE_FORMAT = "%Y-%m-%d"


class MarkForm(FlaskForm):
    unit = HiddenField()
    up_to = DateField(
        _l("Mark events up to and including"),
        validators=[Optional()],
        format=DATE_FORMAT,
        render_kw={"autocomplete": "off"},
    )


def _choose(today: date) -> UnitYear:
    return choose_unit_and_year(nir.readiness_year(today), nir.FIRST_YEAR, today.year)


def _grant(unit: Unit) -> Grant:
    return Grant(Role.LEADER, unit.id)


def _export_link(unit: Unit, year: int) -> str:
    return url_for("exports.index", kind="nir_report", year=year, unit=unit.id)


def _render(choice: UnitYear, form: MarkForm, today: date, status: int) -> tuple[str, int]:
    session = db()
    size = int(current_app.config["PAGE_SIZE"])
    found = nir.overview(session, choice.unit.id, today, requested_page(), size)
    page: Page[nir.BacklogEvent] = Page(
        items=found.items, number=found.page, size=size, total=found.total
    )
    readiness = nir.readiness(session, choice.unit.id, today, found)
    record_event(
        "nir.read",
        object_type="unit",
        object_ref=str(choice.unit.id),
        field_categories=("nir_backlog",),
        grant=_grant(choice.unit),
    )
    session.commit()
    return render_template(
        "nir/index.html",
        choice=choice,
        form=form,
        counts=found.counts,
        page=page,
        readiness=readiness,
        cutoff=nir.backlog_cutoff(today),
        kind_labels=nir.EVENT_KIND_LABELS,
        problem_labels=nir.PROBLEM_LABELS,
        export_link=_export_link(choice.unit, choice.year),
        years=range(today.year, nir.FIRST_YEAR - 1, -1),
    ), status


@bp.get("/")
@requires(Action.UNIT_EXPORT)
def index() -> tuple[str, int]:
    today = local_today()
    choice = _choose(today)
    form = MarkForm(unit=str(choice.unit.id), up_to=today)
    return _render(choice, form, today, 400 if choice.error else 200)


@bp.post("/mark")
@requires(Action.UNIT_EXPORT)
def mark() -> Any:
    """Mark the chosen unit's unreported events up to a date (today when left empty)."""
    today = local_today()
    units = led_units()
    form = MarkForm()
    unit = led_unit(units, form.unit.data or "")
    choice = UnitYear(units, unit, nir.readiness_year(today), None)
    if not form.validate_on_submit():
        return _render(choice, form, today, 400)
    up_to = form.up_to.data or today
    session = db()
    try:
        marked = nir.mark_reported(session, unit.id, up_to, acting_user().id, today)
    except ValidationFailed as exc:
        session.rollback()
        form.up_to.errors = [*form.up_to.errors, translate_error(exc)]
        return _render(choice, form, today, 400)
    record_event(
        "nir.mark_reported",
        object_type="unit",
        object_ref=str(unit.id),
        field_categories=tuple(f"{kind.value}:{count}" for kind, count in marked.items()),
        grant=_grant(unit),
    )
    session.commit()
    total = sum(marked.values())
    flash(
        ngettext("%(num)d event marked as reported.", "%(num)d events marked as reported.", total),
        "success",
    )
    return _redirect(unit)


def _redirect(unit: Unit) -> Response:
    return redirect(url_for("nir.index", unit=unit.id))
