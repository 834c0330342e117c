"""The employer register: organisation numbers (NO and SE), who may use it, the list's
counts (and that it holds no participant data), contact persons, agreements, fuzzing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models.base import local_today
from models.codes import Country
from models.errors import NotFound, StaleEdit, ValidationFailed
from models.placements import (
    AgreementInput,
    AgreementKind,
    ContactInput,
    Employer,
    EmployerAgreement,
    EmployerContact,
    EmployerInput,
    JobOutcome,
    PlacementInput,
    PlacementStatus,
    PlacementType,
    add_agreement,
    add_contact,
    clean_org_number,
    create_employer,
    create_placement,
    update_employer,
)
from models.policy import Actor
from tests.conftest import csrf_token, log_in

TODAY = local_today()
NO_VALID = "988077917"  # a well-formed Norwegian organisasjonsnummer
SE_VALID = "5560360793"  # a well-formed Swedish organisationsnummer


@pytest.fixture
def reg(db_session: Any, make_unit: Any, make_user: Any, make_participant: Any) -> Any:
    class Reg:
        unit = make_unit()
        advisor = make_user("advisor", unit, name="Aisha Rådgiver", locale="en")
        leader = make_user("leader", unit, name="Lene Leder")
        teacher = make_user("teacher", unit)
        admin = make_user("admin", unit)
        partner = make_user("partner", make_unit())
        other_unit = make_unit()
        outsider = make_user("advisor", other_unit)
        participant = make_participant(
            unit=unit, advisor=advisor, given_name="Canaryname", family_name="Zyxwvut"
        )

    return Reg


def _employer(db_session: Any, reg: Any, **changes: Any) -> Employer:
    values: dict[str, Any] = {
        "name": "Bakeriet AS",
        "org_number": NO_VALID,
        "industry": "Bakery",
        "address": "Storgata 1\n0155 Oslo",
        "notes": "Good at language practice",
    }
    values.update(changes)
    employer = create_employer(db_session, Actor(reg.advisor), reg.unit.id, EmployerInput(**values))
    db_session.commit()
    return employer


# -- organisation numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "raw", "compact"),
    [
        (Country.NORWAY, "988 077 917", "988077917"),
        (Country.NORWAY, "988077917", "988077917"),
        (Country.SWEDEN, "556036-0793", "5560360793"),
        (Country.SWEDEN, "5560360793", "5560360793"),
    ],
)
def test_valid_org_numbers_are_kept_compact(country: Country, raw: str, compact: str) -> None:
    """Is a valid NO / SE organisation number accepted, stored without spaces? Yes."""
    assert clean_org_number(raw, country) == compact


@pytest.mark.parametrize(
    ("country", "raw"), [(Country.NORWAY, "988077918"), (Country.SWEDEN, "5560360794")]
)
def test_wrong_check_digit_is_refused_clearly(country: Country, raw: str) -> None:
    """Is a number with a wrong check digit refused with a message naming the check digit?"""
    with pytest.raises(ValidationFailed) as exc:
        clean_org_number(raw, country)
    assert exc.value.field == "org_number"
    assert "check digit" in exc.value.message


@pytest.mark.parametrize(
    ("country", "raw", "digits"),
    [
        (Country.NORWAY, "98807791", 9),
        (Country.NORWAY, "5560360793", 9),
        (Country.SWEDEN, "556036079", 10),
        (Country.SWEDEN, "98807791700", 10),
    ],
)
def test_wrong_length_is_refused_clearly(country: Country, raw: str, digits: int) -> None:
    """Is a number of the wrong length refused with the number of digits expected?"""
    with pytest.raises(ValidationFailed) as exc:
        clean_org_number(raw, country)
    assert exc.value.field == "org_number"
    assert exc.value.params == {"digits": digits}
    assert "digits" in exc.value.message


def test_letters_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        clean_org_number("98807791A", Country.NORWAY)


def test_org_number_is_unique_per_unit(db_session: Any, reg: Any, make_user: Any) -> None:
    """May the same organisation number be registered twice in a unit? No; in another, yes."""
    _employer(db_session, reg)
    with pytest.raises(ValidationFailed) as exc:
        _employer(db_session, reg, name="Copy")
    assert "already" in exc.value.message
    db_session.rollback()
    other = make_user("advisor", reg.other_unit)
    create_employer(
        db_session, Actor(other), reg.other_unit.id, EmployerInput(name="B", org_number=NO_VALID)
    )


def test_org_number_through_the_form(client: Any, db_session: Any, reg: Any) -> None:
    """Does the form show the clear message and save nothing? Yes."""
    log_in(client, reg.advisor, db_session)
    token = csrf_token(client, "/employers/new")
    response = client.post(
        "/employers/new",
        data={"csrf_token": token, "name": "X AS", "country": "NO", "org_number": "988077918"},
    )
    assert response.status_code == 400
    assert "check digit" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Employer)) == 0
    response = client.post(
        "/employers/new",
        data={"csrf_token": token, "name": "Y AB", "country": "SE", "org_number": SE_VALID},
    )
    assert response.status_code == 302
    employer = db_session.scalars(select(Employer)).one()
    assert (employer.country, employer.org_number, employer.unit_id) == (
        Country.SWEDEN,
        SE_VALID,
        reg.unit.id,
    )


# -- the model ---------------------------------------------------------------------------


def test_notes_and_contacts_are_sealed(db_session: Any, reg: Any) -> None:
    employer = _employer(db_session, reg)
    contact = add_contact(
        db_session,
        Actor(reg.advisor),
        employer,
        ContactInput(name="Per Veileder", phone="+47 900 00 000", email="per@bakeriet.no"),
    )
    db_session.commit()
    assert employer.notes_sealed and b"language" not in employer.notes_sealed
    assert contact.name_sealed and b"Per" not in contact.name_sealed
    assert contact.email == "per@bakeriet.no"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"phone": "call me"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_contact_validation(db_session: Any, reg: Any, changes: dict[str, Any], field: str) -> None:
    employer = _employer(db_session, reg)
    values = {"name": "Per", **changes}
    with pytest.raises(ValidationFailed) as exc:
        add_contact(db_session, Actor(reg.advisor), employer, ContactInput(**values))
    assert exc.value.field == field


def test_agreement_dates(db_session: Any, reg: Any) -> None:
    employer = _employer(db_session, reg)
    with pytest.raises(ValidationFailed) as exc:
        add_agreement(
            db_session,
            Actor(reg.advisor),
            employer,
            AgreementInput(AgreementKind.PLACEMENT, TODAY, TODAY - timedelta(days=1)),
            today=TODAY,
        )
    assert exc.value.field == "valid_to"
    add_agreement(
        db_session,
        Actor(reg.leader),
        employer,
        AgreementInput(AgreementKind.PLACEMENT, TODAY, None, "Rammeavtale"),
        today=TODAY,
    )
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(EmployerAgreement)) == 1


def test_stale_employer_edit_is_refused(db_session: Any, reg: Any) -> None:
    employer = _employer(db_session, reg)
    with pytest.raises(StaleEdit):
        update_employer(
            db_session, Actor(reg.leader), employer, employer.version + 1, EmployerInput(name="Z")
        )


def test_outsider_cannot_touch_the_register(db_session: Any, reg: Any) -> None:
    """May an advisor of another unit add a contact to this unit's employer? No (404)."""
    employer = _employer(db_session, reg)
    with pytest.raises(NotFound):
        add_contact(db_session, Actor(reg.outsider), employer, ContactInput(name="Per"))


# -- the list ----------------------------------------------------------------------------


def _placement(db_session: Any, reg: Any, employer: Employer, outcome: JobOutcome) -> None:
    create_placement(
        db_session,
        Actor(reg.advisor),
        reg.participant,
        PlacementInput(
            employer_ref=employer.ref,
            placement_type=PlacementType.WORK_PRACTICE,
            start_on=TODAY - timedelta(days=60),
            days_per_week=3,
            hours_per_week=15,
            goals="Lære kassesystemet",
            status=PlacementStatus.ENDED,
            outcome=outcome,
        ),
        today=TODAY,
    )
    db_session.commit()


def test_list_counts_and_no_participant_data(client: Any, db_session: Any, reg: Any) -> None:
    """Are the counts right, and does the list show no participant? Yes; no."""
    bakery = _employer(db_session, reg)
    shop = _employer(db_session, reg, name="Butikken AS", org_number="")
    _employer(db_session, reg, name="Tom AS", org_number="")
    _placement(db_session, reg, bakery, JobOutcome.YES)
    _placement(db_session, reg, bakery, JobOutcome.NO)
    _placement(db_session, reg, bakery, JobOutcome.YES)
    _placement(db_session, reg, shop, JobOutcome.UNKNOWN)
    log_in(client, reg.leader, db_session)
    page = client.get("/employers/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    rows = {
        row.split("</a>")[0].rsplit(">", 1)[-1]: row
        for row in text.split("<tr>")[1:]
        if "/employers/" in row
    }
    numbers = {
        name: [cell.split("<")[0] for cell in row.split('class="numeric">')[1:]]
        for name, row in rows.items()
    }
    assert numbers == {"Bakeriet AS": ["3", "2"], "Butikken AS": ["1", "0"], "Tom AS": ["0", "0"]}
    assert "Canaryname" not in text and "Zyxwvut" not in text
    assert reg.participant.ref not in text


def test_list_shows_only_the_own_unit(client: Any, db_session: Any, reg: Any) -> None:
    _employer(db_session, reg)
    log_in(client, reg.outsider, db_session)
    page = client.get("/employers/").get_data(as_text=True)
    assert "Bakeriet AS" not in page


@pytest.mark.parametrize(
    ("who", "status"), [("teacher", 403), ("admin", 403), ("partner", 403), ("outsider", 404)]
)
def test_others_cannot_open_an_employer(
    client: Any, db_session: Any, reg: Any, who: str, status: int
) -> None:
    employer = _employer(db_session, reg)
    log_in(client, getattr(reg, who), db_session)
    assert client.get(f"/employers/{employer.ref}").status_code == status


def test_employer_page_writes_one_event(client: Any, db_session: Any, reg: Any) -> None:
    from models.audit import AuditEvent

    employer = _employer(db_session, reg)
    log_in(client, reg.leader, db_session)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    assert client.get(f"/employers/{employer.ref}").status_code == 200
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1


def test_contact_and_agreement_through_the_forms(client: Any, db_session: Any, reg: Any) -> None:
    employer = _employer(db_session, reg)
    log_in(client, reg.advisor, db_session)
    url = f"/employers/{employer.ref}/contacts/new"
    token = csrf_token(client, url)
    assert client.post(url, data={"csrf_token": token, "name": "Per V"}).status_code == 302
    contact = db_session.scalars(select(EmployerContact)).one()
    edit = f"/employers/contacts/{contact.ref}"
    stale = client.post(
        edit, data={"csrf_token": token, "name": "Per W", "version": str(contact.version + 5)}
    )
    assert stale.status_code == 409 and "Per W" in stale.get_data(as_text=True)
    url = f"/employers/{employer.ref}/agreements/new"
    response = client.post(
        url, data={"csrf_token": token, "kind": "placement", "valid_from": TODAY.isoformat()}
    )
    assert response.status_code == 302
    page = client.get(f"/employers/{employer.ref}").get_data(as_text=True)
    assert "Per V" in page and "Placement agreement" in page


# -- fuzzing -----------------------------------------------------------------------------

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.sampled_from(
        ["", " ", "\x00", "a" * 9000, "2026-02-30", NO_VALID, SE_VALID, "NO", "SE", "XX", "-1"]
    ),
)


@FUZZ
@given(name=text, country=text, org=text, industry=text, address=text, notes=text, version=text)
def test_employer_forms_never_fail(
    client: Any,
    db_session: Any,
    reg: Any,
    name: Any,
    country: Any,
    org: Any,
    industry: Any,
    address: Any,
    notes: Any,
    version: Any,
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, reg.advisor, db_session)
    data = {
        "name": name,
        "country": country,
        "org_number": org,
        "industry": industry,
        "address": address,
        "notes": notes,
        "version": version,
    }
    data = {k: v for k, v in data.items() if v is not None}
    before = db_session.scalar(select(func.count()).select_from(Employer))
    token = csrf_token(client, "/employers/new")
    response = client.post("/employers/new", data={**data, "csrf_token": token})
    assert response.status_code < 500
    after = db_session.scalar(select(func.count()).select_from(Employer))
    assert after == before + (1 if response.status_code == 302 else 0)


@FUZZ
@given(name=text, title=text, phone=text, email=text, kind=text, start=text, end=text, note=text)
def test_contact_and_agreement_forms_never_fail(
    client: Any,
    db_session: Any,
    reg: Any,
    name: Any,
    title: Any,
    phone: Any,
    email: Any,
    kind: Any,
    start: Any,
    end: Any,
    note: Any,
) -> None:
    employer = db_session.scalars(select(Employer)).first() or _employer(db_session, reg)
    if not client.get_cookie("veiviser_session"):
        log_in(client, reg.leader, db_session)
    token = csrf_token(client, f"/employers/{employer.ref}/contacts/new")
    contacts = db_session.scalar(select(func.count()).select_from(EmployerContact))
    data = {"name": name, "job_title": title, "phone": phone, "email": email}
    response = client.post(
        f"/employers/{employer.ref}/contacts/new",
        data={**{k: v for k, v in data.items() if v is not None}, "csrf_token": token},
    )
    assert response.status_code < 500
    after = db_session.scalar(select(func.count()).select_from(EmployerContact))
    assert after == contacts + (1 if response.status_code == 302 else 0)
    agreements = db_session.scalar(select(func.count()).select_from(EmployerAgreement))
    data = {"kind": kind, "valid_from": start, "valid_to": end, "note": note}
    response = client.post(
        f"/employers/{employer.ref}/agreements/new",
        data={**{k: v for k, v in data.items() if v is not None}, "csrf_token": token},
    )
    assert response.status_code < 500
    after = db_session.scalar(select(func.count()).select_from(EmployerAgreement))
    assert after == agreements + (1 if response.status_code == 302 else 0)


def test_date_far_away_is_refused(db_session: Any, reg: Any) -> None:
    employer = _employer(db_session, reg)
    with pytest.raises(ValidationFailed):
        add_agreement(
            db_session,
            Actor(reg.advisor),
            employer,
            AgreementInput(AgreementKind.OTHER, date(1900, 1, 1)),
            today=TODAY,
        )
