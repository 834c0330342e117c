"""Security headers on every route, CSRF on every POST."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models.audit import AuditEvent
from tests.conftest import csrf_token, log_in
from tests.test_access_matrix import RULES


def _check_headers(response: Any, *, page: bool) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    if page:
        assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("endpoint", sorted(RULES))
@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_security_headers_on_every_route(
    client: Any, db_session: Any, make_user: Any, url_for_endpoint: Any, endpoint: str, who: str
) -> None:
    """Does every response carry the security headers (and no-store on pages)? Yes."""
    method, _ = RULES[endpoint]
    url = url_for_endpoint(endpoint)
    if who == "admin":
        log_in(client, make_user("admin", url_for_endpoint.unit), db_session)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_token(client)})
    _check_headers(response, page=endpoint != "static")


def test_error_pages_carry_headers(client: Any) -> None:
    """Does a 404 page carry the same headers? Yes."""
    response = client.get("/no/such/page")
    assert response.status_code == 404
    _check_headers(response, page=True)


def test_hsts_only_over_https(client: Any) -> None:
    """Is HSTS sent over HTTPS and not over plain HTTP? Yes."""
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert "max-age=" in secure.headers["Strict-Transport-Security"]


def test_session_cookie_flags(client: Any) -> None:
    """Is the session cookie HttpOnly and SameSite=Lax? Yes."""
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure(database_url: str) -> None:
    """Without the test override, is the session cookie marked Secure? Yes."""
    from app import create_app
    from tests.conftest import config_for

    config = config_for(database_url)
    config.pop("SESSION_COOKIE_SECURE")
    assert create_app(config).config["SESSION_COOKIE_SECURE"] is True


def test_post_without_csrf_token_is_400_and_audited(
    client: Any, db_session: Any, make_user: Any
) -> None:
    """Does a POST without a CSRF token fail with 400 and leave an audit event? Yes."""
    admin = make_user("admin")
    log_in(client, admin, db_session)
    target = make_user("advisor")
    response = client.post(f"/admin/users/{target.ref}/disable", data={})
    assert response.status_code == 400
    db_session.refresh(target)
    assert target.is_active
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_user_id == admin.id)
    ).all()
    assert "csrf_failure" in actions


def test_post_with_wrong_csrf_token_is_400(client: Any, db_session: Any, make_user: Any) -> None:
    """Is a forged token refused? Yes."""
    log_in(client, make_user("admin"), db_session)
    target = make_user("advisor")
    response = client.post(f"/admin/users/{target.ref}/disable", data={"csrf_token": "forged"})
    assert response.status_code == 400


def test_post_with_csrf_token_is_accepted(client: Any, db_session: Any, make_user: Any) -> None:
    """With the page's token, does the same POST work? Yes."""
    log_in(client, make_user("admin"), db_session)
    target = make_user("advisor")
    token = csrf_token(client, f"/admin/users/{target.ref}")
    response = client.post(f"/admin/users/{target.ref}/disable", data={"csrf_token": token})
    assert response.status_code == 302
    db_session.refresh(target)
    assert not target.is_active


def test_login_form_needs_csrf(client: Any, make_user: Any) -> None:
    """Is the login form itself protected against CSRF (login CSRF)? Yes."""
    user = make_user("advisor")
    response = client.post("/login", data={"email": user.email, "password": "x" * 12})
    assert response.status_code == 400


def test_no_inline_script_in_pages(client: Any, db_session: Any, make_user: Any) -> None:
    """Do the pages work without any script? They contain none."""
    log_in(client, make_user("admin"), db_session)
    for path in ("/login", "/", "/admin/users", "/account", "/account/mfa"):
        assert "<script" not in client.get(path).get_data(as_text=True)
