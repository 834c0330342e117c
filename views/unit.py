"""The unit leader's pages. Now: the break-the-glass review list."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, record_event, requires
from models import access
from models.policy import Action, Actor
from views.forms import EmptyForm

bp = Blueprint("unit", __name__, url_prefix="/unit")


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
