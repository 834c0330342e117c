"""The leader's export pages in a real Chromium, checked by axe-core (WCAG 2.0/2.1 A and
AA): the request form, the form refused without a purpose, and a finished export's page.

The live server runs exports inline (EXPORT_IN_BACKGROUND is off in tests), so the
status page is final when the browser lands on it. Tests run in file order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import screenshot, submit

pytestmark = pytest.mark.browser

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]

MIN_PAGES = 3  # every test of this module, run in full
FORM_BUTTON = "main form button[type=submit]"


def test_leader_opens_the_export_form(pages: Pages, check_a11y: Check) -> None:
    page = pages("leader")
    response = page.goto("/unit/exports/")
    assert response is not None and response.status == 200
    assert page.locator("#purpose").count() == 1
    check_a11y(page, "exports")


def test_export_without_a_purpose_is_refused(pages: Pages, check_a11y: Check) -> None:
    page = pages("leader")
    page.goto("/unit/exports/")
    response = submit(page, FORM_BUTTON)
    assert response is not None and response.status == 400
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#purpose[aria-invalid=true]").count() == 1
    check_a11y(page, "exports, no purpose")


def test_finished_export_offers_the_download(pages: Pages, check_a11y: Check) -> None:
    page = pages("leader")
    page.goto("/unit/exports/")
    page.locator("#format").select_option("csv")
    page.locator("#purpose").fill("Checking the participant list against the municipality")
    response = submit(page, FORM_BUTTON)
    assert response is not None and response.status == 200
    assert page.locator("#export-status").inner_text().strip() != ""
    assert page.locator("a[href$='/download']").count() == 1
    screenshot(page, "export-status")
    check_a11y(page, "export status")
