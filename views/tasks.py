"""Tasks: next actions from follow-ups or set by hand, and "My tasks".

"My tasks" lists the user's open tasks (overdue, due within `DUE_SOON_DAYS`, later)
about participants they may still see, the ones done lately and the ones they set
for others. Marking done is one POST button: the assignee or an advisor of the
participant. Setting a task by hand lives on the participant's follow-up page
(`followups.add_task`).
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.i18n import translate_error
from app.security import acting_user, record_event, requires
from models import tasks as ops
from models.base import local_today, utcnow
from models.codes import Section
from models.errors import DomainError
from models.policy import Action, Actor
from views.common import paginate
from views.followup_forms import TaskDoneForm

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

# How many open tasks set for others the page lists.
CREATED_FOR_OTHERS_LIMIT = 50


@bp.get("/")
@requires(Action.TASK_WORK)
def my_tasks() -> str:
    """The user's open tasks, grouped by due status; decrypts only the rows shown."""
    user = acting_user()
    database = db()
    today = local_today()
    page = paginate(database, ops.my_open_tasks(user))
    groups = ops.group(page.items, today)
    done = ops.my_recently_done(database, user, utcnow())
    others = list(database.scalars(ops.created_for_others(user).limit(CREATED_FOR_OTHERS_LIMIT)))
    record_event("task.list", object_type="task", field_categories=("tasks",), grant=g.grant)
    database.commit()  # fail closed: no event, no data
    return render_template(
        "tasks/my_tasks.html",
        page=page,
        groups=groups,
        done=done,
        others=others,
        today=today,
        soon_days=ops.DUE_SOON_DAYS,
        due_labels=ops.TASK_DUE_LABELS,
        TaskDue=ops.TaskDue,
        Section=Section,
    )


def _set_done(item_ref: str, done: bool) -> BaseResponse:
    database = db()
    task = ops.get_task(database, item_ref)
    form = TaskDoneForm()
    back = form.back.data
    participant_ref = task.participant.ref
    if form.validate_on_submit():
        try:
            changed = ops.set_done(database, Actor(acting_user(), g.get("request_id")), task, done)
            database.commit()
        except StaleDataError:
            database.rollback()
            flash(gettext("Someone else changed this task just now. Look again."), "error")
        except DomainError as exc:
            database.rollback()
            if exc.status_code in (403, 404):
                raise
            flash(translate_error(exc), "error")
        else:
            if not changed:
                flash(gettext("Nothing was changed."), "info")
            elif done:
                flash(gettext("The task is marked done."), "success")
            else:
                flash(gettext("The task is open again."), "success")
    else:
        flash(gettext("The request could not be handled. Try again."), "error")
    if back == "participant":
        return redirect(url_for("followups.followups", ref=participant_ref) + "#tasks-heading")
    return redirect(url_for("tasks.my_tasks"))


@bp.post("/<item_ref>/done")
@requires(Action.TASK_WORK)
def done(item_ref: str) -> BaseResponse:
    """Mark a task done: its assignee or an advisor of the participant."""
    return _set_done(item_ref, True)


@bp.post("/<item_ref>/reopen")
@requires(Action.TASK_WORK)
def reopen(item_ref: str) -> BaseResponse:
    """Open a done task again (a click by mistake): the same people as `done`."""
    return _set_done(item_ref, False)
