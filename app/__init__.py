"""Veiviser's composition root: `create_app()` wires config, database, keys, security and views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as app_config
from app.config import PROJECT_ROOT, ConfigurationError

__all__ = ["ConfigurationError", "create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app. Raises ConfigurationError when secrets or keys are missing."""
    app = Flask(
        __name__,
        instance_path=app_config.instance_path(),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )
    app_config.load(app, test_config)
    app_config.validate(app)

    from app import errors, i18n, logs, security
    from app.database import Services, close_db
    from models import accounts
    from models.crypto import KeyRing, load_master_key
    from models.database import make_engine, make_session_factory

    keyring = KeyRing(
        load_master_key(app.config["MASTER_KEY_FILE"], app.config["MASTER_KEY"]),
        deployment_id=app.config["DEPLOYMENT_ID"],
        blind_index_bits=app.config["BLIND_INDEX_BITS"],
        active_key_ttl=app.config["ACTIVE_KEY_TTL_SECONDS"],
    )
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["veiviser"] = Services(engine, keyring, make_session_factory(engine, keyring))
    app.teardown_appcontext(close_db)
    accounts.configure_password_hashing(
        PasswordHasher(
            time_cost=app.config["PASSWORD_HASH_TIME_COST"],
            memory_cost=app.config["PASSWORD_HASH_MEMORY_KIB"],
            parallelism=app.config["PASSWORD_HASH_PARALLELISM"],
        )
    )

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)
    i18n.init_app(app)
    logs.init_app(app)  # before security: its gate may answer a request itself
    security.init_app(app)
    errors.init_app(app)

    from app import cli
    from views import (
        admin,
        auth,
        decisions,
        employers,
        exports,
        followups,
        housing,
        language,
        main,
        nir,
        outcomes,
        participants,
        placements,
        plans,
        tasks,
        unit,
    )

    cli.register(app)
    for blueprint in (
        main.bp,
        auth.bp,
        admin.bp,
        participants.bp,
        plans.bp,
        followups.bp,
        decisions.bp,
        tasks.bp,
        language.bp,
        housing.bp,
        housing.overview_bp,
        placements.bp,
        employers.bp,
        unit.bp,
        outcomes.bp,
        nir.bp,
        exports.bp,
    ):
        app.register_blueprint(blueprint)
    return app
