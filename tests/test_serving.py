"""Production serving: the checks of `veiviser serve`, gunicorn's settings, /healthz,
JSON logs with a request id and without personal data."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Config, Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import ConfigurationError, create_app, logs
from app.database import services
from app.demo import ensure_instance
from app.serve import EXIT_REFUSED, production_problems
from models.accounts import User
from tests.conftest import _fresh_database, build_app, config_for, log_in, post_form

CANARY = "Kanarifuglsen"


def production_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "MASTER_KEY_FILE": None,
        "DEPLOYMENT_ID": "lillestrom",
        "DATABASE_URL": "postgresql+psycopg://veiviser@db.internal/veiviser",
        "DEMO": False,
        "DEBUG": False,
        "TESTING": False,
        "SESSION_COOKIE_SECURE": True,
        "REQUIRE_MFA": True,
    }
    config.update(overrides)
    return config


# -- the serve check ---------------------------------------------------------------


def test_production_like_config_is_accepted(tmp_path: Path) -> None:
    """Does a PostgreSQL config with its own strong keys pass the check? Yes."""
    assert production_problems(production_config(), tmp_path) == []


def test_serve_refuses_the_demos_keys(tmp_path: Path) -> None:
    """Does the check recognise the secret key, master key and deployment id the demo
    wrote, even when the database is PostgreSQL? Yes, each by name."""
    ensure_instance(tmp_path)
    demo = Config(str(tmp_path))
    demo.from_pyfile("config.py")
    config = production_config(
        SECRET_KEY=demo["SECRET_KEY"],
        DEPLOYMENT_ID=demo["DEPLOYMENT_ID"],
        MASTER_KEY=None,
        MASTER_KEY_FILE=str(tmp_path / "master.key"),
    )
    problems = production_problems(config, tmp_path)
    assert f"the secret key is the demo's ({tmp_path / 'config.py'})" in problems
    assert f"the master key is the demo's ({tmp_path / 'master.key'})" in problems
    assert "the deployment id is the demo's (DEPLOYMENT_ID)" in problems


def test_serve_refuses_demo_mode_and_its_relaxations(tmp_path: Path) -> None:
    """Does the check refuse the demo's switches (DEMO, MFA off, insecure cookies)? Yes."""
    config = production_config(DEMO=True, REQUIRE_MFA=False, SESSION_COOKIE_SECURE=False)
    assert production_problems(config, tmp_path) == [
        "demo mode is on (DEMO)",
        "session cookies are not marked Secure (SESSION_COOKIE_SECURE)",
        "two-step login is off (REQUIRE_MFA)",
    ]


def test_serve_refuses_sqlite_unless_allowed(tmp_path: Path) -> None:
    """Is SQLite refused, and accepted with --allow-sqlite? Yes."""
    config = production_config(DATABASE_URL=f"sqlite:///{tmp_path / 'v.db'}")
    assert production_problems(config, tmp_path) == [
        "the database is SQLite: set VEIVISER_DATABASE_URL to PostgreSQL, or pass "
        "--allow-sqlite for a single-host installation"
    ]
    assert production_problems(config, tmp_path, allow_sqlite=True) == []


@pytest.mark.parametrize(
    ("setting", "message"),
    [("DEBUG", "debug mode is on (DEBUG)"), ("TESTING", "testing mode is on (TESTING)")],
)
def test_serve_refuses_debug_and_testing(tmp_path: Path, setting: str, message: str) -> None:
    """Is debug or testing mode refused? Yes, with its name."""
    assert production_problems(production_config(**{setting: True}), tmp_path) == [message]


def test_serve_refuses_weak_secret_and_unloadable_master_key(tmp_path: Path) -> None:
    """A short secret key and a master key file that is not there: both named? Yes."""
    config = production_config(
        SECRET_KEY="short", MASTER_KEY=None, MASTER_KEY_FILE=str(tmp_path / "none.key")
    )
    assert production_problems(config, tmp_path) == [
        "the secret key is shorter than 32 characters",
        "the master key cannot be loaded (VEIVISER_MASTER_KEY_FILE)",
    ]


@pytest.fixture
def serve_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty instance folder and no VEIVISER_* settings that would leak from outside."""
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("VEIVISER_INSTANCE_PATH", str(folder))
    # `serve` defaults the log format to JSON for its workers; keep this process plain.
    monkeypatch.setenv("VEIVISER_LOG_FORMAT", "text")
    for name in ("SECRET_KEY", "MASTER_KEY", "MASTER_KEY_FILE", "DATABASE_URL", "DEMO"):
        monkeypatch.delenv("VEIVISER_" + name, raising=False)
    return folder


def _never_started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    started: list[dict[str, Any]] = []

    class FakeServer:
        def __init__(self, options: dict[str, Any]) -> None:
            started.append(options)

        def run(self) -> None:
            pass

    monkeypatch.setattr("app.serve._gunicorn_application", FakeServer)
    return started


def test_serve_command_without_configuration_exits_2(
    serve_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does `veiviser serve` without any configuration stop with status 2 and say why,
    before starting anything? Yes."""
    from app.cli import cli

    started = _never_started(monkeypatch)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == EXIT_REFUSED
    assert "Veiviser will not serve:" in result.output
    assert "a secret key" in result.output
    assert started == []


def test_serve_command_refuses_the_demo_installation(
    serve_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does `veiviser serve` on the folder `veiviser demo` wrote refuse, naming the demo's
    keys and SQLite? Yes, exit 2 and nothing started."""
    from app.cli import cli

    ensure_instance(serve_env)
    started = _never_started(monkeypatch)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == EXIT_REFUSED, result.output
    assert "the secret key is the demo's" in result.output
    assert "the master key is the demo's" in result.output
    assert "the database is SQLite" in result.output
    assert started == []


def test_serve_command_starts_gunicorn_with_a_sound_configuration(
    serve_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With production keys and a migrated database (SQLite allowed explicitly), does
    `veiviser serve` hand --bind and --workers to gunicorn? Yes."""
    from app.cli import cli

    url, drop = _fresh_database(tmp_path, "serve_ok")
    migrated = build_app(url)
    services(migrated).engine.dispose()
    try:
        monkeypatch.setenv("VEIVISER_SECRET_KEY", migrated.config["SECRET_KEY"] * 2)
        monkeypatch.setenv("VEIVISER_MASTER_KEY", migrated.config["MASTER_KEY"])
        monkeypatch.setenv("VEIVISER_DATABASE_URL", url)
        started = _never_started(monkeypatch)
        args = ["serve", "--bind", "127.0.0.1:9", "--workers", "3", "--allow-sqlite"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert started == [{"bind": "127.0.0.1:9", "workers": 3}]
    finally:
        drop()


def test_serve_command_refuses_an_unmigrated_database(
    serve_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Is a database without the schema refused before any worker starts? Yes."""
    from app.cli import cli

    url, drop = _fresh_database(tmp_path, "serve_empty")
    try:
        monkeypatch.setenv("VEIVISER_SECRET_KEY", secrets.token_urlsafe(48))
        monkeypatch.setenv(
            "VEIVISER_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode()
        )
        monkeypatch.setenv("VEIVISER_DATABASE_URL", url)
        started = _never_started(monkeypatch)
        result = CliRunner().invoke(cli, ["serve", "--allow-sqlite"])
        assert result.exit_code == EXIT_REFUSED, result.output
        assert "run `veiviser db upgrade`" in result.output
        assert started == []
    finally:
        drop()


def test_serve_command_refuses_a_master_key_that_does_not_fit(
    serve_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A migrated database whose data keys were wrapped under another master key: is
    serving refused without printing either key? Yes."""
    from app.cli import cli

    url, drop = _fresh_database(tmp_path, "serve_wrong_key")
    migrated = build_app(url)
    services(migrated).engine.dispose()
    wrong_key = base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        monkeypatch.setenv("VEIVISER_SECRET_KEY", secrets.token_urlsafe(48))
        monkeypatch.setenv("VEIVISER_MASTER_KEY", wrong_key)
        monkeypatch.setenv("VEIVISER_DATABASE_URL", url)
        started = _never_started(monkeypatch)
        result = CliRunner().invoke(cli, ["serve", "--allow-sqlite"])
        assert result.exit_code == EXIT_REFUSED, result.output
        assert "the master key does not match the data keys in this database" in result.output
        assert wrong_key not in result.output
        assert migrated.config["MASTER_KEY"] not in result.output
        assert started == []
    finally:
        drop()


# -- gunicorn's settings -------------------------------------------------------------


def test_gunicorn_settings_come_from_the_project_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Are the project's settings loaded, with the command line winning over the
    environment, and no preloading? Yes."""
    import importlib

    from app import gunicorn_conf
    from app.serve import _gunicorn_application

    monkeypatch.setenv("VEIVISER_THREADS", "4")
    monkeypatch.setenv("VEIVISER_WORKERS", "5")
    monkeypatch.setenv("VEIVISER_FORWARDED_ALLOW_IPS", "10.0.0.2")
    importlib.reload(gunicorn_conf)
    try:
        server = _gunicorn_application({"bind": "127.0.0.1:9", "workers": None})
        cfg = server.cfg
        assert cfg.bind == ["127.0.0.1:9"]
        assert cfg.workers == 5
        assert cfg.threads == 4
        assert cfg.worker_class_str == "gthread"
        assert cfg.preload_app is False
        assert cfg.max_requests == 1000 and cfg.max_requests_jitter == 100
        assert cfg.forwarded_allow_ips == ["10.0.0.2"]
        assert cfg.logger_class is gunicorn_conf.GunicornLogger
        assert cfg.post_worker_init is gunicorn_conf.post_worker_init
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)
    assert 3 <= gunicorn_conf.default_workers() <= 8


def test_worker_start_freezes_the_loaded_app_for_the_garbage_collector() -> None:
    """After a worker has loaded the app, are its objects out of the collector's scans
    (gc.freeze)? Yes: the frozen count grows to cover them."""
    import gc

    from app.gunicorn_conf import post_worker_init

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000  # at least the imported app and libraries
    finally:
        gc.unfreeze()


def test_gunicorn_bad_worker_count_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is VEIVISER_WORKERS=abc named as the problem? Yes."""
    import importlib

    from app import gunicorn_conf

    monkeypatch.setenv("VEIVISER_WORKERS", "abc")
    try:
        with pytest.raises(RuntimeError, match="VEIVISER_WORKERS must be a whole number"):
            importlib.reload(gunicorn_conf)
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)


def test_gunicorn_access_line_is_json_without_the_query(capsys: pytest.CaptureFixture[str]) -> None:
    """Does gunicorn's access line come out as JSON with the path but not the query
    string, and with the response's request id? Yes."""
    from gunicorn.config import Config as GunicornConfig  # type: ignore[import-untyped]

    from app.gunicorn_conf import GunicornLogger

    cfg = GunicornConfig()
    cfg.set("accesslog", "-")
    logger = GunicornLogger(cfg)

    class Resp:
        status = "200 OK"
        headers = (("Content-Type", "text/html"), ("X-Request-ID", "abcdef0123456789"))
        sent = 10

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/participants/",
        "QUERY_STRING": f"q={CANARY}",
        "RAW_URI": f"/participants/?q={CANARY}",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    logger.access(Resp(), {}, environ, timedelta(milliseconds=12))
    out = capsys.readouterr().out.strip()
    assert CANARY not in out
    line = json.loads(out)
    assert line["path"] == "/participants/"
    assert line["status"] == 200
    assert line["request_id"] == "abcdef0123456789"
    assert line["duration_ms"] == 12.0


# -- /healthz ------------------------------------------------------------------------


def test_healthz_ok(client: FlaskClient) -> None:
    """Does /healthz answer a plain "ok" and nothing more when all is well? Yes."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    assert response.mimetype == "text/plain"


def test_healthz_database_down(instance_dir: Path, tmp_path: Path, caplog: Any) -> None:
    """With the database unreachable: 503 "unavailable", details only in the log? Yes."""
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'v.db'}"
    broken = create_app(config_for(url))
    with caplog.at_level(logging.ERROR, logger="veiviser.health"):
        response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "unavailable"
    assert "health check failed at database: OperationalError" in caplog.text
    assert "no-such-folder" not in caplog.text


def test_healthz_keys_unloadable(instance_dir: Path, tmp_path: Path, caplog: Any) -> None:
    """With a master key that does not open the database's data keys: 503, and the
    log says the keys failed without any key material? Yes."""
    url, drop = _fresh_database(tmp_path, "health_keys")
    good = build_app(url)
    wrong_key = base64.b64encode(secrets.token_bytes(32)).decode()
    wrong = create_app(config_for(url, MASTER_KEY=wrong_key))
    try:
        with caplog.at_level(logging.ERROR, logger="veiviser.health"):
            response = wrong.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_data(as_text=True) == "unavailable"
        assert "health check failed at keys: the master key does not match" in caplog.text
        for key in (wrong_key, good.config["MASTER_KEY"]):
            assert key not in caplog.text
        assert good.test_client().get("/healthz").status_code == 200
    finally:
        services(good).engine.dispose()
        services(wrong).engine.dispose()
        drop()


# -- request id and JSON logs -------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The production JSON handler on the root logger, writing into a buffer."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure_json(logging.DEBUG, stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_request_id_is_echoed_when_safe(client: FlaskClient) -> None:
    """Is a well-formed incoming X-Request-ID echoed back unchanged? Yes."""
    response = client.get("/login", headers={"X-Request-ID": "lb-7f3a9c2e-0001"})
    assert response.headers["X-Request-ID"] == "lb-7f3a9c2e-0001"


@pytest.mark.parametrize(
    "given", ["short", "has space in it", "x" * 41, "<script>alert(1)</script>", "a/b/c/d/e/f"]
)
def test_unsafe_request_id_is_replaced(client: FlaskClient, given: str) -> None:
    """Is an unsafe or over-long X-Request-ID replaced by a fresh one? Yes."""
    response = client.get("/login", headers={"X-Request-ID": given})
    echoed = response.headers["X-Request-ID"]
    assert echoed != given
    assert len(echoed) >= 16 and echoed.isalnum()


def test_log_lines_are_json_without_query_or_personal_data(
    client: FlaskClient,
    db_session: Session,
    make_user: Callable[..., User],
    make_participant: Callable[..., Any],
    json_log: io.StringIO,
) -> None:
    """A user named like the canary searches for a participant named like the canary,
    by query string and by form: do the log lines carry request id, method, path,
    status, duration and the numeric user id, and never the canary? Yes."""
    user = make_user("advisor", mfa=True, name=f"Ola {CANARY}", email=f"{CANARY}@example.org")
    make_participant(unit=user.memberships[0].unit, advisor=user, family_name=CANARY)
    log_in(client, user, db_session)
    got = client.get(f"/participants/?q={CANARY}", headers={"X-Request-ID": "trace-0000-1111"})
    assert got.status_code == 200
    assert post_form(client, "/participants/", {"q": CANARY}).status_code == 200
    logging.getLogger("veiviser").warning("something worth a line")

    text = json_log.getvalue()
    assert CANARY not in text and CANARY.lower() not in text.lower()
    lines = _lines(json_log)
    requests = [line for line in lines if line["logger"] == logs.REQUEST_LOGGER]
    first = next(line for line in requests if line.get("request_id") == "trace-0000-1111")
    assert first["method"] == "GET"
    assert first["path"] == "/participants/"
    assert first["status"] == 200
    assert first["user_id"] == user.id
    assert isinstance(first["duration_ms"], float)
    assert {"time", "level", "logger", "message"} <= first.keys()
    assert any(line["method"] == "POST" and line["status"] == 200 for line in requests)
    assert all(line.get("request_id") for line in requests)
    assert any(line["message"] == "something worth a line" for line in lines)


def test_logged_exception_keeps_its_type_but_not_its_message(json_log: io.StringIO) -> None:
    """An exception whose message quotes form input: is the type and stack logged and
    the message (with the input) left out? Yes."""
    try:
        raise ValueError(f"invalid input value for family_name: {CANARY}")
    except ValueError:
        logging.getLogger("veiviser").exception("saving failed")
    (line,) = _lines(json_log)
    assert line["message"] == "saving failed"
    assert line["exception"].startswith("ValueError\n")
    assert "test_logged_exception_keeps_its_type_but_not_its_message" in line["exception"]
    assert CANARY not in json_log.getvalue()


def test_unhandled_error_in_a_view_logs_no_input(
    app: Flask, client: FlaskClient, json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view that fails on a request carrying the canary, its exception quoting it:
    500 page, and the JSON error line has the request id and type but not the canary? Yes."""

    def explode() -> str:
        raise RuntimeError(f"boom while saving {CANARY}")

    monkeypatch.setitem(app.view_functions, "auth.login", explode)
    response = client.get(f"/login?email={CANARY}", headers={"X-Request-ID": "trace-err-0001"})
    assert response.status_code == 500
    assert CANARY not in json_log.getvalue()
    errors = [line for line in _lines(json_log) if line["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == "trace-err-0001"
    assert "unhandled RuntimeError" in errors[0]["message"]


def test_log_format_setting(instance_dir: Path, database_url: str) -> None:
    """Does LOG_FORMAT=json install the JSON handler, and an unknown format refuse to
    start? Yes."""
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        create_app(config_for(database_url, LOG_FORMAT="json"))
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and isinstance(added[0].formatter, logs.JsonFormatter)
        create_app(config_for(database_url, LOG_FORMAT="json"))
        assert len([h for h in root.handlers if h not in before]) == 1  # replaced, not doubled
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(level)
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        create_app(config_for(database_url, LOG_FORMAT="xml"))
