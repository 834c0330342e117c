"""Login, logout, MFA enrolment and the user's own account page."""

from __future__ import annotations

import io

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import login_user
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import (
    acting_user,
    end_login_session,
    record_event,
    regenerate_session,
    safe_next,
)
from models import audit
from models import sessions as server_sessions
from models.accounts import LoginFailed, authenticate, new_totp_secret, totp_uri
from models.base import utcnow
from models.errors import DomainError, Throttled, ValidationFailed
from models.profile import (
    change_password,
    confirm_mfa_enrolment,
    open_pending_secret,
    seal_pending_secret,
)
from views.common import attach_error
from views.forms import EmptyForm, LoginForm, MfaSetupForm, PasswordChangeForm

bp = Blueprint("auth", __name__)

PENDING_SECRET = "mfa_pending_secret"  # noqa: S105 - a session key name, not a secret


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse:
    form = LoginForm()
    require_mfa = bool(current_app.config["REQUIRE_MFA"])
    status = 200
    retry_after: int | None = None
    if form.validate_on_submit():
        database = db()
        try:
            result = authenticate(
                database,
                form.email.data or "",
                form.password.data or "",
                form.otp.data,
                utcnow(),
                require_mfa,
            )
        except Throttled as exc:
            database.rollback()
            record_event("login.throttled", outcome=audit.Outcome.DENIED)
            database.commit()
            attach_error(form, exc)
            status = 429
            retry_after = exc.retry_after_seconds
        except LoginFailed as exc:
            record_event(
                "login.failed",
                object_type="user" if exc.user else None,
                object_ref=exc.user.ref if exc.user else None,
                outcome=audit.Outcome.FAILED,
                user=exc.user,
            )
            database.commit()
            attach_error(form, exc)
            status = 400
        else:
            user = result.user
            session.clear()
            regenerate_session()
            login_user(user)
            if result.needs_mfa_enrolment:
                session["mfa_enrolment_required"] = True
            record_event("login", object_type="user", object_ref=user.ref, user=user)
            database.commit()
            if result.needs_mfa_enrolment:
                return redirect(url_for("auth.mfa_setup"))
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    elif request.method == "POST":
        status = 400
    response = make_response(
        render_template("auth/login.html", form=form, require_mfa=require_mfa), status
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.post("/logout")
def logout() -> BaseResponse:
    form = EmptyForm()
    if form.validate_on_submit():
        user = acting_user()
        database = db()
        server_sessions.end_all_for_user(database, user.id)
        record_event("logout", object_type="user", object_ref=user.ref)
        database.commit()
        end_login_session()
        flash(gettext("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _qr_svg(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=5,
        border=4,
        title=gettext("QR code for your authenticator app"),
        svgclass="qr",
        lineclass=None,
    )
    return buffer.getvalue().decode("utf-8")


@bp.route("/account/mfa", methods=["GET", "POST"])
def mfa_setup() -> str | BaseResponse | tuple[str, int]:
    """Enrol an authenticator app: scan the QR code, then prove it with one code."""
    user = acting_user()
    form = MfaSetupForm()
    database = db()
    secret = open_pending_secret(database, user, session.get(PENDING_SECRET) or "")
    if not secret:
        secret = new_totp_secret()
        session[PENDING_SECRET] = seal_pending_secret(database, user, secret)
    status = 200
    if form.validate_on_submit():
        try:
            confirm_mfa_enrolment(
                database, user, secret, form.otp.data or "", utcnow(), g.get("request_id")
            )
        except ValidationFailed as exc:
            attach_error(form, exc)
            status = 400
        else:
            database.commit()
            session.pop(PENDING_SECRET, None)
            session.pop("mfa_enrolment_required", None)
            flash(gettext("Two-step login is set up."), "success")
            return redirect(url_for("main.home"))
    elif request.method == "POST":
        status = 400
    uri = totp_uri(user, secret)
    return (
        render_template(
            "auth/mfa_setup.html",
            form=form,
            qr_svg=_qr_svg(uri),
            secret=secret,
            already_enrolled=user.has_mfa,
        ),
        status,
    )


@bp.route("/account", methods=["GET", "POST"])
def account() -> str | BaseResponse | tuple[str, int]:
    user = acting_user()
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        database = db()
        try:
            change_password(
                database,
                user,
                form.current_password.data or "",
                form.new_password.data or "",
                g.get("request_id"),
            )
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = 400
        else:
            database.commit()
            end_login_session()
            flash(gettext("Your password is changed. Log in with the new password."), "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "auth/account.html",
            form=form,
            user=user,
            session_count=server_sessions.count_for_user(db(), user.id),
        ),
        status,
    )
