"""Login: the form contract, generic failures, per-account throttling, TOTP and enrolment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import select

from models import accounts
from models.accounts import FREE_LOGIN_FAILURES, User, verify_totp
from models.audit import AuditEvent
from models.base import utcnow
from models.errors import ValidationFailed
from tests.conftest import PASSWORD, csrf_token, post_form


def login(client: Any, email: str, password: str = PASSWORD, otp: str = "") -> Any:
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "otp": otp, "csrf_token": token}
    )


def code_for(user: User, when: Any = None) -> str:
    return pyotp.TOTP(user.totp_secret).at(when or utcnow())


def test_login_with_password_and_code_redirects_home(client: Any, make_user: Any) -> None:
    """Does a correct e-mail, password and code log in and redirect to /? Yes."""
    user = make_user("advisor", mfa=True)
    response = login(client, user.email, otp=code_for(user))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_page_has_the_contract_fields(client: Any) -> None:
    """Does the login form use the field names scripts rely on? Yes."""
    page = client.get("/login").get_data(as_text=True)
    for name in ('name="email"', 'name="password"', 'name="otp"', 'name="csrf_token"'):
        assert name in page


def test_email_is_case_insensitive(client: Any, make_user: Any) -> None:
    """Can a user log in with their e-mail in capitals? Yes."""
    user = make_user("advisor", mfa=True, email="kari.nordmann@example.org")
    assert login(client, "  Kari.Nordmann@Example.ORG", otp=code_for(user)).status_code == 302


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "missing code", "wrong code"])
def test_failed_login_says_nothing_specific(client: Any, make_user: Any, case: str) -> None:
    """Does a failed login reveal which part was wrong? No: one message for all."""
    user = make_user("advisor", mfa=True)
    email, password, otp = user.email, PASSWORD, code_for(user)
    if case == "wrong password":
        password = "dette er feil passord"
    elif case == "unknown email":
        email = "nobody@example.org"
    elif case == "missing code":
        otp = ""
    else:
        otp = "000000" if otp != "000000" else "111111"
    response = login(client, email, password, otp)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "error-summary" in text
    assert client.get("/").status_code == 302


def test_disabled_user_cannot_log_in(client: Any, make_user: Any) -> None:
    """Can a disabled user log in with the right password and code? No."""
    user = make_user("advisor", mfa=True, active=False)
    assert login(client, user.email, otp=code_for(user)).status_code == 400


def test_failed_and_successful_logins_are_audited(
    client: Any, db_session: Any, make_user: Any
) -> None:
    """Are failed and successful logins in the audit log, without the password? Yes."""
    user = make_user("advisor", mfa=True)
    login(client, user.email, "feil feil feil feil")
    login(client, user.email, otp=code_for(user))
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.object_ref == user.ref).order_by(AuditEvent.seq)
    ).all()
    assert [(e.action, e.outcome) for e in events] == [
        ("login.failed", "failed"),
        ("login", "success"),
    ]


def test_throttling_is_per_account(client: Any, app: Flask, make_user: Any) -> None:
    """After repeated failures on one account, is that account slowed down and another not? Yes."""
    victim = make_user("advisor", mfa=True)
    bystander = make_user("advisor", mfa=True)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        for _ in range(FREE_LOGIN_FAILURES):
            assert login(client, victim.email, "feil passord igjen").status_code == 400
        # Even the right password and code are refused while the account backs off…
        throttled = login(client, victim.email, otp=code_for(victim))
        assert throttled.status_code == 429
        assert throttled.headers.get("Retry-After")
        # …while everyone else logs in as usual.
        other = app.test_client()
        assert login(other, bystander.email, otp=code_for(bystander)).status_code == 302


def test_throttling_backs_off_and_expires(client: Any, make_user: Any) -> None:
    """Does the back-off grow with more failures and end by itself? Yes."""
    user = make_user("advisor", mfa=True)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(FREE_LOGIN_FAILURES):
            login(client, user.email, "feil passord igjen")
        clock.shift(timedelta(seconds=2))
        assert login(client, user.email, "feil passord igjen").status_code == 400
        assert login(client, user.email, otp=code_for(user)).status_code == 429
        clock.shift(timedelta(minutes=16))  # past the longest back-off
        assert login(client, user.email, otp=code_for(user)).status_code == 302


def test_unknown_accounts_are_throttled_too(client: Any) -> None:
    """Does an unknown e-mail answer exactly like a known one, throttling included? Yes."""
    start = utcnow()
    with time_machine.travel(start, tick=False):
        for _ in range(FREE_LOGIN_FAILURES):
            assert login(client, "ghost@example.org", "feil passord igjen").status_code == 400
        assert login(client, "ghost@example.org", "feil passord igjen").status_code == 429


def test_totp_code_cannot_be_replayed(app: Flask, make_user: Any) -> None:
    """Is a TOTP code that was just used refused the second time? Yes."""
    user = make_user("advisor", mfa=True)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        code = code_for(user)
        assert login(app.test_client(), user.email, otp=code).status_code == 302
        assert login(app.test_client(), user.email, otp=code).status_code == 400


def test_totp_window_allows_one_step_of_drift() -> None:
    """Are codes one step old or ahead accepted, and two steps refused? Yes."""
    secret = pyotp.random_base32()
    now = utcnow()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    assert verify_totp(secret, None, totp.generate_otp(step - 1), now) == step - 1
    assert verify_totp(secret, None, totp.generate_otp(step + 1), now) == step + 1
    assert verify_totp(secret, None, totp.generate_otp(step - 2), now) is None
    assert verify_totp(secret, step, totp.generate_otp(step), now) is None


def test_user_without_mfa_must_enrol_first(client: Any, db_session: Any, make_user: Any) -> None:
    """Is a user without an authenticator held at enrolment until they prove a code? Yes."""
    user = make_user("advisor", mfa=False)
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/mfa"
    assert client.get("/").headers["Location"] == "/account/mfa"
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "<svg" in page
    secret = page.split('<code class="secret">')[1].split("</code>")[0]
    wrong = post_form(client, "/account/mfa", {"otp": "000000"})
    assert wrong.status_code == 400 or pyotp.TOTP(secret).now() == "000000"
    done = post_form(client, "/account/mfa", {"otp": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    db_session.refresh(user)
    assert user.has_mfa and user.totp_secret == secret


def test_enrolment_secret_is_stored_encrypted(client: Any, db_session: Any, make_user: Any) -> None:
    """Is the TOTP secret sealed in the database rather than stored in clear? Yes."""
    user = make_user("advisor", mfa=True)
    db_session.refresh(user)
    assert user.totp_secret_sealed is not None
    assert user.totp_secret.encode() not in user.totp_secret_sealed


def test_open_redirect_is_refused(client: Any, make_user: Any) -> None:
    """Can the login's next parameter send the user to another site? No."""
    user = make_user("advisor", mfa=True)
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=//evil.example/steal",
        data={
            "email": user.email,
            "password": PASSWORD,
            "otp": code_for(user),
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client: Any, make_user: Any) -> None:
    """After login, does the user land on the page they asked for? Yes."""
    user = make_user("advisor", mfa=True)
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=/account",
        data={
            "email": user.email,
            "password": PASSWORD,
            "otp": code_for(user),
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/account"


def test_password_is_rehashed_when_parameters_change(
    client: Any, db_session: Any, make_user: Any
) -> None:
    """After the argon2 parameters change, is the hash upgraded at the next login? Yes."""
    user = make_user("advisor", mfa=True)
    old_hash = user.password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    original = accounts._hasher
    accounts.configure_password_hashing(stronger)
    try:
        assert login(client, user.email, otp=code_for(user)).status_code == 302
    finally:
        accounts.configure_password_hashing(original)
    db_session.refresh(user)
    assert user.password_hash != old_hash
    assert user.password_hash.startswith("$argon2id$")
    assert "t=2" in user.password_hash


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("kort", False),
        ("x" * 129, False),
        ("password1234", False),
        ("qwertyuiop123", False),
        ("123456789012", False),
        ("lilla ekorn hopper over gjerdet", True),
        ("Ørret i bekken før sankthans", True),
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    """12–128 characters, not a common or guessable password, no composition rules."""
    if ok:
        accounts.check_password_rules(password)
    else:
        with pytest.raises(ValidationFailed):
            accounts.check_password_rules(password)


def test_password_may_not_be_the_users_name() -> None:
    """Is a password built from the user's own e-mail refused? Yes."""
    with pytest.raises(ValidationFailed):
        accounts.check_password_rules(
            "karinordmann2024", ["kari.nordmann@example.org", "Kari Nordmann"]
        )
