"""Translations: bokmål by default, Swedish and English, remembered per user, complete catalogs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from tests.conftest import csrf_token, log_in, post_form

TRANSLATIONS = Path(__file__).resolve().parent.parent / "app" / "translations"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def test_norwegian_is_the_default(client: Any) -> None:
    """Without any preference, is the login page in Norwegian bokmål? Yes."""
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="nb">' in page
    assert "Logg inn" in page


def test_browser_language_is_followed(client: Any) -> None:
    """Does a Swedish browser get Swedish, and a browser asking for «no» get bokmål? Yes."""
    swedish = client.get("/login", headers={"Accept-Language": "sv-SE,sv;q=0.9"})
    assert '<html lang="sv">' in swedish.get_data(as_text=True)
    norwegian = client.get("/login", headers={"Accept-Language": "no,en;q=0.5"})
    assert '<html lang="nb">' in norwegian.get_data(as_text=True)


def test_language_choice_is_remembered_per_user(
    app: Any, client: Any, db_session: Any, make_user: Any
) -> None:
    """A user who picks Swedish: Swedish on their next login from another browser? Yes."""
    user = make_user("advisor")
    log_in(client, user, db_session)
    response = post_form(client, "/language", {"locale": "sv", "next": "/account"}, token_from="/")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    db_session.refresh(user)
    assert user.locale == "sv"
    other_browser = app.test_client()
    log_in(other_browser, user, db_session)
    page = other_browser.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="sv">' in page


def test_anonymous_language_choice_lasts_the_session(client: Any) -> None:
    """On the login page, does choosing English switch the page to English? Yes."""
    token = csrf_token(client, "/login")
    client.post("/language", data={"locale": "en", "next": "/login", "csrf_token": token})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log in to Veiviser" in page


def test_language_switch_refuses_foreign_redirects(client: Any) -> None:
    """Can the language form's next field send the user off-site? No."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/language", data={"locale": "en", "next": "https://evil.example/", "csrf_token": token}
    )
    assert response.headers["Location"] == "/"


def test_domain_errors_are_translated(client: Any, db_session: Any, make_user: Any) -> None:
    """Is a message raised in the domain shown in the user's language? Yes."""
    user = make_user("advisor")
    user.locale = "nb"
    db_session.commit()
    log_in(client, user, db_session)
    response = post_form(
        client, "/account", {"current_password": "feil passord her", "new_password": "x" * 20}
    )
    assert response.status_code == 400
    assert "Det nåværende passordet er feil." in response.get_data(as_text=True)


@pytest.mark.parametrize("locale", ["nb", "sv"])
def test_catalog_is_complete(locale: str) -> None:
    """Is every message translated, none fuzzy, with the same placeholders? Yes."""
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    template_ids = {m.id for m in template if m.id}
    catalog_ids = {m.id for m in catalog if m.id}
    assert template_ids <= catalog_ids, f"missing from {locale}: {template_ids - catalog_ids}"
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert forms and all(forms), f"untranslated in {locale}: {message.id!r}"
        assert not message.fuzzy, f"fuzzy in {locale}: {message.id!r}"
        assert set(PLACEHOLDER.findall(str(message.id))) == set(
            PLACEHOLDER.findall(str(message.string))
        ), f"placeholders differ in {locale}: {message.id!r}"


def test_template_is_up_to_date() -> None:
    """Does messages.pot contain every string the code marks? (Run the extract command.)"""
    from babel.messages.extract import extract_from_dir

    root = TRANSLATIONS.parent.parent
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    method_map = [
        ("app/**.py", "python"),
        ("models/**.py", "python"),
        ("views/**.py", "python"),
        ("templates/**.html", "jinja2"),
    ]
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "N_": None,
        "_l": None,
        "lazy_gettext": None,
    }
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map=method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    missing = found - known
    assert not missing, f"run the extraction (README, Translations); missing: {sorted(missing)[:5]}"
