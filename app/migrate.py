"""Schema migrations (Alembic) and the one-time bootstrap of keys and the audit chain."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.audit import ensure_chain_head
from models.crypto import KeyPurpose, KeyRing

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """Alembic's configuration; migrations always run on a connection we hand in."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def bootstrap(session: Session, keyring: KeyRing) -> list[KeyPurpose]:
    """Create missing data keys and the audit chain head; safe to run again. Caller commits."""
    created = keyring.ensure_data_keys(session)
    session.flush()
    keyring.check_master_key(session)
    ensure_chain_head(session)
    return created
