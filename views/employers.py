"""The employer register a unit shares: organisations that host work placements.

Advisors and leaders of a unit read and keep its register (`EMPLOYER_READ`,
`EMPLOYER_MANAGE`); everyone else gets 403, and an employer of another unit is 404.
The list shows organisations and counts only — never a participant. Pages that show
contact persons or notes (personal data) write one audit event before rendering.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, record_event, requires
from models import placements as ops
from models.base import local_today
from models.codes import Country
from models.placements import (
    AGREEMENT_KIND_LABELS,
    Employer,
    EmployerAgreement,
    JobOutcome,
    Placement,
)
from models.policy import Action, Grant, require
from views.common import acting_actor, paginate, save
from views.forms import parse_version
from views.placement_forms import AgreementForm, ContactForm, EmployerForm

bp = Blueprint("employers", __name__, url_prefix="/employers")

FormResult = str | BaseResponse | tuple[str, int]


def _employer(item_ref: str, action: Action = Action.EMPLOYER_READ) -> Employer:
    """The employer, if it is in a register the user may use for `action`; 404 otherwise."""
    employer = ops.get_employer(db(), None, item_ref)
    g.grant = require(acting_user(), action, employer)
    return employer


def _audit(action: str, employer: Employer, grant: Grant | None, *categories: str) -> None:
    record_event(
        action,
        object_type="employer",
        object_ref=employer.ref,
        field_categories=categories,
        grant=grant,
    )
    db().commit()  # fail closed: no event, no data


def _save(form: Any, operation: Any, success: str, *, stale: bool = False) -> tuple[bool, int]:
    """Run one operation for a submitted form: (saved, status); the caller redirects."""
    valid = form.validate_on_submit()
    check = getattr(form, "check_codes", None)
    valid = (check() if check else True) and valid
    if not valid:
        return False, 400
    saved = save(form, operation)
    if not saved.ok:
        return False, saved.status
    flash(success, "success")
    return True, 200


# -- the register ------------------------------------------------------------------------


@bp.route("/")
@requires(Action.EMPLOYER_READ)
def employers() -> FormResult:
    """The unit's employers with how many placements each hosted and how many led to a job."""
    database = db()
    units = ops.register_units(acting_user(), Action.EMPLOYER_READ)
    page = paginate(
        database,
        select(Employer).where(Employer.unit_id.in_(units)).order_by(Employer.name, Employer.id),
    )
    ids = [e.id for e in page.items]
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        for employer_id, hosted, jobs in database.execute(
            select(
                Placement.employer_id,
                func.count(Placement.id),
                func.count(Placement.id).filter(Placement.outcome == JobOutcome.YES),
            )
            .where(Placement.employer_id.in_(ids))
            .group_by(Placement.employer_id)
        ):
            counts[employer_id] = (int(hosted), int(jobs))
    return render_template(
        "employers/list.html",
        page=page,
        counts=counts,
        can_manage=bool(ops.register_units(acting_user())),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Action.EMPLOYER_MANAGE)
def employer_new() -> FormResult:
    """Add an employer to the register of the user's (first) unit."""
    units = ops.register_units(acting_user())
    if not units:
        abort(403)
    form = EmployerForm()
    status = 200
    created: list[Employer] = []
    if request.method == "POST":
        saved, status = _save(
            form,
            lambda: created.append(
                ops.create_employer(db(), acting_actor(), units[0], form.to_input())
            ),
            gettext("The employer is added to the register."),
        )
        if saved:
            return redirect(url_for("employers.employer", item_ref=created[0].ref))
    return render_template("employers/employer_form.html", form=form, employer=None), status


def _fill_employer(form: EmployerForm, employer: Employer) -> None:
    form.name.data = employer.name
    form.country.data = employer.country.value
    form.org_number.data = employer.org_number or ""
    form.industry.data = employer.industry or ""
    form.address.data = employer.address or ""
    form.notes.data = employer.notes or ""
    form.version.data = str(employer.version)


@bp.route("/<item_ref>", methods=["GET", "POST"])
@requires(Action.EMPLOYER_READ)
def employer(item_ref: str) -> FormResult:
    """One employer: details, contact persons, agreements and counts; managers edit here."""
    database = db()
    item = _employer(item_ref)
    grant = g.grant
    can_manage = bool(ops.register_units(acting_user()))
    form = EmployerForm() if can_manage else None
    status = 200
    if request.method == "POST":
        if form is None:
            abort(403)
        _employer(item_ref, Action.EMPLOYER_MANAGE)
        saved, status = _save(
            form,
            lambda: ops.update_employer(
                database, acting_actor(), item, parse_version(form.version), form.to_input()
            ),
            gettext("The employer is saved."),
        )
        if saved:
            return redirect(url_for("employers.employer", item_ref=item_ref))
        item = _employer(item_ref)
    elif form is not None:
        _fill_employer(form, item)
    hosted, jobs = ops.employer_counts(database, item)
    _audit("employer.read", item, grant, "employer", "employer_contact", "employer_note")
    return render_template(
        "employers/employer.html",
        employer=item,
        form=form,
        hosted=hosted,
        jobs=jobs,
        kind_labels=AGREEMENT_KIND_LABELS,
        Country=Country,
    ), status


# -- contact persons ---------------------------------------------------------------------


@bp.route("/<item_ref>/contacts/new", methods=["GET", "POST"])
@requires(Action.EMPLOYER_MANAGE)
def contact_new(item_ref: str) -> FormResult:
    """Add a contact person (a possible supervisor) to an employer."""
    item = _employer(item_ref, Action.EMPLOYER_MANAGE)
    form = ContactForm()
    status = 200
    if request.method == "POST":
        saved, status = _save(
            form,
            lambda: ops.add_contact(db(), acting_actor(), item, form.to_input()),
            gettext("The contact person is added."),
        )
        if saved:
            return redirect(url_for("employers.employer", item_ref=item_ref))
        item = _employer(item_ref, Action.EMPLOYER_MANAGE)
    return render_template(
        "employers/contact_form.html", form=form, employer=item, contact=None
    ), status


@bp.route("/contacts/<item_ref>", methods=["GET", "POST"])
@requires(Action.EMPLOYER_MANAGE)
def contact(item_ref: str) -> FormResult:
    """Correct a contact person."""
    database = db()
    item = ops.get_contact(database, acting_user(), item_ref)
    g.grant = require(acting_user(), Action.EMPLOYER_MANAGE, item.employer)
    grant = g.grant
    form = ContactForm()
    status = 200
    if request.method == "POST":
        saved, status = _save(
            form,
            lambda: ops.update_contact(
                database, acting_actor(), item, parse_version(form.version), form.to_input()
            ),
            gettext("The contact person is saved."),
        )
        if saved:
            return redirect(url_for("employers.employer", item_ref=item.employer.ref))
        item = ops.get_contact(database, acting_user(), item_ref)
    else:
        form.name.data = item.name or ""
        form.job_title.data = item.job_title or ""
        form.phone.data = item.phone or ""
        form.email.data = item.email or ""
        form.version.data = str(item.version)
    employer = item.employer
    _audit("employer_contact.read", employer, grant, "employer_contact")
    return render_template(
        "employers/contact_form.html", form=form, employer=employer, contact=item
    ), status


# -- agreements --------------------------------------------------------------------------


@bp.route("/<item_ref>/agreements/new", methods=["GET", "POST"])
@requires(Action.EMPLOYER_MANAGE)
def agreement_new(item_ref: str) -> FormResult:
    """Record an agreement with an employer."""
    item = _employer(item_ref, Action.EMPLOYER_MANAGE)
    form = AgreementForm()
    status = 200
    if request.method == "POST":
        saved, status = _save(
            form,
            lambda: ops.add_agreement(
                db(), acting_actor(), item, form.to_input(), today=local_today()
            ),
            gettext("The agreement is recorded."),
        )
        if saved:
            return redirect(url_for("employers.employer", item_ref=item_ref))
        item = _employer(item_ref, Action.EMPLOYER_MANAGE)
    return render_template(
        "employers/agreement_form.html", form=form, employer=item, agreement=None
    ), status


@bp.route("/agreements/<item_ref>", methods=["GET", "POST"])
@requires(Action.EMPLOYER_MANAGE)
def agreement(item_ref: str) -> FormResult:
    """Correct an agreement."""
    database = db()
    item: EmployerAgreement = ops.get_agreement(database, acting_user(), item_ref)
    g.grant = require(acting_user(), Action.EMPLOYER_MANAGE, item.employer)
    grant = g.grant
    form = AgreementForm()
    status = 200
    if request.method == "POST":
        saved, status = _save(
            form,
            lambda: ops.update_agreement(
                database,
                acting_actor(),
                item,
                parse_version(form.version),
                form.to_input(),
                today=local_today(),
            ),
            gettext("The agreement is saved."),
        )
        if saved:
            return redirect(url_for("employers.employer", item_ref=item.employer.ref))
        item = ops.get_agreement(database, acting_user(), item_ref)
    else:
        form.kind.data = item.kind.value
        form.valid_from.data = item.valid_from
        form.valid_to.data = item.valid_to
        form.note.data = item.note or ""
        form.version.data = str(item.version)
    employer = item.employer
    _audit("employer_agreement.read", employer, grant, "employer_agreement")
    return render_template(
        "employers/agreement_form.html", form=form, employer=employer, agreement=item
    ), status
