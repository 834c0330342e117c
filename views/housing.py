"""Housing: addresses, contracts and housing follow-up (boveiledning).

Reading a page = `PARTICIPANT_READ` and the record's housing section (the assigned
advisors, the unit's leaders, partners with consent to housing); recording and
correcting = `HOUSING_WRITE` (the assigned advisors). A protected address is shown to
the primary advisor only, like the record's own address. Every page that shows the
record writes one audit event and commits it before rendering.

`housing_overview` is the leader's page: counts per unit they lead, no names, no
addresses.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, record_event, requires
from models import housing as ops
from models import tasks as task_ops
from models.access import View
from models.accounts import Role
from models.base import local_today
from models.codes import Section
from models.participants import Participant
from models.policy import Action, Grant, can, first_grant
from views.common import acting_actor, load_participant, paginate, read_section, save
from views.forms import parse_version
from views.housing_forms import HousingForm, HousingNoteForm

bp = Blueprint("housing", __name__, url_prefix="/participants")
overview_bp = Blueprint("housing_overview", __name__, url_prefix="/housing")

FormResult = str | BaseResponse | tuple[str, int]


def shows_address(participant: Participant, view: View) -> bool:
    """A protected address (and the landlord, who gives it away) is for the primary advisor."""
    return not participant.is_protected_address or view.sees_protected_address


def _labels() -> dict[str, Any]:
    return {
        "type_labels": ops.HOUSING_TYPE_LABELS,
        "note_kind_labels": ops.HOUSING_NOTE_KIND_LABELS,
        "due_labels": task_ops.TASK_DUE_LABELS,
        "TaskDue": task_ops.TaskDue,
    }


def _categories(participant: Participant, view: View, *names: str) -> tuple[str, ...]:
    hidden = set() if shows_address(participant, view) else {"address", "landlord_contact"}
    return tuple(n for n in names if n not in hidden)


def _note_form(participant: Participant, bound: bool) -> HousingNoteForm:
    kwargs: dict[str, Any] = {} if bound else {"formdata": None}
    return HousingNoteForm(
        assignee_choices=task_ops.assignee_candidates(db(), participant), **kwargs
    )


def _housing_form(bound: bool) -> HousingForm:
    return HousingForm() if bound else HousingForm(formdata=None)


def _render_page(
    participant: Participant,
    grant: Grant,
    view: View,
    *,
    form: HousingForm | None,
    note_form: HousingNoteForm | None,
    status: int = 200,
) -> tuple[str, int]:
    """The housing page; writes its read event and commits before rendering."""
    database = db()
    history = paginate(database, ops.history_of(participant))
    notes = paginate(database, ops.notes_of(participant))
    current = ops.current_housing(database, participant)
    record_event(
        "housing.read",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=_categories(
            participant,
            view,
            "housing",
            "address",
            "landlord_contact",
            "household",
            "adaptations",
            "housing_note",
        ),
        grant=grant,
    )
    database.commit()  # fail closed: no event, no data
    return render_template(
        "housing/housing.html",
        participant=participant,
        current=current,
        history=history,
        notes=notes,
        form=form,
        note_form=note_form,
        show_address=shows_address(participant, view),
        today=local_today(),
        **_labels(),
    ), status


@bp.route("/<ref>/housing", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def housing(ref: str) -> FormResult:
    """The participant's current housing, history and housing notes; the assigned advisor
    records a housing here (and logs a note through `add_note`)."""
    user = acting_user()
    if request.method == "POST":
        load_participant(ref, Action.HOUSING_WRITE)
    participant, grant, view = read_section(ref, Section.HOUSING)
    may_write = can(user, Action.HOUSING_WRITE, participant)
    posted = request.method == "POST"
    form = _housing_form(bound=posted) if may_write else None
    status = 200
    if form is not None and posted:
        valid = form.validate_on_submit()
        valid = form.check_codes() and valid
        if valid:
            database = db()
            saved = save(
                form,
                lambda: ops.record_housing(
                    database, acting_actor(), participant, form.to_input(), today=local_today()
                ),
            )
            if saved.ok:
                flash(gettext("The housing is recorded."), "success")
                return redirect(url_for("housing.housing", ref=ref))
            status = saved.status
        else:
            status = 400
    note_form = _note_form(participant, bound=False) if may_write else None
    if note_form is not None:
        note_form.noted_on.data = local_today()
    return _render_page(participant, grant, view, form=form, note_form=note_form, status=status)


@bp.post("/<ref>/housing/notes")
@requires(Action.HOUSING_WRITE)
def add_note(ref: str) -> FormResult:
    """Log a housing follow-up; filled next-action rows become tasks (assigned advisors)."""
    participant, _grant = load_participant(ref, Action.HOUSING_WRITE)
    note_form = _note_form(participant, bound=True)
    status = 400
    valid = note_form.validate_on_submit()
    valid = note_form.check_codes() and valid
    if valid:
        database = db()
        saved = save(
            note_form,
            lambda: ops.log_housing_note(
                database, acting_actor(), participant, note_form.to_input(), today=local_today()
            ),
        )
        if saved.ok:
            assert saved.result is not None
            count = len(saved.result.tasks)
            flash(
                gettext("The housing note is logged.")
                if not count
                else gettext("The housing note is logged with %(count)d new task(s).", count=count),
                "success",
            )
            return redirect(url_for("housing.housing", ref=ref) + "#notes-heading")
        status = saved.status
    participant, grant, view = read_section(ref, Section.HOUSING)
    return _render_page(
        participant,
        grant,
        view,
        form=_housing_form(bound=False),
        note_form=note_form,
        status=status,
    )


def _fill_housing(form: HousingForm, item: ops.Housing) -> None:
    form.housing_type.data = item.housing_type.value
    form.municipality.data = item.municipality
    form.address.data = item.address or ""
    form.household_size.data = item.household_size
    form.contract_start_on.data = item.contract_start_on
    form.contract_end_on.data = item.contract_end_on
    form.moved_out_on.data = item.moved_out_on
    form.landlord.data = item.landlord or ""
    form.adaptations.data = item.adaptations or ""
    form.version.data = str(item.version)


@bp.route("/<ref>/housing/<item_ref>", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def housing_item(ref: str, item_ref: str) -> FormResult:
    """One housing of the history: read it, and (the assigned advisors) correct it or
    record the move-out."""
    user = acting_user()
    if request.method == "POST":
        load_participant(ref, Action.HOUSING_WRITE)
    participant, grant, view = read_section(ref, Section.HOUSING)
    database = db()
    item = ops.get_housing(database, participant, item_ref)
    show_address = shows_address(participant, view)
    # Correcting means seeing the stored address; without it the form would wipe it.
    may_write = can(user, Action.HOUSING_WRITE, participant) and show_address
    if request.method == "POST" and not may_write:
        abort(403)
    form = _housing_form(bound=request.method == "POST") if may_write else None
    status = 200
    if form is not None and request.method == "POST":
        valid = form.validate_on_submit()
        valid = form.check_codes() and valid
        if valid:
            saved = save(
                form,
                lambda: ops.update_housing(
                    database,
                    acting_actor(),
                    participant,
                    item,
                    parse_version(form.version),
                    form.to_input(),
                    today=local_today(),
                ),
            )
            if saved.ok:
                flash(
                    gettext("The housing is saved.")
                    if saved.result
                    else gettext("Nothing was changed."),
                    "success",
                )
                return redirect(url_for("housing.housing_item", ref=ref, item_ref=item_ref))
            status = saved.status
        else:
            status = 400
        # The rollback may have expired the row; show what is stored now.
        item = ops.get_housing(database, participant, item_ref)
    elif form is not None:
        _fill_housing(form, item)
    record_event(
        "housing.read",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=_categories(
            participant, view, "housing", "address", "landlord_contact", "household", "adaptations"
        ),
        grant=grant,
    )
    database.commit()  # fail closed
    return render_template(
        "housing/item.html",
        participant=participant,
        item=item,
        form=form,
        show_address=show_address,
        today=local_today(),
        **_labels(),
    ), status


def _fill_note(form: HousingNoteForm, note: ops.HousingNote) -> None:
    form.noted_on.data = note.noted_on
    form.kind.data = note.kind.value
    form.note.data = note.note or ""
    form.version.data = str(note.version)


@bp.route("/<ref>/housing/notes/<item_ref>", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def note(ref: str, item_ref: str) -> FormResult:
    """One housing note and the tasks it gave; the assigned advisors correct it here."""
    user = acting_user()
    if request.method == "POST":
        load_participant(ref, Action.HOUSING_WRITE)
    participant, grant, _view = read_section(ref, Section.HOUSING)
    database = db()
    item = ops.get_note(database, participant, item_ref)
    may_write = can(user, Action.HOUSING_WRITE, participant)
    form = _note_form(participant, bound=request.method == "POST") if may_write else None
    status = 200
    if form is not None and request.method == "POST":
        valid = form.validate_on_submit()
        valid = form.check_codes() and valid
        if valid:
            saved = save(
                form,
                lambda: ops.correct_housing_note(
                    database,
                    acting_actor(),
                    participant,
                    item,
                    parse_version(form.version),
                    form.to_input(with_actions=False),
                    today=local_today(),
                ),
            )
            if saved.ok:
                flash(
                    gettext("The correction is saved.")
                    if saved.result
                    else gettext("Nothing was changed."),
                    "success",
                )
                return redirect(url_for("housing.note", ref=ref, item_ref=item_ref))
            status = saved.status
        else:
            status = 400
        item = ops.get_note(database, participant, item_ref)
    elif form is not None:
        _fill_note(form, item)
    record_event(
        "housing_note.read",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("housing_note", "tasks"),
        grant=grant,
    )
    database.commit()  # fail closed
    return render_template(
        "housing/note.html",
        participant=participant,
        item=item,
        form=form,
        today=local_today(),
        **_labels(),
    ), status


def overview_panel(participant: Participant, view: View, today: date) -> dict[str, Any]:
    """What the participant overview shows of this module (the caller checked the section
    and writes the page's audit event)."""
    database = db()
    current = ops.current_housing(database, participant)
    ending = {d.source_ref for d in ops.contract_deadlines(database, participant, today)}
    return {
        "current": current,
        "notes": ops.latest_notes(database, participant),
        "contract_warning": current is not None and current.ref in ending,
        "show_address": shows_address(participant, view),
        "can_write": can(acting_user(), Action.HOUSING_WRITE, participant),
        "today": today,
        **_labels(),
    }


# -- the leader's overview -------------------------------------------------------------


@overview_bp.get("/")
@requires(Action.PARTICIPANT_LIST)
def index() -> str:
    """Housing figures of the units the user leads: counts only (leaders; others 403)."""
    user = acting_user()
    grant = first_grant(user, {Role.LEADER})
    if grant is None:
        abort(403)
    g.grant = grant
    database = db()
    today = local_today()
    figures = ops.unit_figures(database, user, today)
    record_event("housing.unit_figures", object_type="unit", field_categories=("housing_counts",))
    database.commit()
    return render_template(
        "housing/unit_overview.html",
        figures=figures,
        types=list(ops.HousingType),
        type_labels=ops.HOUSING_TYPE_LABELS,
        today=today,
    )
