"""Error pages in the user's language; internals never reach the page."""

from __future__ import annotations

import contextlib
import logging
import traceback

from flask import Flask, Response, g, render_template, request
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.database import db
from app.i18n import translate_error
from app.security import record_event
from models import audit
from models.errors import DomainError, Forbidden, NotFound, Throttled

log = logging.getLogger("veiviser")


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (
            gettext("The request could not be handled"),
            gettext("Something in the request was not as expected. Go back and try again."),
        ),
        403: (
            gettext("No access"),
            gettext("You do not have access to this page."),
        ),
        404: (
            gettext("Page not found"),
            gettext("The page does not exist, or you do not have access to it."),
        ),
        405: (
            gettext("The request could not be handled"),
            gettext("This page cannot be used like that."),
        ),
        409: (
            gettext("The record has changed"),
            gettext("Someone else saved this record after you opened it."),
        ),
        413: (
            gettext("Too much data"),
            gettext("The form sent more data than the server accepts."),
        ),
        429: (
            gettext("Too many attempts"),
            gettext("Too many attempts in a short time. Wait a little and try again."),
        ),
        500: (
            gettext("Something went wrong"),
            gettext(
                "An error on our side stopped this page. Nothing was saved. "
                "Try again; if it keeps happening, contact your administrator."
            ),
        ),
    }


def error_page(status: int, detail: str | None = None) -> tuple[str, int]:
    titles = _titles()
    title, text = titles.get(status, titles[500 if status >= 500 else 400])
    return (
        render_template("errors/error.html", status=status, title=title, text=detail or text),
        status,
    )


def _record_denied(action: str) -> None:
    """Denied access is audited even though the request's own work is abandoned."""
    session = db()
    session.rollback()
    record_event(
        action,
        object_type="endpoint",
        object_ref=(request.endpoint or "unknown")[:40],
        outcome=audit.Outcome.DENIED,
    )
    session.commit()


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        _record_denied("csrf_failure")
        return error_page(
            400,
            gettext(
                "The form had expired or was not sent from Veiviser. Nothing was saved. "
                "Open the page again and resubmit."
            ),
        )

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> tuple[str, int] | Response:
        if isinstance(error, (Forbidden, NotFound)) and current_user.is_authenticated:
            _record_denied("access_denied")
        response_body, status = error_page(error.status_code, translate_error(error))
        if isinstance(error, Throttled):
            response = Response(response_body, status=status, mimetype="text/html")
            response.headers["Retry-After"] = str(error.retry_after_seconds)
            return response
        return response_body, status

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int]:
        status = error.code or 500
        if status in (403, 404) and current_user.is_authenticated:
            _record_denied("access_denied")
        return error_page(status)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int]:
        # The message may hold values; log only the type and the request id.
        # The exception's message may quote values (SQL parameters, input): log the
        # type, where it happened and the stack frames, never the message.
        log.error(
            "unhandled %s in %s (request %s)\n%s",
            type(error).__name__,
            request.endpoint,
            g.get("request_id"),
            "".join(traceback.format_tb(error.__traceback__)),
        )
        with contextlib.suppress(Exception):  # the database itself may be what failed
            db().rollback()
        return error_page(500)
