"""Configuration layers, refusing to start without secrets, and the `veiviser` commands."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from app import ConfigurationError, create_app
from app.cli import cli
from models.accounts import Role, Unit, User
from tests.conftest import PASSWORD, _fresh_database, config_for, is_postgres


def invoke(app: Flask, args: list[str], input: str | None = None) -> Any:
    return CliRunner().invoke(cli, args, input=input, obj=ScriptInfo(create_app=lambda: app))


def test_refuses_to_start_without_secret_key(database_url: str) -> None:
    """Does the app refuse to start without a secret key, saying what is missing? Yes."""
    config = config_for(database_url)
    config["SECRET_KEY"] = None
    with pytest.raises(ConfigurationError, match="secret key"):
        create_app(config)


def test_refuses_to_start_without_master_key(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does the app refuse to start without a master key (and invent none)? Yes."""
    monkeypatch.setenv("VEIVISER_INSTANCE_PATH", str(tmp_path))
    config = config_for(database_url)
    config["MASTER_KEY"] = None
    with pytest.raises(ConfigurationError, match="master key"):
        create_app(config)
    assert not (tmp_path / "master.key").exists()


def test_environment_overrides_instance_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """Defaults, then instance/config.py, then VEIVISER_* environment, then test overrides."""
    (tmp_path / "config.py").write_text('SECRET_KEY = "from-file"\nSESSION_IDLE_MINUTES = 20\n')
    monkeypatch.setenv("VEIVISER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("VEIVISER_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("VEIVISER_REQUIRE_MFA", "off")
    config = config_for(database_url)
    del config["SECRET_KEY"], config["REQUIRE_MFA"]
    app = create_app(config)
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["SESSION_IDLE_MINUTES"] == 15
    assert app.config["REQUIRE_MFA"] is False
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 10  # the default


def test_bad_environment_value_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """Is VEIVISER_REQUIRE_MFA=maybe refused with a message? Yes."""
    monkeypatch.setenv("VEIVISER_REQUIRE_MFA", "maybe")
    config = config_for(database_url)
    del config["REQUIRE_MFA"]
    with pytest.raises(ConfigurationError, match="yes/no"):
        create_app(config)


@pytest.mark.parametrize(("raw", "expected"), [("9", 9), ("", None)])
def test_rule_overrides_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, raw: str, expected: int | None
) -> None:
    """Is VEIVISER_PLAN_REVIEW_MONTHS read as a whole number (empty: the rule set's)? Yes."""
    monkeypatch.setenv("VEIVISER_PLAN_REVIEW_MONTHS", raw)
    app = create_app(config_for(database_url))
    assert app.config["PLAN_REVIEW_MONTHS"] == expected
    assert app.config["LESSON_PROGRAMME_MINUTES"] is None


@pytest.mark.parametrize("raw", ["six", "0", "-3"])
def test_bad_rule_override_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, database_url: str, raw: str
) -> None:
    """Is VEIVISER_LESSON_PROGRAMME_MINUTES=six (or 0) refused at start? Yes."""
    monkeypatch.setenv("VEIVISER_LESSON_PROGRAMME_MINUTES", raw)
    with pytest.raises(ConfigurationError, match="LESSON_PROGRAMME_MINUTES"):
        create_app(config_for(database_url))


def test_mfa_is_required_by_default() -> None:
    """Is MFA on unless someone turns it off? Yes."""
    from app.config import DEFAULTS

    assert DEFAULTS["REQUIRE_MFA"] is True


def test_unit_and_user_commands(app: Flask, db_session: Any, connection: Any) -> None:
    """`unit create`, `user create --password-stdin`, `user disable`: do they work? Yes."""
    result = invoke(
        app, ["unit", "create", "--name", "Flyktningkontoret", "--kind", "refugee_service"]
    )
    assert result.exit_code == 0, result.output
    result = invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "ola@example.org",
            "--name",
            "Ola Nordmann",
            "--role",
            "advisor",
            "--unit",
            "Flyktningkontoret",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    user = db_session.scalar(select(User).where(User.email == "ola@example.org"))
    unit = db_session.scalar(select(Unit).where(Unit.name == "Flyktningkontoret"))
    assert user is not None and user.has_role(Role.ADVISOR, unit.id)
    result = invoke(app, ["user", "disable", "--email", "OLA@example.org"])
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert not db_session.get(User, user.id).is_active


def test_user_create_refuses_a_weak_password(app: Flask, connection: Any, make_unit: Any) -> None:
    """Does the CLI apply the password rules and exit 1 with the reason? Yes."""
    unit = make_unit()
    result = invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--role",
            "admin",
            "--unit",
            unit.name,
            "--password-stdin",
        ],
        input="password1234\n",
    )
    assert result.exit_code == 1
    assert "guess" in result.output


def test_user_create_needs_an_existing_unit(app: Flask, connection: Any) -> None:
    """Does `user create` with an unknown unit fail with a clear message? Yes."""
    result = invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "y@example.org",
            "--name",
            "Y",
            "--role",
            "admin",
            "--unit",
            "Finnes ikke",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert "No unit named" in result.output


def test_user_create_prompts_for_the_password(app: Flask, connection: Any, make_unit: Any) -> None:
    """Without --password-stdin, is the password asked for twice, hidden? Yes."""
    unit = make_unit()
    result = invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "z@example.org",
            "--name",
            "Z",
            "--role",
            "teacher",
            "--unit",
            unit.name,
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_help_works_without_configuration(tmp_path: Path) -> None:
    """On a fresh machine, does `veiviser --help` list the commands without any setup? Yes."""
    env = {**os.environ, "VEIVISER_INSTANCE_PATH": str(tmp_path / "empty")}
    for key in ("VEIVISER_SECRET_KEY", "VEIVISER_MASTER_KEY", "VEIVISER_MASTER_KEY_FILE"):
        env.pop(key, None)
    out = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for command in ("demo", "db", "user", "unit", "keys", "audit"):
        assert command in out.stdout
    assert "Traceback" not in out.stderr


def test_unconfigured_command_explains_itself(tmp_path: Path) -> None:
    """`veiviser db upgrade` before any setup: a clear message, no traceback? Yes."""
    env = {**os.environ, "VEIVISER_INSTANCE_PATH": str(tmp_path / "empty")}
    for key in ("VEIVISER_SECRET_KEY", "VEIVISER_MASTER_KEY", "VEIVISER_MASTER_KEY_FILE"):
        env.pop(key, None)
    out = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode != 0
    assert "veiviser demo" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.skipif(is_postgres(), reason="the demo runs on SQLite only")
def test_demo_sets_up_an_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`veiviser demo`: config, 0600 key, SQLite database, one login per role, MFA off; a
    second run keeps the data, `--reset` starts over."""
    folder = tmp_path / "demo-instance"
    monkeypatch.setenv("VEIVISER_INSTANCE_PATH", str(folder))
    monkeypatch.delenv("VEIVISER_DATABASE_URL", raising=False)
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--no-serve", "--password", PASSWORD])
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE((folder / "master.key").stat().st_mode) == 0o600
    assert (folder / "config.py").exists() and (folder / "veiviser.db").exists()
    assert "MFA" in first.output and "OFF" in first.output
    assert "http://127.0.0.1:5000/login" in first.output
    for role in ("advisor", "teacher", "leader", "admin", "partner"):
        assert f"{role}@demo.veiviser.no" in first.output

    app = create_app({"DEMO": True, "REQUIRE_MFA": False, "SESSION_COOKIE_SECURE": False})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": "leader@demo.veiviser.no", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    app.extensions["veiviser"].engine.dispose()

    marker = runner.invoke(cli, ["unit", "create", "--name", "Kept between runs"])
    assert marker.exit_code == 0, marker.output
    second = runner.invoke(cli, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert PASSWORD not in second.output  # fresh random passwords were printed instead
    kept = runner.invoke(cli, ["unit", "create", "--name", "Kept between runs"])
    assert kept.exit_code == 1 and "already exists" in kept.output
    reset = runner.invoke(cli, ["demo", "--no-serve", "--reset"])
    assert reset.exit_code == 0, reset.output
    again = runner.invoke(cli, ["unit", "create", "--name", "Kept between runs"])
    assert again.exit_code == 0, again.output


def test_db_upgrade_command(instance_dir: Path, tmp_path: Path) -> None:
    """Does `veiviser db upgrade` migrate a fresh database and create the keys? Yes."""
    url, drop = _fresh_database(tmp_path, "upgrade_cmd")
    app = create_app(config_for(url))
    try:
        result = invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "Created the field data key" in result.output
        assert invoke(app, ["db", "upgrade"]).exit_code == 0
        assert invoke(app, ["audit", "verify"]).exit_code == 0
    finally:
        app.extensions["veiviser"].engine.dispose()
        drop()


def test_healthz_reports_without_details(client: Any) -> None:
    """Does /healthz say ok and nothing more? Yes."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"


@pytest.mark.skipif(is_postgres(), reason="the demo runs on SQLite only")
def test_demo_command_serves_the_login_page(tmp_path: Path) -> None:
    """Does `veiviser demo` as a real process serve the login page where it says? Yes."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "VEIVISER_INSTANCE_PATH": str(tmp_path / "served")}
    env.pop("VEIVISER_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from app.cli import main; main()",
            "demo",
            "--port",
            str(port),
            "--password",
            PASSWORD,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as answer:
                    status = answer.status
                    page = answer.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert process.poll() is None, "the demo exited instead of serving"
        assert status == 200
        assert 'name="email"' in page
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert f"http://127.0.0.1:{port}/login" in output
