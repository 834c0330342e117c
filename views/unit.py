"""The unit leader's pages: the dashboard (caseload figures per advisor), reassigning
participants one or many at a time, the audit-log search and the break-the-glass review.

Leaders only (`Action.PARTICIPANT_REASSIGN` / `BREAK_GLASS_REVIEW` are leader actions);
a leader sees the units they lead and nothing else. Every page writes one audit event
and commits it before rendering.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as BaseResponse
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional

from app.database import db
from app.security import acting_user, record_event, requires
from models import access
from models import dashboard as board
from models.accounts import Role, User
from models.audit import OUTCOME_LABELS, AuditEvent
from models.base import local_today
from models.codes import PARTICIPANT_STATUS_LABELS, ParticipantStatus
from models.deadlines import DUE_SOON_DAYS
from models.errors import DomainError, StaleEdit
from models.participants import Participant
from models.policy import Action, Actor
from views.common import Page, acting_actor, attach_error, paginate, requested_page
from views.forms import EmptyForm

bp = Blueprint("unit", __name__, url_prefix="/unit")

FormResult = str | BaseResponse | tuple[str, int]


MAX_ID = 2**31 - 1  # beyond the database's integer: PostgreSQL would refuse the query


def _id_or_zero(value: Any) -> int:
    """A posted id; anything that is not an id is "nothing chosen" (never a 500)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number <= MAX_ID else 0


class ReassignManyForm(FlaskForm):
    # Choices are checked by the operation (participants of the leader's units, an
    # advisor of their unit), which gives the clearer message.
    participants = SelectMultipleField(
        _l("Participants"), coerce=str, choices=[], validate_choice=False
    )
    primary_advisor = SelectField(
        _l("New primary advisor"), coerce=_id_or_zero, choices=[], validate_choice=False
    )


class AuditSearchForm(FlaskForm):
    participant_ref = StringField(
        _l("Participant reference"),
        validators=[Optional(), Length(max=board.MAX_REF)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    user = StringField(
        _l("User (e-mail or name)"),
        validators=[Optional(), Length(max=board.MAX_AUDIT_USER_QUERY)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


# -- dashboard -------------------------------------------------------------------


@bp.get("/")
@requires(Action.PARTICIPANT_REASSIGN)
def dashboard() -> str:
    user = acting_user()
    today = local_today()
    units = board.dashboard(db(), user, today)
    record_event("unit.dashboard", field_categories=("caseload_figures",))
    db().commit()
    return render_template(
        "unit/dashboard.html",
        units=units,
        statuses=list(ParticipantStatus),
        status_labels=PARTICIPANT_STATUS_LABELS,
        due_soon_days=DUE_SOON_DAYS,
    )


# -- reassignment ------------------------------------------------------------------


def _advisor_choices(user: User) -> list[tuple[int, str]]:
    led = {u.id: u.name for u in access.led_units(db(), user)}
    many = len(led) > 1
    return [(0, gettext("— choose —"))] + [
        (advisor.id, f"{advisor.display_name} ({led[unit_id]})" if many else advisor.display_name)
        for unit_id, advisor in board.advisors_of(db(), set(led))
    ]


def _reassign_page(user: User, advisor_filter: int | None) -> Page[Any]:
    stmt = board.leader_participants(user, (Participant,))
    if advisor_filter is not None:
        stmt = stmt.where(
            Participant.primary_advisor_id.is_(None)
            if advisor_filter == 0
            else Participant.primary_advisor_id == advisor_filter
        )
    return paginate(db(), stmt.order_by(Participant.deadline_sort_on, Participant.id))


def _advisor_filter() -> int | None:
    raw = request.values.get("advisor", "")
    return _id_or_zero(raw) if raw.isdigit() else None


@bp.route("/reassign", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_REASSIGN)
def reassign() -> FormResult:
    """Choose participants of the page and a new primary advisor; one POST moves them all."""
    user = acting_user()
    database = db()
    form = ReassignManyForm()
    choices = _advisor_choices(user)
    form.primary_advisor.choices = choices
    status = 200
    if form.validate_on_submit():
        primary = (
            database.get(User, form.primary_advisor.data) if form.primary_advisor.data else None
        )
        try:
            moved = board.reassign_many(
                database, acting_actor(), form.participants.data or [], primary
            )
            database.commit()
        except (StaleEdit, StaleDataError):
            database.rollback()
            attach_error(form, StaleEdit())
            status = 409
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = exc.status_code
        else:
            assert primary is not None
            flash(
                ngettext(
                    "%(num)d participant moved to %(name)s.",
                    "%(num)d participants moved to %(name)s.",
                    len(moved),
                    name=primary.display_name,
                ),
                "success",
            )
            return redirect(url_for("unit.reassign", advisor=_advisor_filter()))
    elif request.method == "POST":
        status = 400
    advisor_filter = _advisor_filter()
    page = _reassign_page(user, advisor_filter)
    record_event("participant.list", object_type="participant", field_categories=("name",))
    database.commit()
    chosen = set(form.participants.data or [])
    advisor_names = dict(
        database.execute(
            select(User.id, User.display_name).where(
                User.id.in_(
                    {p.primary_advisor_id for p in page.items if p.primary_advisor_id}
                    | {p.secondary_advisor_id for p in page.items if p.secondary_advisor_id}
                )
            )
        ).all()
    )
    return (
        render_template(
            "unit/reassign.html",
            form=form,
            page=page,
            chosen=chosen,
            advisor_names=advisor_names,
            advisor_filter=advisor_filter,
            filter_choices=choices[1:],
            status_labels=PARTICIPANT_STATUS_LABELS,
        ),
        status,
    )


# -- audit search ------------------------------------------------------------------


def _query_of(form: AuditSearchForm) -> board.AuditQuery:
    def day(value: Any) -> date | None:
        return value if isinstance(value, date) else None

    return board.AuditQuery(
        participant_ref=form.participant_ref.data or "",
        user=form.user.data or "",
        date_from=day(form.date_from.data),
        date_to=day(form.date_to.data),
    )


@bp.route("/audit", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_REASSIGN)
def audit() -> FormResult:
    """Search the audit log of the leader's units. POSTed, as a user's name may be typed
    in; page numbers travel in the same form."""
    user = acting_user()
    database = db()
    form = AuditSearchForm()
    status = 200
    query = board.AuditQuery()
    if request.method == "POST":
        if form.validate_on_submit():
            query = _query_of(form)
        else:
            status = 400
    page: Page[AuditEvent] | None = None
    if status == 200:
        try:
            stmt = board.audit_search(database, user, query, local_today())
        except DomainError as exc:
            attach_error(form, exc)
            status = exc.status_code
        else:
            page = paginate(database, stmt, requested_page())
    # Only a real reference goes into the log: a name typed in the wrong box must not.
    ref = query.participant_ref.strip()
    if ref and not database.scalar(
        select(Participant.id).where(
            Participant.ref == ref, Participant.unit_id.in_(user.unit_ids(Role.LEADER) or {-1})
        )
    ):
        ref = ""
    record_event(
        "audit.search",
        object_type="participant" if ref else "audit_event",
        object_ref=ref or None,
        field_categories=("audit",),
    )
    database.commit()
    actor_ids = {e.actor_user_id for e in page.items if e.actor_user_id} if page else set()
    actors = (
        dict(
            database.execute(select(User.id, User.display_name).where(User.id.in_(actor_ids))).all()
        )
        if actor_ids
        else {}
    )
    return (
        render_template(
            "unit/audit.html",
            form=form,
            page=page,
            actors=actors,
            outcome_labels=OUTCOME_LABELS,
        ),
        status,
    )


# -- break-the-glass review -----------------------------------------------------------


@bp.get("/break-glass")
@requires(Action.BREAK_GLASS_REVIEW)
def break_glass_review() -> str:
    user = acting_user()
    open_grants = access.break_glass_for_review(db(), user, only_open=True)
    record_event("break_glass.list", object_type="participant", field_categories=("reason",))
    db().commit()
    return render_template("unit/break_glass.html", grants=open_grants, button_form=EmptyForm())


@bp.post("/break-glass/<grant_ref>/review")
@requires(Action.BREAK_GLASS_REVIEW)
def break_glass_reviewed(grant_ref: str) -> BaseResponse:
    if EmptyForm().validate_on_submit():
        access.review_break_glass(db(), Actor(acting_user(), g.get("request_id")), grant_ref)
        db().commit()
        flash(gettext("Marked as reviewed."), "success")
    return redirect(url_for("unit.break_glass_review"))
