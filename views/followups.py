"""Follow-ups: logged meetings, calls and visits, with next actions that become tasks.

Reading a page = `PARTICIPANT_READ` and the record's follow-up section (leaders, and
partners with consent for it); logging and correcting = `FOLLOW_UP_WRITE` (the
assigned advisors); setting a task by hand = `TASK_WORK`. Every page that shows the
record writes one audit event and commits it before rendering.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, record_event, requires
from models import followups as ops
from models import tasks as task_ops
from models.access import View
from models.accounts import User
from models.base import LOCAL_ZONE, local_today, utcnow
from models.codes import FOLLOW_UP_KIND_LABELS, Section
from models.participants import Participant
from models.policy import Action, Grant, can
from views.common import acting_actor, load_participant, paginate, read_section, save
from views.followup_forms import FollowUpForm, TaskForm
from views.forms import parse_version
from views.participant_forms import language_name

bp = Blueprint("followups", __name__, url_prefix="/participants")

FormResult = str | BaseResponse | tuple[str, int]
# Open tasks shown on the follow-ups page; more is a sign the list needs tending.
PAGE_TASKS = 50


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": FOLLOW_UP_KIND_LABELS,
        "due_labels": task_ops.TASK_DUE_LABELS,
        "TaskDue": task_ops.TaskDue,
        "language_name": language_name,
    }


def _assignees(participant: Participant) -> list[User]:
    """Who may be given a task about the participant; looked up once per request (the
    page has two forms that list them)."""
    cache: dict[int, list[User]] = g.setdefault("assignees", {})
    if participant.id not in cache:
        cache[participant.id] = task_ops.assignee_candidates(db(), participant)
    return cache[participant.id]


def _follow_up_form(participant: Participant, formdata: Any = None) -> FollowUpForm:
    kwargs: dict[str, Any] = {} if formdata is None else {"formdata": formdata}
    return FollowUpForm(
        attendee_choices=ops.attendee_candidates(db(), participant),
        assignee_choices=_assignees(participant),
        **kwargs,
    )


def _task_form(participant: Participant) -> TaskForm:
    return TaskForm(assignee_choices=_assignees(participant))


def _render_list(
    participant: Participant,
    grant: Grant,
    *,
    form: FollowUpForm | None,
    task_form: TaskForm | None,
    status: int = 200,
) -> tuple[str, int]:
    """The follow-ups page; writes its read event and commits before rendering."""
    database = db()
    user = acting_user()
    page = paginate(database, ops.follow_ups_of(participant))
    open_tasks = task_ops.open_tasks_of(database, participant, limit=PAGE_TASKS)
    record_event(
        "follow_up.list",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("follow_ups", "tasks"),
        grant=grant,
    )
    database.commit()  # fail closed: no event, no data
    return render_template(
        "followups/list.html",
        participant=participant,
        page=page,
        open_tasks=open_tasks,
        form=form,
        task_form=task_form,
        user_id=user.id,
        can_complete_any=grant.role.value == "advisor"
        and can(user, Action.FOLLOW_UP_WRITE, participant),
        today=local_today(),
        **_labels(),
    ), status


@bp.route("/<ref>/followups", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def followups(ref: str) -> FormResult:
    """The list of follow-ups, newest first, with the form to log a new one."""
    user = acting_user()
    if request.method == "POST":
        participant, _grant = load_participant(ref, Action.FOLLOW_UP_WRITE)
    participant, grant, _view = read_section(ref, Section.FOLLOW_UPS)
    may_write = can(user, Action.FOLLOW_UP_WRITE, participant)
    may_task = can(user, Action.TASK_WORK, participant)
    form = _follow_up_form(participant) if may_write else None
    status = 200
    if form is not None and request.method == "POST":
        if form.validate_on_submit():
            database = db()
            saved = save(
                form,
                lambda: ops.log_follow_up(
                    database, acting_actor(), participant, form.to_input(), today=local_today()
                ),
            )
            if saved.ok:
                assert saved.result is not None
                count = len(saved.result.tasks)
                flash(
                    gettext("The follow-up is logged.")
                    if not count
                    else gettext(
                        "The follow-up is logged with %(count)d new task(s).", count=count
                    ),
                    "success",
                )
                return redirect(url_for("followups.followups", ref=ref))
            status = saved.status
        else:
            status = 400
    elif form is not None:
        now = utcnow().astimezone(LOCAL_ZONE)
        form.occurred_on.data = now.date()
        form.occurred_time.data = now.time().replace(second=0, microsecond=0)
        form.attendees.data = (
            [str(user.id)] if any(c.data == str(user.id) for c in form.attendees) else []
        )
    return _render_list(
        participant,
        grant,
        form=form,
        task_form=_task_form(participant) if may_task else None,
        status=status,
    )


@bp.post("/<ref>/tasks")
@requires(Action.TASK_WORK)
def add_task(ref: str) -> FormResult:
    """Set a task by hand about this participant (advisors and the unit's leaders)."""
    participant, _grant = load_participant(ref, Action.TASK_WORK)
    task_form = _task_form(participant)
    status = 400
    if task_form.validate_on_submit():
        database = db()
        saved = save(
            task_form,
            lambda: task_ops.add_task(
                database,
                acting_actor(),
                participant,
                title=task_form.title.data or "",
                assignee=task_form.chosen_assignee(),
                due_on=task_form.due_on.data,
                today=local_today(),
            ),
        )
        if saved.ok:
            flash(gettext("The task is added."), "success")
            return redirect(url_for("followups.followups", ref=ref) + "#tasks-heading")
        status = saved.status
    participant, grant, _view = read_section(ref, Section.FOLLOW_UPS)
    user = acting_user()
    form = _follow_up_form(participant) if can(user, Action.FOLLOW_UP_WRITE, participant) else None
    return _render_list(participant, grant, form=form, task_form=task_form, status=status)


def _fill(form: FollowUpForm, follow_up: ops.FollowUp) -> None:
    local: datetime = follow_up.local_time
    form.occurred_on.data = local.date()
    form.occurred_time.data = local.time().replace(second=0, microsecond=0)
    form.kind.data = follow_up.kind.value
    form.interpreter_used.data = follow_up.interpreter_used
    form.interpreter_language.data = follow_up.interpreter_language or ""
    form.attendees.data = [str(u.id) for u in follow_up.attendees]
    form.externals.data = follow_up.externals or ""
    form.summary.data = follow_up.summary or ""
    form.version.data = str(follow_up.version)


@bp.route("/<ref>/followups/<item_ref>", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_READ)
def follow_up(ref: str, item_ref: str) -> FormResult:
    """One follow-up: read it, and (the assigned advisors) correct it."""
    user = acting_user()
    if request.method == "POST":
        load_participant(ref, Action.FOLLOW_UP_WRITE)
    participant, grant, _view = read_section(ref, Section.FOLLOW_UPS)
    database = db()
    item = ops.get_follow_up(database, participant, item_ref)
    may_write = can(user, Action.FOLLOW_UP_WRITE, participant)
    form = _follow_up_form(participant) if may_write else None
    status = 200
    if form is not None and request.method == "POST":
        if form.validate_on_submit():
            saved = save(
                form,
                lambda: ops.correct_follow_up(
                    database,
                    acting_actor(),
                    item,
                    participant,
                    parse_version(form.version),
                    form.to_input(with_actions=False),
                ),
            )
            if saved.ok:
                flash(
                    gettext("The correction is saved.")
                    if saved.result
                    else gettext("Nothing was changed."),
                    "success",
                )
                return redirect(url_for("followups.follow_up", ref=ref, item_ref=item_ref))
            status = saved.status
        else:
            status = 400
        item = ops.get_follow_up(database, participant, item_ref)
    elif form is not None:
        _fill(form, item)
    record_event(
        "follow_up.read",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("follow_up", "summary", "attendees", "tasks"),
        grant=grant,
    )
    database.commit()  # fail closed
    return render_template(
        "followups/detail.html",
        participant=participant,
        item=item,
        form=form,
        user_id=user.id,
        can_complete_any=grant.role.value == "advisor" and may_write,
        today=local_today(),
        **_labels(),
    ), status


def overview_panel(participant: Participant, view: View, today: date) -> dict[str, Any]:
    """What the participant overview shows of this module (the caller checked the section)."""
    database = db()
    return {
        "follow_ups": ops.latest(database, participant),
        "tasks": task_ops.open_tasks_of(database, participant),
        "today": local_today(),
        "kind_labels": FOLLOW_UP_KIND_LABELS,
        "due_labels": task_ops.TASK_DUE_LABELS,
        "TaskDue": task_ops.TaskDue,
    }
