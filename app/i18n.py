"""Translations: Norwegian bokmål by default, Swedish and English.

Catalogs are compiled from the `.po` files when the app starts (only when a
`.po` is newer than its `.mo`), so no manual build step exists to forget.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import Babel, gettext
from flask_login import current_user

from models.errors import DomainError

SOURCE_DIR = Path(__file__).parent / "translations"
LOCALES = ("nb", "sv", "en")
LOCALE_NAMES = {"nb": "Norsk bokmål", "sv": "Svenska", "en": "English"}
# Browsers send "no" or "nn" for Norwegian; bokmål is what we have.
_ALIASES = {"no": "nb", "nn": "nb", "nb": "nb", "sv": "sv", "en": "en"}


def compile_catalogs(target: Path) -> Path:
    """Compile every `.po` under app/translations into `target`; returns the directory used."""
    for po_path in SOURCE_DIR.glob("*/LC_MESSAGES/messages.po"):
        locale = po_path.parent.parent.name
        mo_path = target / locale / "LC_MESSAGES" / "messages.mo"
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        # Write then rename: several processes may start at once.
        fd, tmp = tempfile.mkstemp(dir=mo_path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(tmp, mo_path)
    return target


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    for lang, _quality in request.accept_languages:
        base = lang.split("-")[0].lower()
        if base in _ALIASES:
            return _ALIASES[base]
    return "nb"


def translate_error(error: DomainError) -> str:
    """The domain error's message in the user's language."""
    return str(gettext(error.message, **error.params))


def init_app(app: Flask) -> None:
    target = Path(app.instance_path) / "translations"
    try:
        directory = compile_catalogs(target)
    except OSError:
        directory = compile_catalogs(Path(tempfile.gettempdir()) / "veiviser-translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _locale_context() -> dict[str, object]:
        from flask_babel import get_locale

        locale = get_locale()
        return {
            "current_locale": str(locale) if locale else "nb",
            "locale_names": LOCALE_NAMES,
        }
