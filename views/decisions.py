"""Decisions (vedtak), appeals, the end of the programme and the participation certificate.

Reading is `PARTICIPANT_READ` plus the record's decisions section (the programme
end and the certificate belong to it too): the assigned advisor and the unit's
leader see it, a partner only with an active consent to that section. Writing
needs `DECISION_WRITE` / `PROGRAMME_END` (the assigned advisor). Every page that
shows personal data writes one audit event and commits it before rendering.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale, gettext
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.i18n import LOCALES
from app.security import acting_user, requires
from models import decisions as ops
from models.access import View
from models.base import local_today
from models.codes import (
    APPEAL_OUTCOME_LABELS,
    DECISION_TYPE_LABELS,
    MAIN_ACTIVITY_LABELS,
    PLAN_ELEMENT_TYPE_LABELS,
    PROGRAMME_END_KIND_LABELS,
    PROGRAMME_END_REASON_LABELS,
    Section,
)
from models.decisions import APPEAL_STATUS_LABELS, AppealStatus, Decision, ProgrammeEnd
from models.errors import NotFound
from models.participants import Participant
from models.policy import Action, Grant, can
from views.common import (
    acting_actor,
    attach_error,
    audit_read,
    load_participant,
    paginate,
    read_section,
    save,
)
from views.decision_forms import (
    DecisionForm,
    ProgrammeEndCorrectionForm,
    ProgrammeEndForm,
    TwelveMonthStatusForm,
)
from views.forms import parse_version
from views.pdf import PdfSection, render_pdf

bp = Blueprint("decisions", __name__, url_prefix="/participants")

FormResult = str | BaseResponse | tuple[str, int]
OVERVIEW_DECISIONS = 5


def _labels() -> dict[str, Any]:
    return {
        "type_labels": DECISION_TYPE_LABELS,
        "outcome_labels": APPEAL_OUTCOME_LABELS,
        "appeal_labels": APPEAL_STATUS_LABELS,
        "AppealStatus": AppealStatus,
        "kind_labels": PROGRAMME_END_KIND_LABELS,
        "reason_labels": PROGRAMME_END_REASON_LABELS,
        "activity_labels": MAIN_ACTIVITY_LABELS,
    }


# -- decisions -------------------------------------------------------------------------


@bp.route("/<ref>/decisions", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def decisions(ref: str) -> FormResult:
    """The participant's decisions, newest first, and (for the advisor) a form to record one."""
    user = acting_user()
    database = db()
    participant, grant, _view = read_section(ref, Section.DECISIONS)
    can_write = can(user, Action.DECISION_WRITE, participant)
    form = DecisionForm() if can_write else None
    status = 200
    if request.method == "POST":
        if form is None:
            load_participant(ref, Action.DECISION_WRITE)  # the policy's own answer: 403 or 404
            abort(403)
        valid = form.validate_on_submit()
        valid = form.check_codes() and valid
        if valid:
            saved = save(
                form,
                lambda: ops.record_decision(
                    database, acting_actor(), participant, form.to_input(), today=local_today()
                ),
            )
            if saved.ok:
                flash(gettext("The decision is recorded."), "success")
                return redirect(url_for("decisions.decisions", ref=ref))
            status = saved.status
        else:
            status = 400
    page = paginate(database, ops.decisions_query(participant))
    audit_read("decision.list", participant, grant, "decision")
    return render_template(
        "decisions/list.html",
        participant=participant,
        page=page,
        form=form,
        today=local_today(),
        **_labels(),
    ), status


def _fill_decision(form: DecisionForm, decision: Decision) -> None:
    form.decision_type.data = decision.decision_type.value
    form.decided_on.data = decision.decided_on
    form.notified_on.data = decision.notified_on
    form.appeal_received_on.data = decision.appeal_received_on
    form.appeal_outcome.data = decision.appeal_outcome.value if decision.appeal_outcome else ""
    form.note.data = decision.note or ""
    form.version.data = str(decision.version)


@bp.route("/<ref>/decisions/<item_ref>", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def decision(ref: str, item_ref: str) -> FormResult:
    """One decision; the advisor corrects it or records the appeal and its outcome here."""
    user = acting_user()
    database = db()
    participant, grant, _view = read_section(ref, Section.DECISIONS)
    item = ops.get_decision(database, participant, item_ref)
    can_write = can(user, Action.DECISION_WRITE, participant)
    form = DecisionForm() if can_write else None
    status = 200
    if request.method == "POST":
        if form is None:
            load_participant(ref, Action.DECISION_WRITE)
            abort(403)
        valid = form.validate_on_submit()
        valid = form.check_codes() and valid
        if valid:
            saved = save(
                form,
                lambda: ops.update_decision(
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
                    gettext("The decision is saved.")
                    if saved.result
                    else gettext("Nothing was changed."),
                    "success",
                )
                return redirect(url_for("decisions.decision", ref=ref, item_ref=item_ref))
            status = saved.status
        else:
            status = 400
        # The row may have been expired by the rollback; show what is stored now.
        item = ops.get_decision(database, participant, item_ref)
    elif form is not None:
        _fill_decision(form, item)
    audit_read("decision.read", participant, grant, "decision", "decision_note")
    return render_template(
        "decisions/detail.html",
        participant=participant,
        decision=item,
        form=form,
        today=local_today(),
        **_labels(),
    ), status


# -- the end of the programme ----------------------------------------------------------


@bp.route("/<ref>/end", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def programme_end(ref: str) -> FormResult:
    """The programme's end: the record once ended, else (for the advisor) the form to end it."""
    user = acting_user()
    database = db()
    participant, grant, _view = read_section(ref, Section.DECISIONS)
    end = ops.get_end(database, participant)
    can_end = can(user, Action.PROGRAMME_END, participant)
    form = ProgrammeEndForm() if can_end and end is None else None
    status = 200
    if request.method == "POST":
        if not can_end:
            load_participant(ref, Action.PROGRAMME_END)
            abort(403)
        if form is None:
            form = ProgrammeEndForm()
            attach_error(form, ops.AlreadyEnded())
            status = 409
        else:
            valid = form.validate_on_submit()
            valid = form.check_codes() and valid
            if valid:
                saved = save(
                    form,
                    lambda: ops.end_programme(
                        database, acting_actor(), participant, form.to_input(), today=local_today()
                    ),
                )
                if saved.ok:
                    flash(gettext("The programme is ended."), "success")
                    return redirect(url_for("decisions.programme_end", ref=ref))
                status = saved.status
            else:
                status = 400
        end = ops.get_end(database, participant)
    audit_read("programme.end_read", participant, grant, "programme_end")
    return render_template(
        "decisions/end.html",
        participant=participant,
        end=end,
        form=form,
        can_end=can_end,
        today=local_today(),
        **_labels(),
    ), status


def _ended(ref: str) -> tuple[Participant, Grant, ProgrammeEnd]:
    participant, grant = load_participant(ref, Action.PROGRAMME_END)
    end = ops.get_end(db(), participant)
    if end is None:
        raise NotFound()
    return participant, grant, end


@bp.route("/<ref>/end/correct", methods=["GET", "POST"])
@requires(Action.PROGRAMME_END)
def programme_end_correct(ref: str) -> FormResult:
    """The advisor corrects the recorded end, giving a reason (404 before the end)."""
    database = db()
    participant, grant, end = _ended(ref)
    form = ProgrammeEndCorrectionForm()
    status = 200
    if request.method == "GET":
        form.ended_on.data = end.ended_on
        form.kind.data = end.kind.value
        form.reason.data = end.reason.value
        form.activity_after.data = end.activity_after.value
        form.version.data = str(end.version)
    else:
        valid = form.validate_on_submit()
        valid = form.check_codes() and valid
        if valid:
            saved = save(
                form,
                lambda: ops.correct_end(
                    database,
                    acting_actor(),
                    participant,
                    end,
                    parse_version(form.version),
                    form.to_input(),
                    reason=form.correction_reason.data or "",
                    today=local_today(),
                ),
            )
            if saved.ok:
                flash(
                    gettext("The end is corrected.")
                    if saved.result
                    else gettext("Nothing was changed."),
                    "success",
                )
                return redirect(url_for("decisions.programme_end", ref=ref))
            status = saved.status
        else:
            status = 400
    audit_read("programme.end_read", participant, grant, "programme_end")
    return render_template(
        "decisions/end_correct.html", participant=participant, form=form, **_labels()
    ), status


@bp.route("/<ref>/end/status", methods=["GET", "POST"])
@requires(Action.PROGRAMME_END)
def programme_end_status(ref: str) -> FormResult:
    """The advisor records the main activity 12 months after the end (404 before the end)."""
    database = db()
    participant, grant, end = _ended(ref)
    form = TwelveMonthStatusForm()
    status = 200
    if request.method == "GET":
        form.activity.data = end.activity_12m.value if end.activity_12m else ""
        form.recorded_on.data = end.activity_12m_on
        form.version.data = str(end.version)
    else:
        valid = form.validate_on_submit()
        valid = form.check_codes() and valid
        if valid:
            saved = save(
                form,
                lambda: ops.record_twelve_month_status(
                    database,
                    acting_actor(),
                    participant,
                    end,
                    parse_version(form.version),
                    activity=form.activity_code,
                    recorded_on=form.recorded_on.data,
                    today=local_today(),
                ),
            )
            if saved.ok:
                flash(gettext("The status 12 months later is saved."), "success")
                return redirect(url_for("decisions.programme_end", ref=ref))
            status = saved.status
        else:
            status = 400
        end = ops.get_end(database, participant) or end
    audit_read("programme.end_read", participant, grant, "programme_end")
    return render_template(
        "decisions/end_status.html",
        participant=participant,
        end=end,
        form=form,
        opens=ops.twelve_month_opens(end.ended_on),
        **_labels(),
    ), status


# -- the participation certificate --------------------------------------------------------


def _certificate_lang() -> str:
    lang = request.args.get("lang", "")
    if lang in LOCALES:
        return lang
    current = str(get_locale() or "nb")
    return current if current in LOCALES else "nb"


def _certificate(ref: str, action: str) -> tuple[Participant, ProgrammeEnd, dict[str, Any]]:
    """What the certificate shows; 404 until the programme has ended."""
    participant, grant, _view = read_section(ref, Section.DECISIONS)
    database = db()
    end = ops.get_end(database, participant)
    if end is None:
        abort(404)
    lines = ops.completed_elements(database, participant)
    audit_read(action, participant, grant, "identity", "plan", "programme_end")
    started = participant.programme_start_on or participant.programme_decision_on
    return (
        participant,
        end,
        {
            "lines": lines,
            "total_hours": sum(line.hours for line in lines),
            "started_on": started,
            "issued_on": local_today(),
            "unit_name": participant.unit.name,
        },
    )


def _hours(value: float) -> str:
    return f"{value:g}"


@bp.get("/<ref>/certificate")
@requires(Action.PARTICIPANT_READ)
def certificate(ref: str) -> str:
    """The participation certificate, print layout, labels in `?lang=nb|sv|en`."""
    participant, end, facts = _certificate(ref, "certificate.read")
    lang = _certificate_lang()
    with force_locale(lang):
        return render_template(
            "decisions/certificate.html",
            participant=participant,
            end=end,
            lang=lang,
            locales=LOCALES,
            element_labels=PLAN_ELEMENT_TYPE_LABELS,
            hours=_hours,
            **facts,
            **_labels(),
        )


@bp.get("/<ref>/certificate.pdf")
@requires(Action.PARTICIPANT_READ)
def certificate_pdf(ref: str) -> Response:
    """The participation certificate as a PDF (the file name holds no personal data)."""
    participant, end, facts = _certificate(ref, "certificate.pdf")
    lang = _certificate_lang()
    with force_locale(lang):
        started = facts["started_on"]
        period = f"{started.isoformat() if started else '–'} – {end.ended_on.isoformat()}"
        birth = participant.birth_date
        sections = [
            PdfSection(
                heading=gettext("Participant"),
                rows=[
                    (gettext("Name"), participant.display_name),
                    (gettext("Date of birth"), birth.isoformat() if birth else "–"),
                ],
            ),
            PdfSection(
                heading=gettext("The programme"),
                rows=[
                    (gettext("Programme period"), period),
                    (
                        gettext("How the programme ended"),
                        gettext(PROGRAMME_END_KIND_LABELS[end.kind]),
                    ),
                    (gettext("Municipal service"), facts["unit_name"]),
                ],
            ),
            PdfSection(
                heading=gettext("Completed elements"),
                paragraphs=[]
                if facts["lines"]
                else [gettext("No completed plan elements are recorded.")],
                table=(
                    [
                        gettext("Element"),
                        gettext("From"),
                        gettext("To"),
                        gettext("Hours per week"),
                        gettext("Hours"),
                    ],
                    [
                        [
                            gettext(PLAN_ELEMENT_TYPE_LABELS[line.element_type]),
                            line.start_on.isoformat(),
                            line.end_on.isoformat(),
                            _hours(line.hours_per_week),
                            _hours(line.hours),
                        ]
                        for line in facts["lines"]
                    ],
                ),
            ),
            PdfSection(
                heading=gettext("Total"),
                rows=[(gettext("Hours in completed elements"), _hours(facts["total_hours"]))],
            ),
        ]
        data = render_pdf(
            gettext("Certificate of participation in the introduction programme"),
            gettext("Issued %(date)s", date=facts["issued_on"].isoformat()),
            sections,
            gettext(
                "Hours are counted as the days from start to end divided by seven, times the "
                "hours per week."
            ),
        )
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="certificate.pdf"'
    return response


# -- the participant overview's panel ------------------------------------------------------


def overview_panel(participant: Participant, view: View, today: date) -> dict[str, Any]:
    """What the participant overview shows of this module (the caller checked the section
    and writes the page's audit event)."""
    database = db()
    user = acting_user()
    rows = list(database.scalars(ops.decisions_query(participant).limit(OVERVIEW_DECISIONS)))
    return {
        "decisions": rows,
        "has_more": len(rows) == OVERVIEW_DECISIONS,
        "end": ops.get_end(database, participant),
        "can_write": can(user, Action.DECISION_WRITE, participant),
        "can_end": can(user, Action.PROGRAMME_END, participant),
        "today": today,
        **_labels(),
    }
