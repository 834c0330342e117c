"""Housing pages: who sees what, the forms, conflicts, and fuzzed input."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import housing as ops
from models.access import Consent
from models.accounts import Role
from models.audit import AuditEvent
from models.base import local_today
from models.housing import Housing, HousingInput, HousingNote, HousingType
from models.policy import Actor
from models.tasks import Task
from tests.conftest import log_in, post_form
from tests.test_fuzz import FUZZ, maybe_text


@pytest.fixture
def advisor(make_user: Any) -> Any:
    user = make_user("advisor", name="Ada Advisor")
    user.locale = "en"
    return user


@pytest.fixture
def participant(advisor: Any, make_participant: Any) -> Any:
    return make_participant(unit=advisor.memberships[0].unit, advisor=advisor)


def _housing(db_session: Any, advisor: Any, participant: Any, **fields: Any) -> Housing:
    values: dict[str, Any] = {
        "housing_type": HousingType.MUNICIPAL,
        "municipality": "Drammen",
        "address": "Storgata 1, 3015 Drammen",
        "landlord": "Utleier Olsen 99 00 00 00",
        "household_size": 2,
        "contract_start_on": date(2026, 6, 1),
    }
    values.update(fields)
    housing = ops.record_housing(
        db_session, Actor(advisor), participant, HousingInput(**values), today=local_today()
    )
    db_session.commit()
    return housing


def _form(**fields: Any) -> dict[str, Any]:
    data = {
        "housing_type": "private_rental",
        "municipality": "Lier",
        "address": "Bruveien 2, 3400 Lier",
        "household_size": "4",
        "contract_start_on": "2026-09-01",
        "contract_end_on": "",
        "moved_out_on": "",
        "landlord": "",
        "adaptations": "",
    }
    data.update(fields)
    return data


def test_advisor_records_housing(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Can the assigned advisor record a housing through the page? Yes."""
    log_in(client, advisor, db_session)
    url = f"/participants/{participant.ref}/housing"
    response = post_form(client, url, _form())
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Bruveien 2" in page and "Private rental" in page


def test_bad_housing_form_keeps_input_and_saves_nothing(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Is a form with a contract ending before it starts refused, input kept? Yes, 4xx."""
    log_in(client, advisor, db_session)
    url = f"/participants/{participant.ref}/housing"
    response = post_form(client, url, _form(contract_end_on="2026-08-01"))
    assert response.status_code == 422 or response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The contract must end after it starts." in page
    assert "Bruveien 2" in page
    assert db_session.scalar(select(func.count()).select_from(Housing)) == 0


def test_stale_housing_correction_is_409_keeping_input(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a correction from a stale form answer 409 and keep what was typed? Yes."""
    housing = _housing(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    url = f"/participants/{participant.ref}/housing/{housing.ref}"
    response = post_form(
        client,
        url,
        _form(version=str(housing.version - 1), municipality="Kongsberg"),
    )
    assert response.status_code == 409
    assert "Kongsberg" in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Housing, housing.id).municipality == "Drammen"


def test_note_with_next_actions_becomes_tasks(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does a housing note posted with next actions create tasks? Yes."""
    log_in(client, advisor, db_session)
    today = local_today()
    response = post_form(
        client,
        f"/participants/{participant.ref}/housing/notes",
        {
            "note-noted_on": today.isoformat(),
            "note-kind": "home_visit",
            "note-note": "The flat is cold; radiator broken.",
            "note-action1_title": "Report the radiator",
            "note-action1_assignee": str(advisor.id),
            "note-action1_due_on": (today + timedelta(days=3)).isoformat(),
        },
        token_from=f"/participants/{participant.ref}/housing",
    )
    assert response.status_code == 302
    note = db_session.scalars(select(HousingNote)).one()
    assert [t.title for t in note.tasks] == ["Report the radiator"]
    page = client.get(f"/participants/{participant.ref}/housing/notes/{note.ref}")
    assert page.status_code == 200
    assert "Report the radiator" in page.get_data(as_text=True)


def test_page_read_is_audited(client: Any, db_session: Any, advisor: Any, participant: Any) -> None:
    """Does reading the housing page write one audit event with categories only? Yes."""
    _housing(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    assert client.get(f"/participants/{participant.ref}/housing").status_code == 200
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "housing.read")).all()
    assert len(events) == 1
    assert events[0].object_ref == participant.ref
    assert "Storgata" not in (events[0].field_categories or "")


@pytest.mark.parametrize("who", ["teacher", "other_advisor"])
def test_teacher_and_out_of_scope_advisor_get_404(
    client: Any, db_session: Any, advisor: Any, participant: Any, make_user: Any, who: str
) -> None:
    """Can a teacher or an advisor not assigned see housing pages? No: 404 on every one."""
    housing = _housing(db_session, advisor, participant)
    role = "teacher" if who == "teacher" else "advisor"
    log_in(client, make_user(role, advisor.memberships[0].unit), db_session)
    base = f"/participants/{participant.ref}/housing"
    for url in (base, f"{base}/{housing.ref}"):
        assert client.get(url).status_code == 404, url


def test_leader_reads_but_does_not_write(
    client: Any, db_session: Any, advisor: Any, participant: Any, make_user: Any
) -> None:
    """Does the unit leader read the housing page without the forms, and is a POST refused?"""
    _housing(db_session, advisor, participant)
    leader = make_user(Role.LEADER, advisor.memberships[0].unit)
    log_in(client, leader, db_session)
    url = f"/participants/{participant.ref}/housing"
    page = client.get(url).get_data(as_text=True)
    assert "Storgata 1" in page
    assert 'id="housing-form"' not in page
    assert post_form(client, url, _form()).status_code in (403, 404)


def test_protected_address_is_hidden_from_the_leader(
    client: Any, db_session: Any, advisor: Any, make_participant: Any, make_user: Any
) -> None:
    """Does a leader see a protected address? No, only the primary advisor does."""
    participant = make_participant(
        unit=advisor.memberships[0].unit, advisor=advisor, is_protected_address=True
    )
    _housing(db_session, advisor, participant)
    leader = make_user(Role.LEADER, advisor.memberships[0].unit)
    leader.locale = "en"
    log_in(client, leader, db_session)
    page = client.get(f"/participants/{participant.ref}/housing").get_data(as_text=True)
    assert "Storgata" not in page and "Olsen" not in page
    assert "Protected address" in page
    log_in(client, advisor, db_session)
    page = client.get(f"/participants/{participant.ref}/housing").get_data(as_text=True)
    assert "Storgata" in page


def _consent(db_session: Any, participant: Any, unit: Any, sections: str) -> None:
    db_session.add(
        Consent(
            participant_id=participant.id,
            partner_unit_id=unit.id,
            sections=sections,
            valid_from=local_today(),
        )
    )
    db_session.commit()


def test_partner_sees_housing_only_with_consent_to_it(
    client: Any, db_session: Any, advisor: Any, participant: Any, make_user: Any, make_unit: Any
) -> None:
    """Does a partner with consent to the plan only see housing? No; with housing, yes."""
    _housing(db_session, advisor, participant)
    partner_unit = make_unit()
    partner = make_user("partner", partner_unit)
    _consent(db_session, participant, partner_unit, "plan")
    log_in(client, partner, db_session)
    url = f"/participants/{participant.ref}/housing"
    assert client.get(url).status_code == 404
    overview = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert 'id="housing-heading"' not in overview

    housing_unit = make_unit()
    housing_partner = make_user("partner", housing_unit)
    _consent(db_session, participant, housing_unit, "housing")
    log_in(client, housing_partner, db_session)
    response = client.get(url)
    assert response.status_code == 200
    assert 'id="housing-form"' not in response.get_data(as_text=True)
    overview = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert 'id="housing-heading"' in overview
    assert 'id="decisions-heading"' not in overview


def test_overview_panel_shows_contract_ending(
    client: Any, db_session: Any, advisor: Any, participant: Any
) -> None:
    """Does the overview warn of a contract ending within the window? Yes."""
    _housing(db_session, advisor, participant, contract_end_on=local_today() + timedelta(days=20))
    log_in(client, advisor, db_session)
    page = client.get(f"/participants/{participant.ref}").get_data(as_text=True)
    assert "Contract ends soon" in page
    assert "Storgata 1" in page


def test_leader_overview_has_counts_and_no_personal_data(
    client: Any, db_session: Any, advisor: Any, participant: Any, make_user: Any
) -> None:
    """Does the leader's housing overview show counts but no address or name? Yes."""
    _housing(db_session, advisor, participant, contract_end_on=local_today() + timedelta(days=5))
    leader = make_user(Role.LEADER, advisor.memberships[0].unit)
    leader.locale = "en"
    log_in(client, leader, db_session)
    response = client.get("/housing/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Municipal dwelling" in page
    assert "Storgata" not in page and participant.family_name not in page
    assert "Drammen" not in page  # not even the municipality: it could single someone out


def test_advisor_gets_403_on_the_leader_overview(
    client: Any, db_session: Any, advisor: Any
) -> None:
    """May an advisor open the leader's housing overview? No: 403."""
    log_in(client, advisor, db_session)
    assert client.get("/housing/").status_code == 403


# -- hypothesis: never a 5xx, nothing half-saved ---------------------------------------

dates = st.one_of(
    maybe_text,
    st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 1, 1)).map(date.isoformat),
)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


@FUZZ
@given(
    housing_type=st.one_of(maybe_text, st.sampled_from([t.value for t in HousingType])),
    municipality=maybe_text,
    address=maybe_text,
    household_size=st.one_of(maybe_text, st.integers(-5, 50).map(str)),
    start=dates,
    end=dates,
    moved=dates,
    landlord=maybe_text,
    adaptations=maybe_text,
    version=maybe_text,
)
def test_housing_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    make_participant: Any,
    housing_type: Any,
    municipality: Any,
    address: Any,
    household_size: Any,
    start: Any,
    end: Any,
    moved: Any,
    landlord: Any,
    adaptations: Any,
    version: Any,
) -> None:
    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    existing = _housing(db_session, advisor, participant)
    log_in(client, advisor, db_session)
    data = _clean(
        {
            "housing_type": housing_type,
            "municipality": municipality,
            "address": address,
            "household_size": household_size,
            "contract_start_on": start,
            "contract_end_on": end,
            "moved_out_on": moved,
            "landlord": landlord,
            "adaptations": adaptations,
            "version": version,
        }
    )
    base = f"/participants/{participant.ref}/housing"
    before = db_session.scalar(select(func.count()).select_from(Housing))
    response = post_form(client, base, data)
    assert response.status_code < 500
    db_session.expire_all()
    after = db_session.scalar(select(func.count()).select_from(Housing))
    assert after == before + (1 if response.status_code == 302 else 0)
    old = (existing.municipality, existing.household_size, existing.version)
    response = post_form(client, f"{base}/{existing.ref}", data)
    assert response.status_code < 500
    db_session.expire_all()
    again = db_session.get(Housing, existing.id)
    if response.status_code != 302:
        assert (again.municipality, again.household_size, again.version) == old


@FUZZ
@given(
    noted_on=dates,
    kind=st.one_of(maybe_text, st.just("home_visit")),
    note=maybe_text,
    title=maybe_text,
    assignee=st.one_of(maybe_text, st.integers(-1, 10**6).map(str)),
    due_on=dates,
    version=maybe_text,
)
def test_housing_note_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    make_participant: Any,
    noted_on: Any,
    kind: Any,
    note: Any,
    title: Any,
    assignee: Any,
    due_on: Any,
    version: Any,
) -> None:
    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    log_in(client, advisor, db_session)
    data = _clean(
        {
            "note-noted_on": noted_on,
            "note-kind": kind,
            "note-note": note,
            "note-action1_title": title,
            "note-action1_assignee": assignee,
            "note-action1_due_on": due_on,
            "note-version": version,
        }
    )
    base = f"/participants/{participant.ref}/housing"

    def counts() -> tuple[int, int]:
        return (
            db_session.scalar(
                select(func.count())
                .select_from(HousingNote)
                .where(HousingNote.participant_id == participant.id)
            ),
            db_session.scalar(
                select(func.count()).select_from(Task).where(Task.participant_id == participant.id)
            ),
        )

    assert counts() == (0, 0)
    response = post_form(client, f"{base}/notes", data, token_from=base)
    assert response.status_code < 500
    notes, tasks = counts()
    if response.status_code == 302:
        assert notes == 1
    else:
        assert (notes, tasks) == (0, 0)
        # Correcting an existing note with the same input never half-saves either.
        created = ops.log_housing_note(
            db_session,
            Actor(advisor),
            participant,
            ops.HousingNoteInput(
                noted_on=local_today(), kind=ops.HousingNoteKind.PHONE, note="Called."
            ),
            today=local_today(),
        )
        db_session.commit()
        response = post_form(client, f"{base}/notes/{created.ref}", data)
        assert response.status_code < 500
        db_session.expire_all()
        stored = db_session.get(HousingNote, created.id)
        if response.status_code != 302:
            assert (stored.note, stored.version) == ("Called.", created.version)
