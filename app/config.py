"""Configuration in layers: defaults → instance/config.py → VEIVISER_* environment → test overrides.

Secrets are never invented: without a secret key and a master key the app
refuses to start and says what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "VEIVISER_"


class ConfigurationError(RuntimeError):
    """The installation is not configured well enough to run safely."""


DEFAULTS: dict[str, Any] = {
    # Secrets and keys (no defaults on purpose)
    "SECRET_KEY": None,
    "MASTER_KEY_FILE": None,  # default: <instance>/master.key when that file exists
    "MASTER_KEY": None,  # base64, for secret stores that inject environment variables
    "DEPLOYMENT_ID": "veiviser",  # bound into every ciphertext; never change it after first use
    # Database
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    # Security
    "REQUIRE_MFA": True,
    "DEMO": False,
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 10,
    "BLIND_INDEX_BITS": 16,
    "ACTIVE_KEY_TTL_SECONDS": 5.0,
    # `keys rotate` erases the old data key only this long (plus the TTL above) after the
    # new one became active: longer than any request runs (gunicorn's timeout is 30 s).
    "KEY_RETIRE_GRACE_SECONDS": 60.0,
    "TRUSTED_PROXIES": 0,  # how many reverse proxies set X-Forwarded-* in front of the app
    "PASSWORD_HASH_TIME_COST": 3,
    "PASSWORD_HASH_MEMORY_KIB": 65536,
    "PASSWORD_HASH_PARALLELISM": 4,
    # Flask and extensions
    "SESSION_COOKIE_NAME": "veiviser_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (time-limited) session
    "BABEL_DEFAULT_LOCALE": "nb",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Oslo",
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "PAGE_SIZE": 25,
    # Outcome figures: a cell counting fewer persons than this is hidden.
    "SMALL_CELL_THRESHOLD": 5,
    # Participant record
    "ALLOW_SYNTHETIC_IDS": False,  # accept Skatteetaten/NAV synthetic test numbers (test sites)
    "BREAK_GLASS_HOURS": 2,
    # Exports run in a thread of the process that received the request (tests run them inline).
    "EXPORT_IN_BACKGROUND": True,
    # Deployment overrides of rule-set defaults (None: the rule set's value).
    "PLAN_REVIEW_MONTHS": None,  # months between plan reviews
    "LESSON_PROGRAMME_MINUTES": None,  # programme minutes a lesson counts as
    # Logging: "json" (one object per line, the default under `veiviser serve`) or "text".
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
}

# Optional whole numbers: unset means "the rule set decides".
OPTIONAL_POSITIVE_INTS = ("PLAN_REVIEW_MONTHS", "LESSON_PROGRAMME_MINUTES")

# Read from the environment as VEIVISER_<NAME>; parsed by the type of the default.
ENV_KEYS = tuple(DEFAULTS)


def _parse(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        value = raw.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise ConfigurationError(f"expected a yes/no value, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill `app.config` from the layers and derive the values that depend on others."""
    app.config.update(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for key in ENV_KEYS:
        raw = os.environ.get(ENV_PREFIX + key)
        if raw is not None:
            app.config[key] = _parse(raw, DEFAULTS.get(key))
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'veiviser.db'}"
    if not app.config["MASTER_KEY_FILE"] and not app.config["MASTER_KEY"]:
        default_key = instance / "master.key"
        if default_key.exists():
            app.config["MASTER_KEY_FILE"] = str(default_key)


def validate(app: Flask) -> None:
    missing = []
    if not app.config.get("SECRET_KEY"):
        missing.append("a secret key (VEIVISER_SECRET_KEY or SECRET_KEY in instance/config.py)")
    if not app.config.get("MASTER_KEY_FILE") and not app.config.get("MASTER_KEY"):
        missing.append("a master key (VEIVISER_MASTER_KEY_FILE)")
    if missing:
        raise ConfigurationError(
            "Veiviser will not start without "
            + " and ".join(missing)
            + ". For a local trial run `veiviser demo`, which creates both in instance/."
        )
    if app.config["SESSION_IDLE_MINUTES"] <= 0 or app.config["SESSION_ABSOLUTE_HOURS"] <= 0:
        raise ConfigurationError("session timeouts must be positive")
    for key in OPTIONAL_POSITIVE_INTS:
        value = app.config.get(key)
        if value in (None, ""):
            app.config[key] = None
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{key} must be a whole number") from None
        if number <= 0:
            raise ConfigurationError(f"{key} must be positive")
        app.config[key] = number


def instance_path() -> str:
    # Flask insists on an absolute path; an operator's relative one means "from here".
    chosen = os.environ.get(ENV_PREFIX + "INSTANCE_PATH")
    return str(Path(chosen).resolve()) if chosen else str(PROJECT_ROOT / "instance")
