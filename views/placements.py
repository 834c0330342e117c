"""Work placements at employers, with evaluations and outcome.

Reading is `PARTICIPANT_READ` plus the record's placements section: the assigned
advisor and the unit's leader see it, a partner only with an active consent to that
section; teachers and out-of-scope advisors get 404. Writing needs `PLACEMENT_WRITE`
(the assigned advisor). Every page that shows personal data writes one audit event and
commits it before rendering.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, requires
from models import placements as ops
from models.access import View
from models.base import local_today
from models.codes import Section
from models.errors import DomainError, StaleEdit
from models.participants import Participant
from models.placements import (
    JOB_OUTCOME_LABELS,
    PLACEMENT_STATUS_LABELS,
    PLACEMENT_TYPE_LABELS,
    RATING_LABELS,
    EmployerContact,
    JobOutcome,
    Placement,
    PlacementStatus,
)
from models.policy import Action, can
from views.common import acting_actor, audit_read, load_participant, paginate, read_section, save
from views.forms import parse_version
from views.placement_forms import EvaluationForm, PlacementForm, VersionForm

bp = Blueprint("placements", __name__, url_prefix="/participants")

FormResult = str | BaseResponse | tuple[str, int]
OVERVIEW_PLACEMENTS = 5


def _labels() -> dict[str, Any]:
    return {
        "type_labels": PLACEMENT_TYPE_LABELS,
        "status_labels": PLACEMENT_STATUS_LABELS,
        "outcome_labels": JOB_OUTCOME_LABELS,
        "rating_labels": RATING_LABELS,
        "JobOutcome": JobOutcome,
    }


def _placement_form(participant: Participant) -> PlacementForm:
    """The form with the participant's unit's employers and their contact persons."""
    database = db()
    employers = ops.employers_for_unit(database, participant.unit_id)
    names = {e.id: e.name for e in employers}
    contacts = (
        list(
            database.scalars(
                select(EmployerContact)
                .where(EmployerContact.employer_id.in_(names))
                .order_by(EmployerContact.employer_id, EmployerContact.id)
            )
        )
        if names
        else []
    )
    return PlacementForm(
        employers=[(e.ref, e.name) for e in employers],
        supervisors=[(c.ref, f"{c.name} ({names[c.employer_id]})") for c in contacts],
    )


def _submit(form: Any, operation: Any, success: str) -> tuple[bool, int]:
    """Run one operation for a submitted form: (saved, status)."""
    valid = form.validate_on_submit()
    valid = form.check_codes() and valid
    if not valid:
        return False, 400
    saved = save(form, operation)
    if not saved.ok:
        return False, saved.status
    flash(success, "success")
    return True, 200


# -- the list ----------------------------------------------------------------------------


@bp.route("/<ref>/placements", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def placements(ref: str) -> FormResult:
    """The participant's placements, newest first, and (for the advisor) a form to add one."""
    database = db()
    participant, grant, _view = read_section(ref, Section.PLACEMENTS)
    can_write = can(acting_user(), Action.PLACEMENT_WRITE, participant)
    form = _placement_form(participant) if can_write else None
    status = 200
    if request.method == "POST":
        if form is None:
            load_participant(ref, Action.PLACEMENT_WRITE)  # the policy's own answer: 403 or 404
            abort(403)
        created: list[Placement] = []
        saved, status = _submit(
            form,
            lambda: created.append(
                ops.create_placement(
                    database, acting_actor(), participant, form.to_input(), today=local_today()
                )
            ),
            gettext("The placement is recorded."),
        )
        if saved:
            return redirect(url_for("placements.placement", ref=ref, item_ref=created[0].ref))
    elif form is not None:
        form.status.data = PlacementStatus.PLANNED.value
        form.outcome.data = JobOutcome.UNKNOWN.value
    page = paginate(database, ops.placements_query(participant))
    audit_read("placement.list", participant, grant, "placement")
    return render_template(
        "placements/list.html",
        participant=participant,
        page=page,
        form=form,
        **_labels(),
    ), status


def _fill(form: PlacementForm, item: Placement) -> None:
    form.employer.data = item.employer.ref
    form.supervisor.data = item.supervisor.ref if item.supervisor else ""
    form.placement_type.data = item.placement_type.value
    form.start_on.data = item.start_on
    form.end_on.data = item.end_on
    form.days_per_week.data = str(item.days_per_week)
    form.hours_per_week.data = f"{item.hours_per_week:g}"
    form.goals.data = item.goals or ""
    form.status.data = item.status.value
    form.outcome.data = item.outcome.value
    form.version.data = str(item.version)


@bp.route("/<ref>/placements/<item_ref>", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def placement(ref: str, item_ref: str) -> FormResult:
    """One placement with its evaluations; the advisor changes it (status, outcome …) here."""
    database = db()
    participant, grant, _view = read_section(ref, Section.PLACEMENTS)
    item = ops.get_placement(database, participant, item_ref)
    can_write = can(acting_user(), Action.PLACEMENT_WRITE, participant)
    form = _placement_form(participant) if can_write else None
    status = 200
    if request.method == "POST":
        if form is None:
            load_participant(ref, Action.PLACEMENT_WRITE)
            abort(403)
        saved, status = _submit(
            form,
            lambda: ops.update_placement(
                database,
                acting_actor(),
                participant,
                item,
                parse_version(form.version),
                form.to_input(),
                today=local_today(),
            ),
            gettext("The placement is saved."),
        )
        if saved:
            return redirect(url_for("placements.placement", ref=ref, item_ref=item_ref))
        item = ops.get_placement(database, participant, item_ref)
    elif form is not None:
        _fill(form, item)
    plan_form = None
    if can_write and item.plan_element_id is None:
        plan_form = VersionForm()
        plan_form.version.data = str(item.version)
    audit_read(
        "placement.read",
        participant,
        grant,
        "placement",
        "placement_goals",
        "placement_evaluation",
        "employer_contact",
    )
    return render_template(
        "placements/detail.html",
        participant=participant,
        placement=item,
        form=form,
        plan_form=plan_form,
        can_write=can_write,
        **_labels(),
    ), status


@bp.route("/<ref>/placements/<item_ref>/evaluations/new", methods=["GET", "POST"])
@requires(Action.PLACEMENT_WRITE)
def evaluation_new(ref: str, item_ref: str) -> FormResult:
    """The advisor records an evaluation: summary, a rating per goal, next steps."""
    database = db()
    participant, grant = load_participant(ref, Action.PLACEMENT_WRITE)
    item = ops.get_placement(database, participant, item_ref)
    form = EvaluationForm(goals=item.goal_list)
    status = 200
    if request.method == "POST":
        saved, status = _submit(
            form,
            lambda: ops.add_evaluation(
                database, acting_actor(), participant, item, form.to_input(), today=local_today()
            ),
            gettext("The evaluation is recorded."),
        )
        if saved:
            return redirect(url_for("placements.placement", ref=ref, item_ref=item_ref))
        item = ops.get_placement(database, participant, item_ref)
    else:
        form.evaluated_on.data = local_today()
    audit_read("placement.read", participant, grant, "placement", "placement_goals")
    return render_template(
        "placements/evaluation_form.html",
        participant=participant,
        placement=item,
        form=form,
        **_labels(),
    ), status


@bp.route("/<ref>/placements/<item_ref>/plan", methods=["POST"])
@requires(Action.PLACEMENT_WRITE)
def add_to_plan(ref: str, item_ref: str) -> BaseResponse:
    """The advisor adds the placement to the plan as an element with its dates and hours."""
    database = db()
    participant, _grant = load_participant(ref, Action.PLACEMENT_WRITE)
    item = ops.get_placement(database, participant, item_ref)
    form = VersionForm()
    back = redirect(url_for("placements.placement", ref=ref, item_ref=item_ref))
    if not form.validate_on_submit():
        flash(gettext("The form has expired. Try again."), "error")
        return back
    try:
        ops.add_placement_to_plan(
            database,
            acting_actor(),
            participant,
            item,
            parse_version(form.version),
            today=local_today(),
        )
        database.commit()
    except (StaleEdit, StaleDataError):
        database.rollback()
        flash(
            gettext("Someone else changed this placement meanwhile. Check it and try again."),
            "error",
        )
    except DomainError as exc:
        database.rollback()
        from app.i18n import translate_error

        flash(translate_error(exc), "error")
    else:
        flash(gettext("The placement is added to the plan."), "success")
    return back


def overview_panel(participant: Participant, view: View, today: date) -> dict[str, Any]:
    """What the participant overview shows of this module (the caller checked the section
    and writes the page's audit event)."""
    rows = list(db().scalars(ops.placements_query(participant).limit(OVERVIEW_PLACEMENTS)))
    return {
        "placements": rows,
        "has_more": len(rows) == OVERVIEW_PLACEMENTS,
        "can_write": can(acting_user(), Action.PLACEMENT_WRITE, participant),
        **_labels(),
    }
