"""Hypothesis-fuzzed forms: whatever is typed, the answer is never a 5xx and nothing half-saves."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models.accounts import Unit, User
from tests.conftest import csrf_token, log_in

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text including control characters, RTL marks, NULs, emoji and very long runs.
text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "a" * 5000,
            "ÆØÅ æøå",
            "\u202e",
            "%(name)s",
            "{{ 7*7 }}",
        ]
    ),
)
maybe_text = st.one_of(st.none(), text)


def _form(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


@FUZZ
@given(email=maybe_text, password=maybe_text, otp=maybe_text)
def test_login_form_never_fails(client: Any, email: Any, password: Any, otp: Any) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data=_form({"email": email, "password": password, "otp": otp, "csrf_token": token}),
    )
    assert response.status_code in (200, 302, 400, 429)


@FUZZ
@given(
    display_name=maybe_text,
    email=maybe_text,
    password=maybe_text,
    unit=st.one_of(st.none(), text, st.integers().map(str)),
    role=st.one_of(st.none(), text, st.sampled_from(["advisor", "admin", "ADMIN", "root"])),
    locale=maybe_text,
)
def test_new_user_form_never_fails(
    client: Any,
    db_session: Any,
    make_user: Any,
    display_name: Any,
    email: Any,
    password: Any,
    unit: Any,
    role: Any,
    locale: Any,
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, make_user("admin"), db_session)
    before = db_session.scalar(select(func.count()).select_from(User))
    token = csrf_token(client, "/admin/users/new")
    response = client.post(
        "/admin/users/new",
        data=_form(
            {
                "display_name": display_name,
                "email": email,
                "password": password,
                "unit": unit,
                "role": role,
                "locale": locale,
                "csrf_token": token,
            }
        ),
    )
    assert response.status_code in (200, 302, 400)
    after = db_session.scalar(select(func.count()).select_from(User))
    assert after == before + (1 if response.status_code == 302 else 0)


@FUZZ
@given(name=maybe_text, kind=maybe_text, is_active=maybe_text, version=maybe_text)
def test_unit_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    make_unit: Any,
    name: Any,
    kind: Any,
    is_active: Any,
    version: Any,
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, make_user("admin"), db_session)
    unit = make_unit()
    before = db_session.scalar(select(func.count()).select_from(Unit))
    token = csrf_token(client, "/admin/units/new")
    created = client.post(
        "/admin/units/new", data=_form({"name": name, "kind": kind, "csrf_token": token})
    )
    assert created.status_code in (200, 302, 400)
    edited = client.post(
        f"/admin/units/{unit.id}",
        data=_form(
            {
                "name": name,
                "kind": kind,
                "is_active": is_active,
                "version": version,
                "csrf_token": token,
            }
        ),
    )
    assert edited.status_code in (200, 302, 400, 409)
    after = db_session.scalar(select(func.count()).select_from(Unit))
    assert after == before + (1 if created.status_code == 302 else 0)


@FUZZ
@given(
    display_name=maybe_text,
    email=maybe_text,
    locale=maybe_text,
    version=maybe_text,
    member_unit=maybe_text,
    member_role=maybe_text,
    new_password=maybe_text,
)
def test_user_edit_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    display_name: Any,
    email: Any,
    locale: Any,
    version: Any,
    member_unit: Any,
    member_role: Any,
    new_password: Any,
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, make_user("admin"), db_session)
    target = make_user("advisor")
    page = f"/admin/users/{target.ref}"
    token = csrf_token(client, page)
    responses = [
        client.post(
            page,
            data=_form(
                {
                    "display_name": display_name,
                    "email": email,
                    "locale": locale,
                    "version": version,
                    "csrf_token": token,
                }
            ),
        ),
        client.post(
            f"{page}/memberships",
            data=_form({"m-unit": member_unit, "m-role": member_role, "csrf_token": token}),
        ),
        client.post(
            f"{page}/password", data=_form({"p-password": new_password, "csrf_token": token})
        ),
    ]
    for response in responses:
        assert response.status_code in (200, 302, 400, 409)


@FUZZ
@given(current=maybe_text, new=maybe_text, otp=maybe_text, locale=maybe_text, nxt=maybe_text)
def test_account_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    current: Any,
    new: Any,
    otp: Any,
    locale: Any,
    nxt: Any,
) -> None:
    user = make_user("advisor")
    log_in(client, user, db_session)
    token = csrf_token(client, "/account")
    responses = [
        client.post("/account/mfa", data=_form({"otp": otp, "csrf_token": token})),
        client.post("/language", data=_form({"locale": locale, "next": nxt, "csrf_token": token})),
        client.post(
            "/account",
            data=_form({"current_password": current, "new_password": new, "csrf_token": token}),
        ),
    ]
    for response in responses:
        assert response.status_code in (200, 302, 400)
    location = responses[1].headers.get("Location", "/")
    assert location.startswith("/") and not location.startswith("//")


@FUZZ
@given(
    path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=60),
    page=maybe_text,
)
def test_urls_never_fail(
    client: Any, db_session: Any, make_user: Any, path: str, page: Any
) -> None:
    if not client.get_cookie("veiviser_session"):
        log_in(client, make_user("admin"), db_session)
    from urllib.parse import quote

    response = client.get(f"/admin/users/{quote(path)}")
    assert response.status_code < 500
    listing = client.get("/admin/users", query_string=_form({"page": page}))
    assert listing.status_code == (400 if page and "\x00" in page else 200)


def test_nul_byte_in_input_is_400(client: Any) -> None:
    """Is a NUL byte in any field refused with 400 rather than reaching the database? Yes."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": "a\x00b@example.org", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400


dates = st.one_of(
    st.none(),
    st.dates(min_value=__import__("datetime").date(1, 1, 1)).map(lambda d: d.isoformat()),
    text,
    st.sampled_from(["2025-02-30", "0000-00-00", "9999-12-31", "1990-05-17", "2026-13-01"]),
)
ids = st.one_of(
    maybe_text,
    st.from_regex(r"\A[0-9 ]{9,14}\Z", fullmatch=True),
    st.sampled_from(["17059012345", "01017000000", "201912345678", "19900517-1234"]),
)
choice = st.one_of(maybe_text, st.sampled_from(["NO", "SE", "no_refugee", "ar", "female", "0"]))


def _participant_form(draw: Any) -> dict[str, Any]:
    return _form(
        {
            "country": draw(choice),
            "given_name": draw(maybe_text),
            "family_name": draw(maybe_text),
            "preferred_name": draw(maybe_text),
            "national_id": draw(ids),
            "duf_number": draw(ids),
            "birth_date": draw(dates),
            "sex": draw(choice),
            "phone": draw(maybe_text),
            "email": draw(maybe_text),
            "address": draw(maybe_text),
            "is_protected_address": draw(maybe_text),
            "languages": draw(choice),
            "interpreter_needed": draw(maybe_text),
            "interpreter_language": draw(choice),
            "permit_category": draw(choice),
            "permit_granted_on": draw(dates),
            "arrival_on": draw(dates),
            "settlement_municipality": draw(maybe_text),
            "settlement_on": draw(dates),
            "notes": draw(maybe_text),
        }
    )


@FUZZ
@given(data=st.data())
def test_registration_form_never_fails(
    client: Any, db_session: Any, make_user: Any, data: Any
) -> None:
    from models.participants import Participant

    if not client.get_cookie("veiviser_session"):
        log_in(client, make_user("advisor"), db_session)
    before = db_session.scalar(select(func.count()).select_from(Participant))
    token = csrf_token(client, "/participants/new")
    form = _participant_form(data.draw)
    form.update(
        _form(
            {
                "unit": data.draw(st.one_of(st.none(), text, st.integers().map(str))),
                "primary_advisor": data.draw(maybe_text),
                "csrf_token": token,
            }
        )
    )
    response = client.post("/participants/new", data=form)
    assert response.status_code in (200, 302, 400, 409)
    after = db_session.scalar(select(func.count()).select_from(Participant))
    assert after == before + (1 if response.status_code == 302 else 0)


@FUZZ
@given(data=st.data())
def test_edit_form_never_fails(
    client: Any, db_session: Any, make_user: Any, make_participant: Any, data: Any
) -> None:
    from models.participants import Participant, ParticipantChange

    advisor = make_user("advisor")
    participant = make_participant(unit=advisor.memberships[0].unit, advisor=advisor)
    log_in(client, advisor, db_session)
    url = f"/participants/{participant.ref}/edit"
    token = csrf_token(client, url)
    form = _participant_form(data.draw)
    form.update(
        _form(
            {
                "version": data.draw(st.one_of(maybe_text, st.just(str(participant.version)))),
                "reason": data.draw(maybe_text),
                "csrf_token": token,
            }
        )
    )
    response = client.post(url, data=form)
    assert response.status_code in (200, 302, 400, 409)
    db_session.expire_all()
    changes = db_session.scalar(
        select(func.count())
        .select_from(ParticipantChange)
        .where(ParticipantChange.participant_id == participant.id)
    )
    stored = db_session.get(Participant, participant.id)
    if response.status_code != 302:
        # nothing half-saved: the record is as it was and no change was logged
        assert changes == 0 and stored.version == participant.version


@FUZZ
@given(
    q=maybe_text,
    status=maybe_text,
    advisor=maybe_text,
    page=maybe_text,
    reason=maybe_text,
    sections=choice,
    valid_from=dates,
    valid_to=dates,
    partner=maybe_text,
)
def test_other_participant_forms_never_fail(
    client: Any,
    db_session: Any,
    make_user: Any,
    make_participant: Any,
    q: Any,
    status: Any,
    advisor: Any,
    page: Any,
    reason: Any,
    sections: Any,
    valid_from: Any,
    valid_to: Any,
    partner: Any,
) -> None:
    owner = make_user("advisor")
    participant = make_participant(unit=owner.memberships[0].unit, advisor=owner)
    log_in(client, owner, db_session)
    listing = client.get(
        "/participants/",
        query_string=_form({"q": q, "status": status, "advisor": advisor, "page": page}),
    )
    assert listing.status_code in (200, 400)
    search = client.post(
        "/participants/",
        data=_form(
            {
                "q": q,
                "status": status,
                "advisor": advisor,
                "page": page,
                "csrf_token": csrf_token(client, "/participants/"),
            }
        ),
    )
    assert search.status_code in (200, 400)
    url = f"/participants/{participant.ref}"
    token = csrf_token(client, f"{url}/consents")
    consent = client.post(
        f"{url}/consents",
        data=_form(
            {
                "partner_unit": partner,
                "sections": sections,
                "purpose": reason,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "csrf_token": token,
            }
        ),
    )
    assert consent.status_code in (200, 302, 400)
    glass = client.post(f"{url}/break-glass", data=_form({"reason": reason, "csrf_token": token}))
    assert glass.status_code in (200, 302, 400)
