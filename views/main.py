"""Home page, language switcher and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response as BaseResponse

from app.database import db, services
from app.security import acting_user, safe_next
from models.accounts import ROLE_LABELS
from models.crypto import KeyPurpose
from models.policy import Action, can
from models.profile import set_locale
from views.forms import LanguageForm

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> str:
    user = acting_user()
    memberships = sorted(user.memberships, key=lambda m: (m.unit.name, m.role.value))
    return render_template(
        "main/home.html",
        memberships=memberships,
        role_labels=ROLE_LABELS,
        can_administer=can(user, Action.ADMINISTER_USERS),
    )


@bp.post("/language")
def set_language() -> BaseResponse:
    form = LanguageForm()
    target = safe_next(form.next.data) or url_for("main.home")
    if form.validate_on_submit():
        locale = form.locale.data
        session["locale"] = locale
        if current_user.is_authenticated:
            set_locale(acting_user(), locale)
            db().commit()
    return redirect(target)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Database reachable and keys loadable; no details for the outside world."""
    try:
        session = db()
        session.execute(text("SELECT 1"))
        services().keyring.active_key_id(session, KeyPurpose.FIELD)
        session.rollback()
    except Exception:
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok"), 200
