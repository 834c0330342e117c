"""The teacher's access: the language section of participants enrolled in their own
classes, and nothing else of the record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, url_for

from models import language as ops
from models.access import view_of
from models.accounts import UnitKind
from models.base import local_today
from models.codes import CefrLevel, Section
from models.policy import Action, Actor, require
from tests.conftest import csrf_token, log_in

# Reachable for a teacher of the participant's class; every other participant URL is not.
OPEN = {"participants.overview": 200, "language.participant_page": 200}
# The teacher's own writes on the language page: reachable, an empty form is refused.
WRITES = {"language.estimate_add", "language.test_add", "language.leave_add"}


@pytest.fixture
def school(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    centre = make_unit(kind=UnitKind.ADULT_LEARNING)
    teacher = make_user("teacher", centre)
    stranger = make_user("teacher", centre)
    participant = make_participant()
    today = local_today()
    item = ops.create_class(
        db_session,
        Actor(teacher),
        ops.ClassInput(
            name="Norsk A1",
            unit_id=centre.id,
            level=CefrLevel.A1,
            weekdays=[0, 1, 2, 3, 4],
            lesson_minutes=45,
            lessons_per_day=4,
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=300),
            room="",
            teacher_ids=[teacher.id],
        ),
    )
    enrolment = ops.enrol(db_session, Actor(teacher), item, participant, today, today)
    db_session.commit()
    return {
        "teacher": teacher,
        "stranger": stranger,
        "participant": participant,
        "item": item,
        "enrolment": enrolment,
    }


def _participant_urls(app: Flask, ref: str) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/participants/<ref>"):
            continue
        values: dict[str, Any] = {
            "ref": ref,
            "item_ref": "no-such-item",
            "override_ref": "no-such-item",
            "consent_id": 1,
            "number": 1,
        }
        with app.test_request_context():
            url = url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
        method = "GET" if "GET" in (rule.methods or set()) else "POST"
        found.append((rule.endpoint, method, url))
    return sorted(found)


def _fetch(client: Any, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client, "/login")})


def test_policy_gives_the_teacher_the_language_section_only(db_session: Any, school: Any) -> None:
    """Does a teacher's grant on an enrolled participant open exactly the language section?"""
    grant = require(school["teacher"], Action.PARTICIPANT_READ, school["participant"])
    assert grant.via == "class"
    view = view_of(db_session, school["teacher"], school["participant"], grant)
    assert view.sections == frozenset({Section.LANGUAGE})
    assert not view.sees_protected_address


def test_teacher_reaches_only_the_overview_and_language_page(
    app: Flask, client: Any, db_session: Any, school: Any
) -> None:
    """Every /participants/<ref>/… endpoint as the class's teacher: the overview and the
    language page open; every other page answers exactly as for a teacher without any
    class of the participant (404, or 403 where the role check refuses teachers)."""
    participant = school["participant"]
    urls = _participant_urls(app, participant.ref)
    assert len(urls) > 20
    log_in(client, school["stranger"], db_session)
    stranger = {endpoint: _fetch(client, m, u).status_code for endpoint, m, u in urls}
    log_in(client, school["teacher"], db_session)
    for endpoint, method, url in urls:
        response = _fetch(client, method, url)
        if endpoint in OPEN:
            assert response.status_code == OPEN[endpoint], endpoint
        elif endpoint in WRITES:
            assert response.status_code == 400, endpoint
        else:
            assert response.status_code in (403, 404), (endpoint, response.status_code)
            assert response.status_code == stranger[endpoint], endpoint
            assert participant.display_name not in response.get_data(as_text=True)
    for endpoint in OPEN:
        assert stranger[endpoint] == 404


def test_the_overview_shows_only_the_language_section(
    client: Any, db_session: Any, school: Any
) -> None:
    participant = school["participant"]
    log_in(client, school["teacher"], db_session)
    page = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert 'id="language-heading"' in page
    for other in ("plan-heading", "decisions-heading", "followups-heading", "deadlines-heading"):
        assert f'id="{other}"' not in page
    assert "1990-05-17" not in page  # the birth date belongs to the identity section


def test_teacher_of_another_class_gets_404(client: Any, db_session: Any, school: Any) -> None:
    """Does a teacher of the same centre, but not of the class, see the participant? No."""
    log_in(client, school["stranger"], db_session)
    ref = school["participant"].ref
    assert client.get(f"/participants/{ref}").status_code == 404
    assert client.get(f"/participants/{ref}/language").status_code == 404


def test_access_ends_with_the_enrolment(client: Any, db_session: Any, school: Any) -> None:
    """When the participant leaves the class, does the teacher lose access? Yes."""
    today = local_today()
    enrolment = school["enrolment"]
    enrolment.ends_on = today - timedelta(days=1)
    enrolment.starts_on = today - timedelta(days=2)
    db_session.commit()
    log_in(client, school["teacher"], db_session)
    assert client.get(f"/participants/{school['participant'].ref}").status_code == 404


def test_teachers_never_list_participants(client: Any, db_session: Any, school: Any) -> None:
    log_in(client, school["teacher"], db_session)
    assert client.get("/participants/").status_code == 403
