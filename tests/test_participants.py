"""The participant record: scope, sections, consent, break-the-glass, audit and validation."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import event, func, select

from app.database import services
from models.access import BreakGlassGrant, Consent
from models.audit import AuditEvent
from models.base import local_today, utcnow
from models.participants import Participant
from tests.conftest import (
    _fresh_database,
    build_app,
    csrf_token,
    is_postgres,
    log_in,
    norwegian_id,
    post_form,
)

BIRTH = date(1990, 5, 17)


def _events(db_session: Any, ref: str) -> list[AuditEvent]:
    return list(
        db_session.scalars(
            select(AuditEvent).where(AuditEvent.object_ref == ref).order_by(AuditEvent.seq)
        )
    )


def _english(db_session: Any, *users: Any) -> None:
    for user in users:
        user.locale = "en"
    db_session.commit()


def registration(unit: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "unit": str(unit.id),
        "primary_advisor": "0",
        "country": "NO",
        "given_name": "Amina",
        "family_name": "Hassan",
        "national_id": norwegian_id(BIRTH),
        "duf_number": "",
        "birth_date": "",
        "sex": "female",
        "languages": ["ar", "so"],
        "interpreter_language": "",
        "permit_category": "no_refugee",
        "arrival_on": "2025-01-10",
        "settlement_on": "2025-06-01",
        "settlement_municipality": "Bergen",
    }
    data.update(overrides)
    return data


# -- scope -------------------------------------------------------------------------


def test_advisor_sees_own_participant(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Does the assigned advisor open the overview, with the name as the page's h1? Yes."""
    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    log_in(client, advisor, db_session)
    page = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert f"<h1>{participant.display_name}</h1>" in page


def test_other_advisor_gets_404_and_a_denied_event(
    client: Any, db_session: Any, make_user: Any, make_unit: Any, make_participant: Any
) -> None:
    """An advisor opening another advisor's participant (same or other unit): 404, denied event."""
    unit = make_unit()
    owner, colleague = make_user("advisor", unit), make_user("advisor", unit)
    outsider = make_user("advisor")
    participant = make_participant(unit=unit, advisor=owner)
    for intruder in (colleague, outsider):
        log_in(client, intruder, db_session)
        assert client.get(f"/participants/{participant.ref}").status_code == 404
        denied = db_session.scalars(
            select(AuditEvent).where(AuditEvent.actor_user_id == intruder.id)
        ).all()
        assert [(e.action, e.outcome) for e in denied] == [("access_denied", "denied")]


def test_teacher_gets_404_on_every_overview(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Can a teacher of the same unit open any overview? No: 404."""
    teacher = make_user("teacher")
    participant = make_participant(unit=teacher.memberships[0].unit)
    log_in(client, teacher, db_session)
    assert client.get(f"/participants/{participant.ref}").status_code == 404


def test_leader_sees_own_unit_only(
    client: Any, db_session: Any, make_user: Any, make_unit: Any, make_participant: Any
) -> None:
    """A leader of unit A: 200 for A's participants, 404 for unit B's."""
    unit_a, unit_b = make_unit(), make_unit()
    leader = make_user("leader", unit_a)
    ours, theirs = make_participant(unit=unit_a), make_participant(unit=unit_b)
    log_in(client, leader, db_session)
    assert client.get(f"/participants/{ours.ref}").status_code == 200
    assert client.get(f"/participants/{theirs.ref}").status_code == 404
    listing = client.get("/participants/").get_data(as_text=True)
    assert ours.ref in listing and theirs.ref not in listing


def test_leader_does_not_see_health(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Does a leader's read event list every section but health? Yes."""
    leader = make_user("leader")
    participant = make_participant(unit=leader.memberships[0].unit)
    log_in(client, leader, db_session)
    client.get(f"/participants/{participant.ref}")
    event = _events(db_session, participant.ref)[-1]
    assert event.action == "participant.read"
    assert "health" not in event.field_categories.split(",")
    assert "plan" in event.field_categories.split(",")


def test_reassignment_takes_effect_on_next_request(
    app: Any,
    db_session: Any,
    make_user: Any,
    make_unit: Any,
    make_participant: Any,
    connection: Any,
) -> None:
    """A leader moves a participant: the old advisor loses it at once, the new one has it."""
    unit = make_unit()
    leader, old, new = (
        make_user("leader", unit),
        make_user("advisor", unit),
        make_user("advisor", unit),
    )
    participant = make_participant(unit=unit, advisor=old)
    old_client, new_client, leader_client = app.test_client(), app.test_client(), app.test_client()
    for c, u in ((old_client, old), (new_client, new), (leader_client, leader)):
        log_in(c, u, db_session)
    assert old_client.get(f"/participants/{participant.ref}").status_code == 200
    assert new_client.get(f"/participants/{participant.ref}").status_code == 404
    response = post_form(
        leader_client,
        f"/participants/{participant.ref}/reassign",
        {"r-primary_advisor": str(new.id), "r-secondary_advisor": "0"},
        token_from=f"/participants/{participant.ref}",
    )
    assert response.status_code == 302
    assert old_client.get(f"/participants/{participant.ref}").status_code == 404
    assert new_client.get(f"/participants/{participant.ref}").status_code == 200


# -- consent ------------------------------------------------------------------------


def _consent_setup(make_user: Any, make_unit: Any, make_participant: Any) -> tuple[Any, ...]:
    home, nav = make_unit(), make_unit()
    advisor = make_user("advisor", home)
    partner = make_user("partner", nav)
    participant = make_participant(unit=home, advisor=advisor)
    return home, nav, advisor, partner, participant


def test_partner_sees_only_consented_sections(
    app: Any,
    db_session: Any,
    make_user: Any,
    make_unit: Any,
    make_participant: Any,
    connection: Any,
) -> None:
    """A partner: 404 without consent; with consent to «language», that section only."""
    _home, nav, advisor, partner, participant = _consent_setup(
        make_user, make_unit, make_participant
    )
    _english(db_session, partner)
    partner_client, advisor_client = app.test_client(), app.test_client()
    log_in(partner_client, partner, db_session)
    log_in(advisor_client, advisor, db_session)
    url = f"/participants/{participant.ref}"
    assert partner_client.get(url).status_code == 404
    response = post_form(
        advisor_client,
        f"{url}/consents",
        {
            "partner_unit": str(nav.id),
            "sections": ["language"],
            "purpose": "Plan job training",
            "valid_from": local_today().isoformat(),
            "valid_to": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    page = partner_client.get(url).get_data(as_text=True)
    assert "Language training" in page
    for hidden in ("Individual plan", "Contact details", "National identity number", "Housing"):
        assert hidden not in page
    assert participant.ref in partner_client.get("/participants/").get_data(as_text=True)
    consent = db_session.scalar(select(Consent).where(Consent.participant_id == participant.id))
    withdraw = post_form(
        advisor_client, f"{url}/consents/{consent.id}/withdraw", token_from=f"{url}/consents"
    )
    assert withdraw.status_code == 302
    assert partner_client.get(url).status_code == 404


def test_consent_expires(
    app: Any, client: Any, db_session: Any, make_user: Any, make_unit: Any, make_participant: Any
) -> None:
    """After its end date, does a consent stop sharing by itself? Yes."""
    _home, nav, _advisor, partner, participant = _consent_setup(
        make_user, make_unit, make_participant
    )
    today = local_today()
    db_session.add(
        Consent(
            participant_id=participant.id,
            partner_unit_id=nav.id,
            sections="plan",
            valid_from=today,
            valid_to=today + timedelta(days=1),
        )
    )
    db_session.commit()
    log_in(client, partner, db_session)
    url = f"/participants/{participant.ref}"
    assert client.get(url).status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False):
        log_in(client, partner, db_session)
        assert client.get(url).status_code == 404


def test_consent_form_validates(
    client: Any, db_session: Any, make_user: Any, make_unit: Any, make_participant: Any
) -> None:
    """Consent with no section, or ending before it starts: 400 with messages, nothing saved."""
    _home, nav, advisor, _partner, participant = _consent_setup(
        make_user, make_unit, make_participant
    )
    _english(db_session, advisor)
    log_in(client, advisor, db_session)
    url = f"/participants/{participant.ref}/consents"
    none = post_form(
        client, url, {"partner_unit": str(nav.id), "purpose": "x", "valid_from": "2026-01-10"}
    )
    assert none.status_code == 400 and "at least one section" in none.get_data(as_text=True)
    backwards = post_form(
        client,
        url,
        {
            "partner_unit": str(nav.id),
            "sections": ["plan"],
            "purpose": "x",
            "valid_from": "2026-01-10",
            "valid_to": "2026-01-01",
        },
    )
    assert backwards.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(Consent)) == 0


# -- break-the-glass and restriction ----------------------------------------------------


def test_break_the_glass(
    app: Any,
    db_session: Any,
    make_user: Any,
    make_unit: Any,
    make_participant: Any,
    connection: Any,
) -> None:
    """A same-unit advisor opens a record with a reason: flagged, time-boxed, reviewed."""
    unit = make_unit()
    owner, colleague, leader = (
        make_user("advisor", unit),
        make_user("advisor", unit),
        make_user("leader", unit),
    )
    participant = make_participant(unit=unit, advisor=owner)
    client, leader_client = app.test_client(), app.test_client()
    log_in(client, colleague, db_session)
    log_in(leader_client, leader, db_session)
    url = f"/participants/{participant.ref}"
    assert client.get(url).status_code == 404
    short = post_form(client, f"{url}/break-glass", {"reason": "need"})
    assert short.status_code == 400
    granted = post_form(
        client, f"{url}/break-glass", {"reason": "Came to the office, advisor is on sick leave"}
    )
    assert granted.status_code == 302
    assert client.get(url).status_code == 200
    flagged = [e for e in _events(db_session, participant.ref) if e.flags == "break_glass"]
    assert {e.action for e in flagged} >= {"participant.break_glass", "participant.read"}
    review = leader_client.get("/unit/break-glass").get_data(as_text=True)
    assert "Came to the office" in review
    grant = db_session.scalar(select(BreakGlassGrant))
    assert (
        post_form(
            leader_client, f"/unit/break-glass/{grant.ref}/review", token_from="/unit/break-glass"
        ).status_code
        == 302
    )
    assert "Came to the office" not in leader_client.get("/unit/break-glass").get_data(as_text=True)
    with time_machine.travel(utcnow() + timedelta(hours=2, minutes=1), tick=False):
        log_in(client, colleague, db_session)
        assert client.get(url).status_code == 404


def test_advisor_of_another_unit_cannot_break_the_glass(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Can an advisor from another unit break the glass? No: 404."""
    participant = make_participant()
    log_in(client, make_user("advisor"), db_session)
    assert client.get(f"/participants/{participant.ref}/break-glass").status_code == 404


def test_restriction_leaves_only_the_primary_advisor(
    app: Any,
    db_session: Any,
    make_user: Any,
    make_unit: Any,
    make_participant: Any,
    connection: Any,
) -> None:
    """Under restriction, can the leader still read? No; the primary advisor can."""
    unit = make_unit()
    advisor, leader = make_user("advisor", unit), make_user("leader", unit)
    participant = make_participant(unit=unit, advisor=advisor)
    advisor_client, leader_client = app.test_client(), app.test_client()
    log_in(advisor_client, advisor, db_session)
    log_in(leader_client, leader, db_session)
    url = f"/participants/{participant.ref}"
    assert post_form(advisor_client, f"{url}/restriction", token_from=url).status_code == 302
    assert advisor_client.get(url).status_code == 200
    assert leader_client.get(url).status_code == 404


def test_protected_address_only_for_primary(
    app: Any,
    db_session: Any,
    make_user: Any,
    make_unit: Any,
    make_participant: Any,
    connection: Any,
) -> None:
    """A protected address: shown to the primary advisor, hidden from the secondary and leader."""
    unit = make_unit()
    primary, secondary, leader = (
        make_user("advisor", unit),
        make_user("advisor", unit),
        make_user("leader", unit),
    )
    participant = make_participant(
        unit=unit, advisor=primary, secondary=secondary, is_protected_address=True
    )
    participant.address = "Hemmeligveien 7"
    db_session.commit()
    for user, visible in ((primary, True), (secondary, False), (leader, False)):
        c = app.test_client()
        log_in(c, user, db_session)
        page = c.get(f"/participants/{participant.ref}").get_data(as_text=True)
        assert ("Hemmeligveien 7" in page) is visible


# -- registration and correction ----------------------------------------------------------


def test_registration_derives_birth_date_and_deadlines(
    client: Any, db_session: Any, make_user: Any
) -> None:
    """Registering with a national ID: birth date from the number, deadlines from settlement."""
    advisor = make_user("advisor")
    log_in(client, advisor, db_session)
    unit = advisor.memberships[0].unit
    response = post_form(client, "/participants/new", registration(unit))
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    participant = db_session.scalar(select(Participant).order_by(Participant.id.desc()))
    assert participant.birth_date == BIRTH
    assert participant.primary_advisor_id == advisor.id
    assert participant.next_deadline_on == date(2025, 9, 1)
    assert participant.national_id_index is not None
    create = _events(db_session, participant.ref)[0]
    assert create.action == "participant.create"
    assert set(create.field_categories.split(",")) >= {"identity", "residence", "languages"}


def test_registration_errors_are_explained(client: Any, db_session: Any, make_user: Any) -> None:
    """Bad input: 400, the message at the field, in the user's language, nothing saved."""
    advisor = make_user("advisor")
    _english(db_session, advisor)
    log_in(client, advisor, db_session)
    unit = advisor.memberships[0].unit
    cases = {
        "national_id": ("12345678901", "check"),
        "settlement_on": ("2024-01-01", "before arrival"),
        "birth_date": ("1991-01-01", "match"),
        "email": ("not-an-email", "valid e-mail"),
    }
    for field_name, (value, message) in cases.items():
        response = post_form(client, "/participants/new", registration(unit, **{field_name: value}))
        assert response.status_code == 400, field_name
        body = response.get_data(as_text=True)
        assert f'href="#{field_name}"' in body, field_name
        assert message in body.lower(), (field_name, message)
    assert db_session.scalar(select(func.count()).select_from(Participant)) == 0


def test_registration_in_norwegian(client: Any, db_session: Any, make_user: Any) -> None:
    """Is a validation message shown in bokmål to a Norwegian user? Yes."""
    advisor = make_user("advisor")
    advisor.locale = "nb"
    db_session.commit()
    log_in(client, advisor, db_session)
    unit = advisor.memberships[0].unit
    response = post_form(
        client, "/participants/new", registration(unit, national_id="", duf_number="")
    )
    assert response.status_code == 400
    assert "DUF-nummer" in response.get_data(as_text=True)


def test_duplicate_national_id_links_to_a_visible_record(
    client: Any, db_session: Any, make_user: Any
) -> None:
    """Registering someone already in my caseload: 409 with a link to the existing record."""
    advisor = make_user("advisor")
    _english(db_session, advisor)
    log_in(client, advisor, db_session)
    unit = advisor.memberships[0].unit
    assert post_form(client, "/participants/new", registration(unit)).status_code == 302
    existing = db_session.scalar(select(Participant))
    again = post_form(client, "/participants/new", registration(unit, given_name="Other"))
    assert again.status_code == 409
    assert f"/participants/{existing.ref}" in again.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Participant)) == 1


def test_duplicate_elsewhere_reveals_only_whom_to_contact(
    app: Any, db_session: Any, make_user: Any, make_unit: Any, connection: Any
) -> None:
    """Someone registered in another unit: the unit to contact, and nothing else."""
    home, other = make_unit(name="Flyktningtjenesten Vest"), make_unit()
    first, second = make_user("advisor", home), make_user("advisor", other)
    _english(db_session, second)
    c1, c2 = app.test_client(), app.test_client()
    log_in(c1, first, db_session)
    log_in(c2, second, db_session)
    assert post_form(c1, "/participants/new", registration(home)).status_code == 302
    existing = db_session.scalar(select(Participant))
    response = post_form(c2, "/participants/new", registration(other, given_name="Someone"))
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Flyktningtjenesten Vest" in body
    assert existing.ref not in body and "Amina" not in body


def test_two_edits_second_gets_409_and_keeps_input(
    app: Any, db_session: Any, make_user: Any, make_participant: Any, connection: Any
) -> None:
    """Two advisors edit the same record: the later save gets 409 and keeps its input."""
    primary = make_user("advisor")
    unit = primary.memberships[0].unit
    secondary = make_user("advisor", unit)
    _english(db_session, primary, secondary)
    participant = make_participant(unit=unit, advisor=primary, secondary=secondary, duf_number=None)
    participant.duf_number = "201912345678"
    db_session.commit()
    url = f"/participants/{participant.ref}/edit"
    first, second = app.test_client(), app.test_client()
    log_in(first, primary, db_session)
    log_in(second, secondary, db_session)
    page_one = first.get(url).get_data(as_text=True)
    second.get(url)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page_one).group(1)
    base = {k: v for k, v in registration(unit).items() if k not in ("unit", "primary_advisor")}
    base.update(
        national_id="",
        duf_number="201912345678",
        birth_date="1990-05-17",
        version=version,
        reason="Checked against the passport",
    )
    saved = post_form(first, url, {**base, "family_name": "Hassan-Ali"}, token_from=url)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-1500:]
    late = post_form(second, url, {**base, "family_name": "Al-Hassan"}, token_from=url)
    assert late.status_code == 409
    body = late.get_data(as_text=True)
    assert "Al-Hassan" in body and "Someone else saved" in body
    db_session.expire_all()
    assert db_session.get(Participant, participant.id).family_name == "Hassan-Ali"


def test_edit_needs_a_reason(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Can a record be corrected without saying why? No."""
    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    log_in(client, advisor, db_session)
    url = f"/participants/{participant.ref}/edit"
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    data = {
        k: v
        for k, v in registration(advisor.memberships[0].unit).items()
        if k not in ("unit", "primary_advisor")
    }
    data.update(
        version=version,
        reason="",
        national_id="",
        duf_number="201912345678",
        birth_date="1990-05-17",
    )
    assert post_form(client, url, data).status_code == 400


# -- search, audit, performance shape -----------------------------------------------------


def test_search_by_name_stays_in_scope(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """A name search finds my participant (accent-insensitive) and never another's."""
    advisor = make_user("advisor")
    unit = advisor.memberships[0].unit
    mine = make_participant(unit=unit, advisor=advisor, given_name="Ødegård", family_name="Ali")
    theirs = make_participant(
        unit=unit, advisor=make_user("advisor", unit), given_name="Ødegård", family_name="Omar"
    )
    log_in(client, advisor, db_session)
    page = post_form(client, "/participants/", {"q": "odegard"}).get_data(as_text=True)
    assert mine.ref in page and theirs.ref not in page
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "participant.search"


def test_search_by_national_id(client: Any, db_session: Any, make_user: Any) -> None:
    """An ID search finds the person through the blind index; the number is not in the URL log."""
    advisor = make_user("advisor")
    log_in(client, advisor, db_session)
    unit = advisor.memberships[0].unit
    post_form(client, "/participants/new", registration(unit))
    number = norwegian_id(BIRTH)
    page = post_form(client, "/participants/", {"q": f"{number[:6]} {number[6:]}"})
    page = page.get_data(as_text=True)
    participant = db_session.scalar(select(Participant))
    assert participant.ref in page


def test_exactly_one_audit_event_per_request(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Overview, list and export: one event each, with categories and no values."""
    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    log_in(client, advisor, db_session)
    for path in (
        f"/participants/{participant.ref}",
        "/participants/",
        f"/participants/{participant.ref}/export.json",
    ):
        before = db_session.scalar(select(func.count()).select_from(AuditEvent))
        assert client.get(path).status_code == 200
        after = db_session.scalar(select(func.count()).select_from(AuditEvent))
        assert after - before == 1, path
    for logged in db_session.scalars(select(AuditEvent)):
        text = " ".join(str(v) for v in (logged.field_categories, logged.object_ref, logged.action))
        for value in (participant.given_name, participant.family_name, "1990-05-17"):
            assert value not in text


def test_caseload_query_count_does_not_grow_with_rows(
    app: Any, client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Is the caseload page free of N+1 queries (same statements for 3 or 12 rows)? Yes."""
    advisor = make_user("advisor")
    unit = advisor.memberships[0].unit
    log_in(client, advisor, db_session)
    engine = services(app).engine
    client.get("/participants/")  # warm-up: key loading and the session touch happen once
    counts = []
    for n in (3, 9):
        for _ in range(n):
            make_participant(unit=unit, advisor=advisor)
        statements: list[str] = []

        def count(*args: Any, statements: list[str] = statements, **_kw: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/participants/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_export_contains_everything_and_who_accessed(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """The GDPR access export: the record decrypted plus the access history. Yes."""
    advisor = make_user("advisor", name="Ingrid Haugen")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    log_in(client, advisor, db_session)
    client.get(f"/participants/{participant.ref}")
    data = client.get(f"/participants/{participant.ref}/export.json").get_json()
    assert data["record"]["given_name"] == participant.given_name
    assert data["record"]["birth_date"] == "1990-05-17"
    assert any(
        a["action"] == "participant.read" and a["by"] == "Ingrid Haugen" for a in data["accesses"]
    )


# -- the canary -------------------------------------------------------------------------


def test_canary_name_and_id_appear_nowhere(instance_dir: Path, tmp_path: Path, caplog: Any) -> None:
    """A canary name and ID written through the form: not in the raw database, the logs or any
    URL the app produced."""
    from models.accounts import Membership, Role, Unit, User, hash_password

    canary_name = "Kanarifuglsen"
    canary_id = norwegian_id(date(1987, 3, 14), start=321)
    url, drop = _fresh_database(tmp_path, "pcanary")
    canary_app = build_app(url)
    urls: list[str] = []
    try:
        factory = services(canary_app).session_factory
        with canary_app.app_context(), factory() as session, caplog.at_level(logging.DEBUG):
            unit = Unit(name="Canary unit")
            user = User(email="c@example.org", display_name="C", password_hash=hash_password("x"))
            session.add_all([unit, user])
            session.flush()
            session.add(Membership(user_id=user.id, unit_id=unit.id, role=Role.ADVISOR))
            session.commit()
            client = canary_app.test_client()
            log_in(client, user, session)
            token = csrf_token(client, "/participants/new")
            response = client.post(
                "/participants/new",
                data={
                    **registration(unit, family_name=canary_name, national_id=canary_id),
                    "csrf_token": token,
                },
            )
            assert response.status_code == 302
            urls.append(response.headers["Location"])
            pages = [client.get("/participants/"), client.get(response.headers["Location"])]
            for query in (canary_name, canary_id):
                # Searches are POSTed, so neither the page's URL nor its links carry them.
                found = post_form(client, "/participants/", {"q": query})
                assert response.headers["Location"] in found.get_data(as_text=True)
                pages.append(found)
            for page in pages:
                assert page.status_code == 200
                text_ = page.get_data(as_text=True)
                urls.extend(re.findall(r'(?:href|action)="([^"]+)"', text_))
            assert canary_name in client.get(response.headers["Location"]).get_data(as_text=True)
        for needle in (canary_name, canary_id):
            assert needle not in caplog.text
            assert not [u for u in urls if needle in u]
        if is_postgres():
            from sqlalchemy import inspect, text

            with services(canary_app).engine.connect() as conn:
                for table in inspect(conn).get_table_names():
                    for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                        blob = " ".join(str(v) for v in row)
                        assert canary_name not in blob and canary_id not in blob, table
        else:
            services(canary_app).engine.dispose()
            path = Path(url.removeprefix("sqlite:///"))
            for candidate in (path, Path(f"{path}-wal")):
                if candidate.exists():
                    raw = candidate.read_bytes()
                    assert canary_name.encode() not in raw and canary_id.encode() not in raw
    finally:
        services(canary_app).engine.dispose()
        drop()


def test_override_replaces_a_result_and_is_audited(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """An advisor moves a deadline with a reason: the caseload sorts by the new date; logged."""
    advisor = make_user("advisor")
    _english(db_session, advisor)
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    assert participant.next_deadline_kind == "competence_mapping"
    log_in(client, advisor, db_session)
    url = f"/participants/{participant.ref}/overrides"
    too_short = post_form(
        client,
        url,
        {"subject": "deadline:competence_mapping", "value": "2026-12-24", "reason": "ok"},
    )
    assert too_short.status_code == 400
    bad_date = post_form(
        client,
        url,
        {
            "subject": "deadline:competence_mapping",
            "value": "soon",
            "reason": "Claimed the programme later",
        },
    )
    assert bad_date.status_code == 400
    saved = post_form(
        client,
        url,
        {
            "subject": "deadline:competence_mapping",
            "value": "2026-12-24",
            "reason": "Claimed the programme later",
        },
    )
    assert saved.status_code == 302
    db_session.expire_all()
    stored = db_session.get(Participant, participant.id)
    # Mapping moved to December; the decision (same three months) is now the next deadline.
    assert (stored.next_deadline_on, stored.next_deadline_kind) == (
        date(2026, 9, 1),
        "programme_decision",
    )
    page = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert "2026-12-24" in page and "overridden" in page
    assert any(e.action == "rule.override" for e in _events(db_session, participant.ref))
    entitlement = post_form(
        client,
        url,
        {
            "subject": "programme_entitlement",
            "value": "no",
            "reason": "UDI decision changed the permit",
        },
    )
    assert entitlement.status_code == 302
    assert "UDI decision changed the permit" in client.get(
        f"/participants/{participant.ref}"
    ).get_data(as_text=True)


def test_override_accepts_the_users_words_for_yes_and_no(
    db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Do «ja», «nei» and «nej» work as well as «yes» and «no»? Yes."""
    from models.participants import override_rule
    from models.policy import Actor

    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    for word, stored in (("Ja", "yes"), ("nei", "no"), ("NEJ", "no")):
        override = override_rule(
            db_session,
            Actor(advisor),
            participant,
            subject="language_entitlement",
            value=word,
            reason="Checked with the adult learning centre",
            today=date(2026, 11, 23),
        )
        assert override.value == stored


def test_search_terms_never_travel_in_the_url(
    client: Any, db_session: Any, make_user: Any, make_participant: Any
) -> None:
    """Is a name in ?q= ignored (no search), and does the search form POST? Yes."""
    advisor = make_user("advisor")
    unit = advisor.memberships[0].unit
    mine = make_participant(unit=unit, advisor=advisor, given_name="Zainab")
    other = make_participant(unit=unit, advisor=advisor, given_name="Yusuf")
    log_in(client, advisor, db_session)
    page = client.get("/participants/?q=zainab").get_data(as_text=True)
    assert mine.ref in page and other.ref in page  # unfiltered: the q= was not used
    assert '<form method="post" class="card form-row form-row--search"' in page
