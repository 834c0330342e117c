"""Server-side sessions: rotation at login, revocation, idle and absolute timeouts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select

from models import sessions as server_sessions
from models.base import utcnow
from tests.conftest import PASSWORD, csrf_token, log_in, post_form


def _login_form(client: Any, email: str, password: str = PASSWORD, otp: str = "") -> Any:
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "otp": otp, "csrf_token": token}
    )


def _cookie(client: Any) -> str | None:
    cookie = client.get_cookie("veiviser_session")
    return cookie.value if cookie else None


def test_login_issues_a_new_session_token(app: Flask, client: Any, make_user: Any) -> None:
    """Is the pre-login session token replaced at login (no session fixation)? Yes."""
    app.config["REQUIRE_MFA"] = False
    try:
        user = make_user("advisor")
        client.get("/login")
        before = _cookie(client)
        assert before
        assert _login_form(client, user.email).status_code == 302
        after = _cookie(client)
        assert after and after != before
    finally:
        app.config["REQUIRE_MFA"] = True


def test_session_is_stored_server_side(client: Any, db_session: Any, make_user: Any) -> None:
    """Does the cookie hold only a random token, never user data? Yes."""
    user = make_user("advisor")
    log_in(client, user, db_session)
    token = _cookie(client)
    assert token and len(token) >= 40 and user.email not in token
    assert server_sessions.count_for_user(db_session, user.id) == 1
    stored = db_session.scalar(
        select(server_sessions.ServerSession.token_hash).where(
            server_sessions.ServerSession.user_id == user.id
        )
    )
    assert stored == server_sessions.hash_token(token) != token  # only a hash is kept


def test_logout_ends_every_session_of_the_user(
    app: Flask, db_session: Any, make_user: Any, connection: Any
) -> None:
    """Does logging out in one browser end the user's session in another? Yes."""
    user = make_user("advisor")
    first, second = app.test_client(), app.test_client()
    log_in(first, user, db_session)
    log_in(second, user, db_session)
    assert second.get("/").status_code == 200
    response = post_form(first, "/logout", token_from="/")
    assert response.status_code == 302
    assert second.get("/").status_code == 302
    assert server_sessions.count_for_user(db_session, user.id) == 0


def test_logout_is_post_only(client: Any, db_session: Any, make_user: Any) -> None:
    """Can a GET (a link or an image) log someone out? No."""
    log_in(client, make_user("advisor"), db_session)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_password_change_ends_all_sessions(
    app: Flask, db_session: Any, make_user: Any, connection: Any
) -> None:
    """Does a password change end the user's other sessions and this one? Yes."""
    user = make_user("advisor")
    here, elsewhere = app.test_client(), app.test_client()
    log_in(here, user, db_session)
    log_in(elsewhere, user, db_session)
    response = post_form(
        here,
        "/account",
        {"current_password": PASSWORD, "new_password": "ny og helt annen passordfrase"},
    )
    assert response.status_code == 302
    assert elsewhere.get("/").status_code == 302
    assert here.get("/").status_code == 302


def test_disable_ends_sessions(
    app: Flask, db_session: Any, make_user: Any, connection: Any
) -> None:
    """Is a disabled user thrown out on their next request? Yes."""
    admin, user = make_user("admin"), make_user("advisor")
    admin_client, user_client = app.test_client(), app.test_client()
    log_in(admin_client, admin, db_session)
    log_in(user_client, user, db_session)
    assert user_client.get("/").status_code == 200
    post_form(
        admin_client, f"/admin/users/{user.ref}/disable", token_from=f"/admin/users/{user.ref}"
    )
    assert user_client.get("/").status_code == 302


def test_role_change_ends_sessions(
    app: Flask, db_session: Any, make_user: Any, make_unit: Any, connection: Any
) -> None:
    """Does giving a user a new role end their sessions, so it applies at once? Yes."""
    admin, user = make_user("admin"), make_user("teacher")
    unit = make_unit()
    admin_client, user_client = app.test_client(), app.test_client()
    log_in(admin_client, admin, db_session)
    log_in(user_client, user, db_session)
    assert user_client.get("/").status_code == 200
    response = post_form(
        admin_client,
        f"/admin/users/{user.ref}/memberships",
        {"m-unit": str(unit.id), "m-role": "admin"},
        token_from=f"/admin/users/{user.ref}",
    )
    assert response.status_code == 302
    assert user_client.get("/").status_code == 302


def test_idle_timeout(app: Flask, client: Any, db_session: Any, make_user: Any) -> None:
    """After 30 idle minutes, is the session over? Yes; at 29 it is not."""
    user = make_user("advisor")
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        log_in(client, user, db_session)
        clock.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=29))  # 29 after the last request: still alive
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=31))
        assert client.get("/").status_code == 302


def test_absolute_timeout_despite_activity(
    app: Flask, client: Any, db_session: Any, make_user: Any
) -> None:
    """Does a session end after 10 hours even if it was used all the time? Yes."""
    user = make_user("advisor")
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        log_in(client, user, db_session)
        for _ in range(20):  # 20 × 29 min = 9 h 40 min of steady use
            clock.shift(timedelta(minutes=29))
            assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=29))  # 10 h 9 min after login
        assert client.get("/").status_code == 302


def test_expired_sessions_are_purged(db_session: Any, make_user: Any, app: Flask) -> None:
    """Does the purge remove expired sessions and keep live ones? Yes."""
    from app.security import session_timeouts

    user = make_user("advisor")
    now = utcnow()
    server_sessions.create(db_session, "old-token", {}, user.id, now - timedelta(hours=11))
    server_sessions.create(db_session, "live-token", {}, user.id, now)
    db_session.commit()
    assert server_sessions.purge_expired(db_session, now, session_timeouts(app)) == 1
    assert server_sessions.count_for_user(db_session, user.id) == 1


def test_forged_session_cookie_is_anonymous(client: Any) -> None:
    """Does an invented session token log anyone in? No."""
    client.set_cookie("veiviser_session", "made-up-token")
    assert client.get("/").status_code == 302
