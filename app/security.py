"""The security gate: server-side sessions, login, the default-deny rule, headers and audit context.

Every request passes through here. An endpoint is public only if it is in
`PUBLIC_ENDPOINTS`; everything else needs a logged-in, active user whose MFA is
settled. Object and role decisions are the policy's (`models.policy`); this
module only turns its answers into HTTP.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Request, Response, abort, g, redirect, request, session, url_for
from flask.sessions import SessionInterface, SessionMixin
from flask_login import LoginManager, current_user
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import CallbackDict
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from models import audit
from models import sessions as server_sessions
from models.accounts import Role, User
from models.base import utcnow
from models.errors import Forbidden, NotFound
from models.policy import Action, Grant, require

PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "main.set_language", "main.healthz"})
# While a user must still enrol in MFA, these are the only pages they can use.
MFA_ENROLMENT_ENDPOINTS = frozenset({"auth.mfa_setup", "auth.logout", "main.set_language"})

login_manager = LoginManager()
login_manager.session_protection = None  # the session token is rotated at login instead
login_manager.login_view = "auth.login"

F = TypeVar("F", bound=Callable[..., Any])
# At most 40 characters: the audit trail stores the id in a String(40) column.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,40}$")


# -- server-side session ---------------------------------------------------


class ServerSideSession(CallbackDict[str, Any], SessionMixin):
    """Flask's `session`, backed by a row in `server_sessions`."""

    def __init__(self, data: dict[str, Any] | None = None, token: str | None = None) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.token = token
        self.modified = False
        self.regenerate = False
        self.touch = False


def regenerate_session() -> None:
    """Give the session a new token (at login), so a token planted before login is useless."""
    cast(ServerSideSession, session).regenerate = True


def end_login_session() -> None:
    """Log the browser out; anything added to the session afterwards (a flash) gets a new token."""
    from flask_login import logout_user

    logout_user()
    session.clear()
    regenerate_session()


def session_timeouts(app: Flask) -> server_sessions.Timeouts:
    return server_sessions.Timeouts(
        idle=timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
        absolute=timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"]),
    )


class DatabaseSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if token:
            now = utcnow()
            live = server_sessions.load(db(), token, now, session_timeouts(app))
            if live is not None:
                opened = ServerSideSession(live.data, token)
                opened.touch = server_sessions.needs_touch(live, now)
                return opened
        return ServerSideSession()

    def save_session(self, app: Flask, sess: SessionMixin, response: Response) -> None:
        assert isinstance(sess, ServerSideSession)
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        database = db()
        now = utcnow()
        user_id = _as_int(sess.get("_user_id"))

        if sess.token and (sess.regenerate or not sess):
            server_sessions.end(database, sess.token)
            database.commit()
            sess.token = None
        if not sess:
            if request.cookies.get(name):
                response.delete_cookie(name, domain=domain, path=path)
            return

        if sess.token is None:
            sess.token = server_sessions.new_token()
            server_sessions.create(database, sess.token, dict(sess), user_id, now)
        elif sess.modified or sess.touch:
            if not server_sessions.save(database, sess.token, dict(sess), user_id, now):
                # Ended meanwhile (logout elsewhere, password change, disable): stay ended.
                database.commit()
                response.delete_cookie(name, domain=domain, path=path)
                return
        else:
            return
        database.commit()
        response.set_cookie(
            name,
            sess.token,
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            domain=domain,
            path=path,
        )


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _load_user(user_id: str) -> User | None:
    ident = _as_int(user_id)
    if ident is None:
        return None
    user = db().get(User, ident, options=[selectinload(User.memberships)])
    if user is None or not user.is_active:
        return None
    return user


login_manager.user_loader(_load_user)


def acting_user() -> User:
    """The logged-in user (the gate guarantees one on every non-public endpoint)."""
    user = current_user._get_current_object()
    assert isinstance(user, User)
    return user


# -- the gate ----------------------------------------------------------------


def _gate() -> BaseResponse | None:
    g.request_id = _request_id()
    if any("\x00" in value for value in request.values.values()):
        # No field ever legitimately holds a NUL, and PostgreSQL text cannot store one.
        abort(400)
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None  # unknown URLs fall through to the 404 handler
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=_safe_next(request.full_path)))
    if session.get("mfa_enrolment_required") and endpoint not in MFA_ENROLMENT_ENDPOINTS:
        return redirect(url_for("auth.mfa_setup"))
    return None


def _request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.match(given) else secrets.token_hex(8)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths; anything else (//evil, https://…) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    target = target.rstrip("?")
    return None if target == "/" else target


safe_next = _safe_next


def requires(action: Action) -> Callable[[F], F]:
    """Decorate a view: the acting user needs a role that allows `action` (403 otherwise).

    The grant is kept on `g.grant` for the audit event.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = acting_user()
            try:
                g.grant = require(user, action)
            except Forbidden:
                # A teacher reaches a participant only through a class, and only the
                # language section: any other page of a participant is "not there".
                if (
                    "ref" in kwargs
                    and request.path.startswith("/participants/")
                    and user.has_role(Role.TEACHER)
                ):
                    raise NotFound() from None
                raise
            return view(*args, **kwargs)

        wrapped.required_action = action  # type: ignore[attr-defined]
        return cast(F, wrapped)

    return decorator


def record_event(
    action: str,
    *,
    object_type: str | None = None,
    object_ref: str | None = None,
    field_categories: Iterable[str] = (),
    outcome: audit.Outcome = audit.Outcome.SUCCESS,
    grant: Grant | None = None,
    user: User | None = None,
) -> None:
    """Queue an audit event for this request, filling in who, in which role and unit.

    Views call this; the event itself is written by `models.audit` when the
    request's transaction commits.
    """
    actor = user
    if actor is None and current_user and current_user.is_authenticated:
        actor = acting_user()
    grant = grant or g.get("grant")
    audit.record(
        db(),
        action,
        actor_user_id=actor.id if actor is not None else None,
        actor_role=grant.role.value if grant else None,
        unit_id=grant.unit_id if grant else None,
        object_type=object_type,
        object_ref=object_ref,
        field_categories=field_categories,
        outcome=outcome,
        request_id=g.get("request_id"),
        flags=grant.via if grant else None,
    )


# -- headers -----------------------------------------------------------------

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.endpoint != "static":
        # Pages may hold personal data: no copy in any cache, shared or private.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if g.get("request_id"):
        headers["X-Request-ID"] = g.request_id
    return response


def _navigation() -> dict[str, Any]:
    from models.policy import can

    if not current_user.is_authenticated:
        return {
            "nav_admin": False,
            "nav_participants": False,
            "nav_review": False,
            "nav_tasks": False,
            "nav_employers": False,
            "nav_classes": False,
            "nav_housing": False,
        }
    user = acting_user()
    return {
        "nav_admin": can(user, Action.ADMINISTER_USERS),
        "nav_participants": can(user, Action.PARTICIPANT_LIST),
        "nav_review": can(user, Action.BREAK_GLASS_REVIEW),
        "nav_tasks": can(user, Action.TASK_WORK),
        "nav_employers": can(user, Action.EMPLOYER_READ),
        # Language training: teachers, and the leaders of adult learning centres.
        "nav_classes": can(user, Action.CLASS_MANAGE) and _teaches_or_leads_a_centre(user),
        # The housing overview is the leaders' (counts of their units).
        "nav_housing": can(user, Action.BREAK_GLASS_REVIEW),
    }


def _teaches_or_leads_a_centre(user: User) -> bool:
    from models.accounts import Role, UnitKind

    return any(
        m.unit.is_active
        and (
            m.role is Role.TEACHER
            or (m.role is Role.LEADER and m.unit.kind is UnitKind.ADULT_LEARNING)
        )
        for m in user.memberships
    )


def init_app(app: Flask) -> None:
    app.session_interface = DatabaseSessionInterface()
    login_manager.init_app(app)
    app.before_request(_gate)
    app.after_request(_security_headers)
    app.context_processor(_navigation)


def public_endpoints() -> frozenset[str]:
    return PUBLIC_ENDPOINTS
