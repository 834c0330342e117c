"""One logging setup for the app and gunicorn: JSON lines with the request's context.

`init_app` is called by `create_app`. With LOG_FORMAT = "json" (the default under
`veiviser serve`) every record becomes one JSON object on standard error; with
"text" (demo, development, tests) Python's logging is left as it is. Either way
the app writes one line per request on the "veiviser.request" logger.

What a line may hold is fixed here, so nothing personal slips in by accident: the
path without its query string (search terms live there), the numeric user id only,
and for exceptions their type and stack frames but never their message (a message
may quote SQL parameters or form input).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

from app.config import ConfigurationError

LOG_FORMATS = ("json", "text")
REQUEST_LOGGER = "veiviser.request"

# Context fields a record may carry; anything else passed in `extra` is not written.
CONTEXT_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id")

request_log = logging.getLogger(REQUEST_LOGGER)


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def _exception_text(exc_info: Any) -> str:
    """Type and stack frames of an exception, without its message."""
    kind, _value, tb = exc_info
    name = kind.__name__ if kind is not None else "Exception"
    return name + "\n" + "".join(traceback.format_tb(tb))


class RequestContextFilter(logging.Filter):
    """Adds the current request's id, method, path and user id to a record that lacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not has_request_context():
            return True
        values = {
            "request_id": g.get("request_id"),
            "method": request.method,
            "path": request.path,
            "user_id": current_user_id(),
        }
        for name, value in values.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; only the fields named here are ever written."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = _exception_text(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def current_user_id() -> int | None:
    """The logged-in user's numeric id, if this request already loaded the user.

    Reads what Flask-Login has cached on `g` instead of `current_user`: logging must
    never be the thing that queries the database (which may be what is failing).
    """
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    ident = getattr(user, "id", None)
    return ident if isinstance(ident, int) else None


def json_handler(stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    handler._veiviser = True  # type: ignore[attr-defined]
    return handler


def configure_json(level: str | int = logging.INFO, stream: Any = None) -> logging.Handler:
    """Route every logger through one JSON handler on the root logger (idempotent).

    Each gunicorn worker builds its own app, so this runs once per process; a second
    app in the same process replaces the handler instead of doubling every line.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_veiviser", False)]:
        root.removeHandler(old)
    handler = json_handler(stream)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def _start_timer() -> None:
    g.log_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    started = g.get("log_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    # A load balancer polls the health check every few seconds: keep it out of INFO.
    quiet = request.endpoint == "main.healthz" and response.status_code == 200
    request_log.log(
        logging.DEBUG if quiet else logging.INFO,
        "request",
        extra={"status": response.status_code, "duration_ms": duration},
    )
    return response


def init_app(app: Flask) -> None:
    """Check LOG_FORMAT/LOG_LEVEL, set up JSON output if asked, and log every request.

    Call before `security.init_app`: the timer must start before the security gate
    can answer a request itself (a redirect to the login page ends the chain).
    """
    log_format = str(app.config.get("LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigurationError("LOG_FORMAT must be json or text")
    level_name = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    level = logging.getLevelNamesMapping().get(level_name)
    if level is None:
        raise ConfigurationError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    if log_format == "json":
        configure_json(level)
    app.before_request(_start_timer)
    app.after_request(_log_request)
