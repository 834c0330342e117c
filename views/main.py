"""Home page, language switcher and the health check."""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response as BaseResponse

from app.database import db, services
from app.security import acting_user, safe_next
from models.accounts import ROLE_LABELS
from models.crypto import KeyMaterialError, KeyPurpose
from models.policy import Action, can
from models.profile import set_locale
from views.forms import LanguageForm

bp = Blueprint("main", __name__)
health_log = logging.getLogger("veiviser.health")


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
def healthz() -> tuple[str, int, dict[str, str]]:
    """Load balancers' probe: 200 "ok" when the database answers and the keys unwrap.

    Public. Changes nothing. The body says only "ok" or "unavailable"; what failed
    goes to the log (exception type and our own key messages, never key material).
    """
    plain = {"Content-Type": "text/plain; charset=utf-8"}
    session = db()
    stage = "database"
    try:
        session.execute(text("SELECT 1"))
        stage = "keys"
        keyring = services().keyring
        # Unwrapping every live data key proves the master key still matches the
        # database; it costs microseconds per key. Active ids come from the ring's
        # few-seconds cache, so a key rotation is seen without restarting.
        keyring.check_master_key(session)
        for purpose in KeyPurpose:
            keyring.active_key_id(session, purpose)
    except KeyMaterialError as exc:
        health_log.error("health check failed at %s: %s", stage, exc)
        return "unavailable", 503, plain
    except Exception as exc:  # the driver's message may name hosts or values: type only
        health_log.error("health check failed at %s: %s", stage, type(exc).__name__)
        return "unavailable", 503, plain
    finally:
        with contextlib.suppress(Exception):  # a dead connection may refuse even this
            session.rollback()
    return "ok", 200, plain
