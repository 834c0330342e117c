"""`veiviser serve`: run Veiviser under gunicorn, but only with production settings.

Before anything listens, the configuration is checked (`production_problems`), the
database must be at the newest schema and the master key must open its data keys.
Any finding stops the command with exit status 2 and a list of what to fix; no
worker is started.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
from flask import Config, Flask

from app.config import PROJECT_ROOT, ConfigurationError

# The first line `veiviser demo` writes into the instance config it creates.
DEMO_MARKER = "Written by `veiviser demo`"
MIN_SECRET_KEY_LENGTH = 32
EXIT_REFUSED = 2


def _demo_folders(instance: Path) -> list[Path]:
    """Instance folders whose config.py the demo wrote (the active one and the project's)."""
    found = []
    for folder in dict.fromkeys([instance, PROJECT_ROOT / "instance"]):
        config = folder / "config.py"
        try:
            if config.is_file() and DEMO_MARKER in config.read_text(encoding="utf-8"):
                found.append(folder)
        except OSError:
            continue
    return found


def _configured_master_key(config: Mapping[str, Any]) -> bytes | None:
    from models.crypto import KeyMaterialError, load_master_key

    try:
        return load_master_key(config.get("MASTER_KEY_FILE"), config.get("MASTER_KEY"))
    except KeyMaterialError:
        return None


def _demo_problems(config: Mapping[str, Any], folders: Iterable[Path]) -> list[str]:
    from models.crypto import KeyMaterialError, load_master_key

    problems = []
    master_key = _configured_master_key(config)
    for folder in folders:
        demo_config = Config(str(folder))
        try:
            demo_config.from_pyfile("config.py")
        except (OSError, SyntaxError):
            continue
        demo_secret = demo_config.get("SECRET_KEY")
        if demo_secret and demo_secret == config.get("SECRET_KEY"):
            problems.append(f"the secret key is the demo's ({folder / 'config.py'})")
        try:
            demo_key = load_master_key(folder / "master.key")
        except KeyMaterialError:
            continue
        if master_key is not None and master_key == demo_key:
            problems.append(f"the master key is the demo's ({folder / 'master.key'})")
    return problems


def production_problems(
    config: Mapping[str, Any], instance: Path, *, allow_sqlite: bool = False
) -> list[str]:
    """What in `config` makes it unfit to serve real data; an empty list means fit.

    Pure apart from reading the instance folders' config.py and master.key, so it
    can be called (and tested) without a database or a server.
    """
    problems = []
    if config.get("DEMO"):
        problems.append("demo mode is on (DEMO)")
    if config.get("DEBUG"):
        problems.append("debug mode is on (DEBUG)")
    if config.get("TESTING"):
        problems.append("testing mode is on (TESTING)")
    if str(config.get("DEPLOYMENT_ID", "")).startswith("demo-"):
        problems.append("the deployment id is the demo's (DEPLOYMENT_ID)")
    problems.extend(_demo_problems(config, _demo_folders(instance)))
    secret = config.get("SECRET_KEY") or ""
    if len(str(secret)) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"the secret key is shorter than {MIN_SECRET_KEY_LENGTH} characters")
    if _configured_master_key(config) is None:
        problems.append("the master key cannot be loaded (VEIVISER_MASTER_KEY_FILE)")
    if str(config.get("DATABASE_URL", "")).startswith("sqlite") and not allow_sqlite:
        problems.append(
            "the database is SQLite: set VEIVISER_DATABASE_URL to PostgreSQL, or pass "
            "--allow-sqlite for a single-host installation"
        )
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("session cookies are not marked Secure (SESSION_COOKIE_SECURE)")
    if not config.get("REQUIRE_MFA"):
        problems.append("two-step login is off (REQUIRE_MFA)")
    return problems


def database_problems(app: Flask) -> list[str]:
    """Is the database reachable, at the newest schema, and does the master key open its
    data keys? Leaves no connection open."""
    from app.database import services
    from app.migrate import current_revision, head_revision
    from models.crypto import KeyMaterialError

    svc = services(app)
    try:
        if current_revision(svc.engine) != head_revision():
            return ["the database is not at the newest schema: run `veiviser db upgrade`"]
        with svc.session_factory() as session:
            svc.keyring.check_master_key(session)
    except KeyMaterialError as exc:  # our own wording, never key material
        return [str(exc)]
    except Exception as exc:  # any driver error: the message may name hosts, keep it out
        return [f"the database cannot be reached ({type(exc).__name__})"]
    finally:
        # The workers build their own engines; nothing of this one may cross the fork.
        svc.engine.dispose()
    return []


def _gunicorn_application(options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    from app import gunicorn_conf

    class VeiviserServer(BaseApplication):  # type: ignore[misc]
        """Settings from app/gunicorn_conf.py, then the command line's."""

        def load_config(self) -> None:
            settings = {
                name: value
                for name, value in vars(gunicorn_conf).items()
                if name in self.cfg.settings and value is not None
            }
            settings.update({k: v for k, v in options.items() if v is not None})
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            # Runs in each worker (preload_app is off): its own engine and key ring.
            from app import create_app

            return create_app()

    return VeiviserServer(prog="veiviser serve")


@click.command(
    "serve",
    help=(
        "Serve Veiviser in production under gunicorn. Refuses demo settings, debug or "
        "testing mode, insecure cookies, MFA off and (without --allow-sqlite) SQLite."
    ),
)
@click.option(
    "--bind", default=None, help="Address to listen on [VEIVISER_BIND or 127.0.0.1:8000]."
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="Worker processes [VEIVISER_WORKERS or 2 × cores + 1, at most 8].",
)
@click.option(
    "--allow-sqlite",
    is_flag=True,
    help="Accept a SQLite database: a single host, few users, backups of one file.",
)
def serve(bind: str | None, workers: int | None, allow_sqlite: bool) -> None:
    from app import create_app
    from models.crypto import KeyMaterialError

    # Set before the app is built, so the workers (which inherit the environment) log JSON.
    os.environ.setdefault("VEIVISER_LOG_FORMAT", "json")
    try:
        from app import gunicorn_conf  # noqa: F401 - reads VEIVISER_WORKERS etc.; may refuse

        app = create_app()
    except (ConfigurationError, KeyMaterialError, RuntimeError) as exc:
        _refuse([str(exc)])
        return
    problems = production_problems(app.config, Path(app.instance_path), allow_sqlite=allow_sqlite)
    problems.extend(database_problems(app))
    if problems:
        _refuse(problems)
        return
    _gunicorn_application({"bind": bind, "workers": workers}).run()


def _refuse(problems: list[str]) -> None:
    click.echo("Veiviser will not serve:", err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(EXIT_REFUSED)
