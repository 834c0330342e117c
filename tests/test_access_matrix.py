"""The access matrix: for every endpoint in `app.url_map` and every role, the expected answer.

A new endpoint without a row here fails `test_every_endpoint_has_a_rule`, so
nobody can add a page without deciding who may reach it.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from models.accounts import Role
from tests.access_rules import (
    DECISION_RULES,
    EXPORT_RULES,
    FOLLOW_UP_RULES,
    HOUSING_RULES,
    LANGUAGE_RULES,
    PLACEMENT_RULES,
    PLAN_RULES,
)
from tests.access_rules.common import everyone, record
from tests.access_rules.nir import NIR_RULES
from tests.conftest import csrf_token, log_in

ROLES = ("anonymous", *(role.value for role in Role))


def _is_participant_page(app: Flask, endpoint: str) -> bool:
    """A page of one participant: /participants/<ref>/…"""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return "ref" in rule.arguments and rule.rule.startswith("/participants/")


NOT_ADMIN = {r.value: 403 for r in Role if r is not Role.ADMIN}


def admin_only(admin_status: int) -> dict[str, int]:
    return {"anonymous": 302, **NOT_ADMIN, "admin": admin_status}


# endpoint -> (method, expected status per role)
RULES: dict[str, tuple[str, dict[str, int]]] = {
    "static": ("GET", everyone(200, anonymous=200)),
    "main.home": ("GET", everyone(200)),
    "main.healthz": ("GET", everyone(200, anonymous=200)),
    "main.set_language": ("POST", everyone(302, anonymous=302)),
    "auth.login": ("GET", everyone(200, anonymous=200)),
    "auth.logout": ("POST", everyone(302)),
    "auth.mfa_setup": ("GET", everyone(200)),
    "auth.account": ("GET", everyone(200)),
    "admin.index": ("GET", admin_only(302)),
    "admin.users": ("GET", admin_only(200)),
    "admin.user_new": ("GET", admin_only(200)),
    "admin.user_edit": ("GET", admin_only(200)),
    "admin.user_disable": ("POST", admin_only(302)),
    "admin.user_enable": ("POST", admin_only(302)),
    "admin.user_reset_mfa": ("POST", admin_only(302)),
    "admin.user_set_password": ("POST", admin_only(400)),  # empty form: redisplayed with errors
    "admin.membership_add": ("POST", admin_only(400)),
    "admin.membership_remove": ("POST", admin_only(302)),
    "admin.units": ("GET", admin_only(200)),
    "admin.unit_new": ("GET", admin_only(200)),
    "admin.unit_edit": ("GET", admin_only(200)),
    "admin.audit_log": ("GET", admin_only(200)),
    "admin.keys": ("GET", admin_only(200)),
    # The participant record. The role under test is someone else than the participant's
    # own advisor, in the same unit: a same-unit advisor sees nothing but may break the glass;
    # the leader sees the record; teachers, partners without consent and admins see nothing.
    "participants.caseload": ("GET", record({"advisor": 200, "leader": 200, "partner": 200})),
    "participants.register": ("GET", record({"advisor": 200, "leader": 200})),
    "participants.overview": (
        "GET",
        record({"advisor": 404, "leader": 200, "teacher": 404, "partner": 404}),
    ),
    "participants.edit": ("GET", record({"advisor": 404})),
    "participants.reassign": ("POST", record({"leader": 302})),
    "participants.consents": ("GET", record({"advisor": 404})),
    "participants.consent_withdraw": ("POST", record({"advisor": 404})),
    "participants.access_log": ("GET", record({"advisor": 404, "leader": 200})),
    "participants.export": ("GET", record({"advisor": 404, "leader": 200})),
    "participants.export_json": ("GET", record({"advisor": 404, "leader": 200})),
    "participants.restriction": ("POST", record({"advisor": 404, "leader": 302})),
    "participants.break_glass": ("GET", record({"advisor": 200, "leader": 200})),
    "participants.overrides": ("GET", record({"advisor": 404})),
    "participants.override_revoke": ("POST", record({"advisor": 404})),
    "unit.break_glass_review": ("GET", record({"leader": 200})),
    "unit.break_glass_reviewed": ("POST", record({"leader": 302})),
    # Outcome figures: leaders only; the matrix's leader leads the unit it reads.
    "outcomes.index": ("GET", record({"leader": 200})),
    "outcomes.export_csv": ("GET", record({"leader": 200})),
    "outcomes.export_xlsx": ("GET", record({"leader": 200})),
    "unit.dashboard": ("GET", record({"leader": 200})),
    "unit.reassign": ("GET", record({"leader": 200})),
    "unit.audit": ("GET", record({"leader": 200})),
    **PLAN_RULES,
    **FOLLOW_UP_RULES,
    **DECISION_RULES,
    **LANGUAGE_RULES,
    **HOUSING_RULES,
    **PLACEMENT_RULES,
    **EXPORT_RULES,
    **NIR_RULES,
}


def test_every_endpoint_has_a_rule(app: Flask) -> None:
    """Is every endpoint in the URL map covered by the matrix? It must be."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - RULES.keys() == set(), "endpoints without an access rule"
    assert RULES.keys() - endpoints == set(), "rules for endpoints that no longer exist"


@pytest.mark.parametrize("endpoint", sorted(RULES))
@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(
    app: Flask,
    client: Any,
    db_session: Any,
    make_user: Any,
    url_for_endpoint: Any,
    endpoint: str,
    role: str,
) -> None:
    method, expected = RULES[endpoint]
    url = url_for_endpoint(endpoint)
    status = expected[role]
    if role == "teacher" and status == 403 and _is_participant_page(app, endpoint):
        status = 404  # a teacher's role refusal on a participant's page reads "not there"
    if role != "anonymous":
        log_in(client, make_user(role, url_for_endpoint.unit), db_session)
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_token(client, "/login")
        response = client.post(url, data={"csrf_token": token})
    assert response.status_code == status, (
        f"{role} {method} {url}: {response.status_code}, expected {status}"
    )


def test_anonymous_is_sent_to_login_with_next(client: Any) -> None:
    """Does an anonymous visit to a protected page redirect to the login page? Yes, with next."""
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")


def test_unknown_user_ref_is_404_for_admin(client: Any, db_session: Any, make_user: Any) -> None:
    """Does an admin asking for a user that does not exist get 404? Yes."""
    log_in(client, make_user("admin"), db_session)
    assert client.get("/admin/users/doesnotexist").status_code == 404


def test_denied_access_is_audited(client: Any, db_session: Any, make_user: Any) -> None:
    """Is a teacher's attempt at the admin pages written to the audit log as denied? Yes."""
    from sqlalchemy import select

    from models.audit import AuditEvent

    teacher = make_user("teacher")
    log_in(client, teacher, db_session)
    assert client.get("/admin/users").status_code == 403
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.actor_user_id == teacher.id)
    ).all()[-1]
    assert (event.action, event.outcome) == ("access_denied", "denied")


def test_disabled_unit_membership_grants_nothing(
    client: Any, db_session: Any, make_user: Any, make_unit: Any
) -> None:
    """Does an admin role in a closed unit still open the admin pages? No."""
    closed = make_unit()
    admin = make_user("admin", closed)
    make_user("admin")  # somebody else keeps the system administrable
    closed.is_active = False
    db_session.commit()
    log_in(client, admin, db_session)
    assert client.get("/admin/users").status_code == 403
