"""The schema built by Alembic equals the models' metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.database import services
from app.migrate import current_revision, head_revision
from models.base import Base
from tests.conftest import _fresh_database, build_app


def test_alembic_head_matches_models(instance_dir: Path, tmp_path: Path) -> None:
    """Does migrating an empty database to head give exactly the models' schema? Yes."""
    url, drop = _fresh_database(tmp_path, "migrations")
    app = build_app(url)
    engine = services(app).engine
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff: list[Any] = compare_metadata(context, Base.metadata)
        assert diff == [], diff
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()
        drop()


def test_upgrade_is_idempotent(instance_dir: Path, tmp_path: Path) -> None:
    """Can `db upgrade` run twice without harm (and without new keys)? Yes."""
    from sqlalchemy import func, select

    from app.migrate import bootstrap, upgrade
    from models.crypto import DataKey

    url, drop = _fresh_database(tmp_path, "idempotent")
    app = build_app(url)
    svc = services(app)
    try:
        upgrade(svc.engine)
        with svc.session_factory() as session:
            assert bootstrap(session, svc.keyring) == []
            session.commit()
            assert session.scalar(select(func.count()).select_from(DataKey)) == 3
    finally:
        svc.engine.dispose()
        drop()
