"""Administration: users, roles, units; optimistic locking; the last administrator."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models.accounts import Role, User
from tests.conftest import PASSWORD, csrf_token, log_in, post_form


@pytest.fixture
def admin_client(client: Any, db_session: Any, make_user: Any) -> Any:
    admin = make_user("admin")
    admin.locale = "en"  # assertions below read the English messages
    db_session.commit()
    log_in(client, admin, db_session)
    client.admin = admin
    return client


def test_admin_creates_a_user(admin_client: Any, db_session: Any, make_unit: Any) -> None:
    """Can an admin create a user with a role in a unit? Yes, and the password is hashed."""
    unit = make_unit()
    response = post_form(
        admin_client,
        "/admin/users/new",
        {
            "display_name": "Kari Nordmann",
            "email": "Kari@Example.org",
            "password": PASSWORD,
            "unit": str(unit.id),
            "role": "advisor",
            "locale": "sv",
        },
    )
    assert response.status_code == 302
    user = db_session.scalar(select(User).where(User.email == "kari@example.org"))
    assert user is not None
    assert user.has_role(Role.ADVISOR, unit.id)
    assert user.locale == "sv"
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "e-mail"),
        ("password", "short", "12"),
        ("password", "password1234", "guess"),
        ("display_name", "   ", "name"),
    ],
)
def test_bad_user_input_is_explained(
    admin_client: Any, db_session: Any, make_unit: Any, field: str, value: str, message: str
) -> None:
    """Does bad input give a 400 with a message at the field, and no user? Yes."""
    unit = make_unit()
    data = {
        "display_name": "Kari Nordmann",
        "email": "kari2@example.org",
        "password": PASSWORD,
        "unit": str(unit.id),
        "role": "advisor",
        field: value,
    }
    response = post_form(admin_client, "/admin/users/new", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "error-summary" in page
    assert message.lower() in page.lower()
    assert db_session.scalar(select(User).where(User.email == data["email"])) is None


def test_duplicate_email_is_refused(admin_client: Any, make_user: Any, make_unit: Any) -> None:
    """Can two users share an e-mail address? No, with a clear message."""
    existing = make_user("advisor", email="taken@example.org")
    unit = make_unit()
    response = post_form(
        admin_client,
        "/admin/users/new",
        {
            "display_name": "Someone",
            "email": existing.email.upper(),
            "password": PASSWORD,
            "unit": str(unit.id),
            "role": "advisor",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_stale_user_edit_is_409_and_keeps_input(
    admin_client: Any, db_session: Any, make_user: Any
) -> None:
    """Saving a form opened before someone else's save: 409, input kept, nothing overwritten."""
    user = make_user("advisor", name="Original Name")
    page = f"/admin/users/{user.ref}"
    token = csrf_token(admin_client, page)
    stale_version = str(user.version)
    first = admin_client.post(
        page,
        data={
            "csrf_token": token,
            "display_name": "First Save",
            "email": user.email,
            "locale": "",
            "version": stale_version,
        },
    )
    assert first.status_code == 302
    second = admin_client.post(
        page,
        data={
            "csrf_token": token,
            "display_name": "My Late Edit",
            "email": user.email,
            "locale": "",
            "version": stale_version,
        },
    )
    assert second.status_code == 409
    body = second.get_data(as_text=True)
    assert "My Late Edit" in body  # the user's input is still in the form
    assert "Someone else saved" in body
    db_session.expire_all()
    assert db_session.get(User, user.id).display_name == "First Save"


def test_stale_unit_edit_is_409(admin_client: Any, db_session: Any, make_unit: Any) -> None:
    """Does the unit form refuse a stale version too? Yes."""
    unit = make_unit(name="Gammel enhet")
    page = f"/admin/units/{unit.id}"
    token = csrf_token(admin_client, page)
    data = {
        "csrf_token": token,
        "name": "Ny enhet",
        "kind": "nav",
        "is_active": "y",
        "version": str(unit.version),
    }
    assert admin_client.post(page, data=data).status_code == 302
    data["name"] = "Tredje navn"
    response = admin_client.post(page, data=data)
    assert response.status_code == 409
    assert "Tredje navn" in response.get_data(as_text=True)


def test_missing_version_is_treated_as_stale(admin_client: Any, make_user: Any) -> None:
    """Can a save without the version field overwrite blindly? No."""
    user = make_user("advisor")
    response = post_form(
        admin_client,
        f"/admin/users/{user.ref}",
        {"display_name": "Blind", "email": user.email, "locale": ""},
    )
    assert response.status_code == 409


def test_last_admin_cannot_be_disabled(admin_client: Any, db_session: Any) -> None:
    """Can the only administrator disable themselves? No: someone must be able to administer."""
    admin = admin_client.admin
    response = post_form(
        admin_client, f"/admin/users/{admin.ref}/disable", token_from=f"/admin/users/{admin.ref}"
    )
    assert response.status_code == 400
    assert "no active administrator" in response.get_data(as_text=True)
    db_session.refresh(admin)
    assert admin.is_active


def test_last_admin_role_cannot_be_removed(admin_client: Any, db_session: Any) -> None:
    """Can the only admin membership be removed? No."""
    admin = admin_client.admin
    membership = admin.memberships[0]
    response = post_form(
        admin_client,
        f"/admin/users/{admin.ref}/memberships/{membership.id}/remove",
        token_from=f"/admin/users/{admin.ref}",
    )
    assert response.status_code == 400


def test_admin_adds_and_removes_a_role(
    admin_client: Any, db_session: Any, make_user: Any, make_unit: Any
) -> None:
    """Can an admin give a user a second role in another unit, and take it away? Yes."""
    user = make_user("advisor")
    unit = make_unit()
    page = f"/admin/users/{user.ref}"
    added = post_form(
        admin_client,
        f"{page}/memberships",
        {"m-unit": str(unit.id), "m-role": "leader"},
        token_from=page,
    )
    assert added.status_code == 302
    db_session.expire_all()
    user = db_session.get(User, user.id)
    assert user.has_role(Role.LEADER, unit.id) and user.has_role(Role.ADVISOR)
    duplicate = post_form(
        admin_client,
        f"{page}/memberships",
        {"m-unit": str(unit.id), "m-role": "leader"},
        token_from=page,
    )
    assert duplicate.status_code == 400
    membership = next(m for m in user.memberships if m.role is Role.LEADER)
    removed = post_form(admin_client, f"{page}/memberships/{membership.id}/remove", token_from=page)
    assert removed.status_code == 302
    db_session.expire_all()
    assert not db_session.get(User, user.id).has_role(Role.LEADER)


def test_admin_resets_mfa(admin_client: Any, db_session: Any, make_user: Any) -> None:
    """Does an MFA reset remove the authenticator so the user enrols again? Yes."""
    user = make_user("advisor", mfa=True)
    page = f"/admin/users/{user.ref}"
    assert post_form(admin_client, f"{page}/reset-mfa", token_from=page).status_code == 302
    db_session.expire_all()
    fresh = db_session.get(User, user.id)
    assert not fresh.has_mfa and fresh.totp_secret is None


def test_admin_sets_a_password(admin_client: Any, db_session: Any, make_user: Any) -> None:
    """Can an admin set a forgotten password, under the same rules? Yes."""
    user = make_user("advisor")
    page = f"/admin/users/{user.ref}"
    weak = post_form(admin_client, f"{page}/password", {"p-password": "short"}, token_from=page)
    assert weak.status_code == 400
    good = post_form(
        admin_client, f"{page}/password", {"p-password": "ny sommer ved fjorden"}, token_from=page
    )
    assert good.status_code == 302


def test_admin_creates_and_closes_a_unit(admin_client: Any, db_session: Any) -> None:
    """Can an admin create a unit, and is a duplicate name refused? Yes."""
    data = {"name": "Boligkontoret", "kind": "housing"}
    assert post_form(admin_client, "/admin/units/new", data).status_code == 302
    again = post_form(
        admin_client, "/admin/units/new", {"name": " boligkontoret ", "kind": "housing"}
    )
    assert again.status_code == 400


def test_admin_pages_show_no_participant_data(admin_client: Any) -> None:
    """The admin's pages: is there a way to any participant record? No."""
    for path in ("/admin/users", "/admin/units", "/admin/audit", "/admin/keys", "/"):
        page = admin_client.get(path).get_data(as_text=True)
        assert "/participants" not in page


def test_user_list_is_paginated(admin_client: Any, make_user: Any, make_unit: Any) -> None:
    """With more users than a page holds, is there a second page? Yes."""
    unit = make_unit()
    for _ in range(12):
        make_user("advisor", unit)
    first = admin_client.get("/admin/users").get_data(as_text=True)
    assert 'rel="next"' in first
    assert admin_client.get("/admin/users?page=2").status_code == 200
    assert admin_client.get("/admin/users?page=banana").status_code == 200
