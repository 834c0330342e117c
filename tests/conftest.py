"""Test harness: one database per run, one rolled-back transaction per test, cheap hashing.

The suite runs on SQLite by default and on PostgreSQL when VEIVISER_TEST_DATABASE_URL
is set; on PostgreSQL each run gets a fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.database import services
from app.migrate import bootstrap, upgrade
from models import sessions as server_sessions
from models.accounts import Membership, Role, Unit, UnitKind, User, hash_password
from models.base import local_today, utcnow

PASSWORD = "lilla ekorn hopper over gjerdet"
TEST_DATABASE_URL = os.environ.get("VEIVISER_TEST_DATABASE_URL")
CSRF_PATTERN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def is_postgres() -> bool:
    return bool(TEST_DATABASE_URL)


def _fresh_database(tmp: Path, name: str) -> tuple[str, Callable[[], None]]:
    """A URL to an empty database and a function that removes it."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp / (name + '.db')}", lambda: None
    schema = f"t_{name}_{secrets.token_hex(4)}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    url = f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{schema}"

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def config_for(url: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-" + secrets.token_hex(8),
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DATABASE_URL": url,
        "DEPLOYMENT_ID": "test",
        "SESSION_COOKIE_SECURE": False,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8,
        "PASSWORD_HASH_PARALLELISM": 1,
        "REQUIRE_MFA": True,
        "ACTIVE_KEY_TTL_SECONDS": 0.0,
        "KEY_RETIRE_GRACE_SECONDS": 0.0,
        "PAGE_SIZE": 10,
        # A background thread would not share the test's rolled-back connection.
        "EXPORT_IN_BACKGROUND": False,
    }
    config.update(overrides)
    return config


def build_app(url: str, **overrides: Any) -> Flask:
    """A migrated, bootstrapped app on `url` (its own keys)."""
    app = create_app(config_for(url, **overrides))
    with app.app_context():
        svc = services(app)
        upgrade(svc.engine)
        with svc.session_factory() as session:
            bootstrap(session, svc.keyring)
            session.commit()
    return app


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    os.environ["VEIVISER_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, drop = _fresh_database(tmp_path_factory.mktemp("db"), "main")
    yield url
    drop()


@pytest.fixture(scope="session")
def app(instance_dir: Path, database_url: str) -> Iterator[Flask]:
    application = build_app(database_url)
    yield application
    services(application).engine.dispose()


@pytest.fixture
def connection(app: Flask) -> Iterator[Any]:
    """Every session of the test — the app's and the test's — joins one transaction
    that is rolled back afterwards; commits inside become savepoint releases."""
    svc = services(app)
    conn = svc.engine.connect()
    outer = conn.begin()
    original = svc.session_factory
    svc.session_factory = sessionmaker(
        bind=conn,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info={"keyring": svc.keyring},
    )
    yield conn
    svc.session_factory = original
    outer.rollback()
    conn.close()


@pytest.fixture
def db_session(app: Flask, connection: Any) -> Iterator[Session]:
    session = services(app).session_factory()
    yield session
    session.close()


@pytest.fixture
def client(app: Flask, connection: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_unit(db_session: Session) -> Callable[..., Unit]:
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, kind: UnitKind = UnitKind.REFUGEE_SERVICE) -> Unit:
        unit = Unit(name=name or f"Enhet {next(counter)} {secrets.token_hex(2)}", kind=kind)
        db_session.add(unit)
        db_session.commit()
        return unit

    return make


@pytest.fixture
def make_user(db_session: Session, make_unit: Callable[..., Unit]) -> Callable[..., User]:
    def make(
        role: Role | str | None = Role.ADVISOR,
        unit: Unit | None = None,
        *,
        email: str | None = None,
        password: str = PASSWORD,
        mfa: bool = False,
        active: bool = True,
        name: str = "Test Person",
        locale: str | None = None,
    ) -> User:
        user = User(
            email=email or f"user-{secrets.token_hex(4)}@example.org",
            display_name=name,
            password_hash=hash_password(password),
            is_active=active,
            locale=locale,
        )
        db_session.add(user)
        db_session.flush()
        if role is not None:
            unit = unit or make_unit()
            user.memberships.append(Membership(unit=unit, unit_id=unit.id, role=Role(role)))
        if mfa:
            user.totp_secret = pyotp.random_base32()
            user.mfa_enrolled_at = utcnow()
        db_session.commit()
        return user

    return make


@pytest.fixture
def make_participant(db_session: Session, make_unit: Callable[..., Unit]) -> Callable[..., Any]:
    """A participant written straight through the model (the form has its own tests)."""
    from datetime import date

    from models.codes import PermitCategory
    from models.participants import Participant, fold_name, refresh_deadlines

    counter = iter(range(1, 100_000))

    def make(
        *,
        unit: Unit | None = None,
        advisor: User | None = None,
        secondary: User | None = None,
        given_name: str = "Amina",
        family_name: str | None = None,
        settlement_on: date | None = date(2026, 6, 1),
        **fields: Any,
    ) -> Participant:
        unit = unit or make_unit()
        family_name = family_name or f"Hassan{next(counter)}"
        participant = Participant(
            unit_id=unit.id,
            primary_advisor_id=advisor.id if advisor else None,
            secondary_advisor_id=secondary.id if secondary else None,
            permit_category=fields.pop("permit_category", PermitCategory.NO_REFUGEE),
            settlement_on=settlement_on,
            arrival_on=fields.pop("arrival_on", date(2026, 1, 15)),
            **fields,
        )
        participant.given_name = given_name
        participant.family_name = family_name
        participant.birth_date_text = "1990-05-17"
        participant.search_name = fold_name(f"{given_name} {family_name}")
        db_session.add(participant)
        db_session.flush()
        refresh_deadlines(participant, local_today())
        db_session.commit()
        return participant

    return make


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on `path` (for the client's current session)."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_PATTERN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: FlaskClient, user: User, db_session: Session) -> None:
    """Give `client` a live session for `user` without the login form (that has its own tests)."""
    token = server_sessions.new_token()
    server_sessions.create(
        db_session, token, {"_user_id": str(user.id), "_fresh": True}, user.id, utcnow()
    )
    db_session.commit()
    client.set_cookie("veiviser_session", token)


def post_form(
    client: FlaskClient,
    path: str,
    data: dict[str, Any] | None = None,
    token_from: str | None = None,
) -> Any:
    """POST like a browser: with the CSRF token of the page the form is on."""
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token(client, token_from or path)
    return client.post(path, data=payload)


@pytest.fixture
def login_as(client: FlaskClient, db_session: Session) -> Callable[[User], FlaskClient]:
    def login(user: User) -> FlaskClient:
        log_in(client, user, db_session)
        return client

    return login


@pytest.fixture
def url_for_endpoint(
    app: Flask,
    db_session: Session,
    make_user: Callable[..., User],
    make_unit: Callable[..., Unit],
    make_participant: Callable[..., Any],
) -> Callable[[str], str]:
    """A URL for any endpoint, with its arguments pointing at real objects of this test.

    A second admin exists, so the admin under test may be disabled without leaving the
    system unadministrable.
    """
    from flask import url_for

    from models.access import BreakGlassGrant, Consent

    unit = make_unit()
    target = make_user("advisor", unit, mfa=True)
    make_user("admin", unit)
    owner = make_user("advisor", unit)
    participant = make_participant(unit=unit, advisor=owner)
    partner_unit = make_unit()
    consent = Consent(
        participant_id=participant.id,
        partner_unit_id=partner_unit.id,
        sections="plan",
        valid_from=local_today(),
    )
    grant = BreakGlassGrant(
        user_id=owner.id,
        participant_id=participant.id,
        unit_id=unit.id,
        role="advisor",
        expires_at=utcnow(),
    )
    db_session.add_all([consent, grant])
    db_session.commit()
    values = {
        "ref": target.ref,
        "unit_id": unit.id,
        "membership_id": target.memberships[0].id,
        "filename": "veiviser.css",
        "consent_id": consent.id,
        "grant_ref": grant.ref,
        "override_ref": "no-such-override",
        # Endpoints of later modules name their objects with these two arguments only.
        "item_ref": "no-such-item",
        "number": 1,
    }

    def build(endpoint: str) -> str:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        arguments = dict(values)
        if rule.rule.startswith("/participants/"):
            arguments["ref"] = participant.ref
        with app.test_request_context():
            return url_for(endpoint, **{arg: arguments[arg] for arg in rule.arguments})

    build.unit = unit  # type: ignore[attr-defined]
    build.participant = participant  # type: ignore[attr-defined]
    return build


def norwegian_id(birth: Any, start: int = 100) -> str:
    """A valid fødselsnummer for `birth` (1900–1999: individual numbers 000–499)."""
    w1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
    w2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    for individual in range(start, 500):
        base = [int(c) for c in f"{birth:%d%m%y}{individual:03d}"]
        k1 = (11 - sum(w * d for w, d in zip(w1, base, strict=True)) % 11) % 11
        if k1 == 10:
            continue
        k2 = (11 - sum(w * d for w, d in zip(w2, [*base, k1], strict=True)) % 11) % 11
        if k2 == 10:
            continue
        return "".join(map(str, [*base, k1, k2]))
    raise ValueError("no individual number left")
