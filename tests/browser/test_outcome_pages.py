"""Outcome figures in a real Chromium, checked by axe-core (WCAG 2.0/2.1 A and AA): the
leader reads last year's figures with their charts, picks another year, meets the error
for a bad year, and reads the page on a phone.

This module seeds its own programme ends (participants ended last year in the leader's
unit) through the models, so it never changes the participants other modules rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from app.database import services
from models.base import local_today
from tests.browser.conftest import (
    COLLEAGUE,
    PHONE,
    REFUGEE_SERVICE,
    LiveServer,
    add_participant,
    assert_fits_width,
    screenshot,
    submit,
)

pytestmark = pytest.mark.browser

Pages = Callable[..., Any]
Check = Callable[[Any, str], None]

MIN_PAGES = 5  # every test of this module, run in full


@pytest.fixture(scope="module")
def year(live_server: LiveServer) -> int:
    """Twelve programme ends last year: nine for the advisor, three for the colleague."""
    from models.codes import (
        MainActivity,
        ParticipantStatus,
        ProgrammeEndKind,
        ProgrammeEndReason,
    )
    from models.decisions import ProgrammeEnd

    last_year = local_today().year - 1
    unit_id = live_server.seed.units[REFUGEE_SERVICE]
    owners = [live_server.seed.users["advisor"].id] * 9 + [live_server.seed.users[COLLEAGUE].id] * 3
    activities = [MainActivity.WORK, MainActivity.EDUCATION, MainActivity.JOB_SEEKING]
    with live_server.app.app_context(), services(live_server.app).session_factory() as session:
        for index, advisor_id in enumerate(owners):
            settled = date(last_year - 2, 1 + index % 12, 3)
            participant = add_participant(
                session,
                unit_id,
                advisor_id,
                f"Utfall Resultatsen{index}",
                "1988-04-05",
                refresh=False,  # ended programmes: no deadlines, as before
                status=ParticipantStatus.ENDED,
                settlement_on=settled,
                arrival_on=settled - timedelta(days=20),
                competence_mapping_on=settled + timedelta(days=30 + 7 * index),
                programme_decision_on=settled + timedelta(days=50 + 5 * index),
                programme_start_on=settled + timedelta(days=70 + 9 * index),
            )
            session.add(
                ProgrammeEnd(
                    participant_id=participant.id,
                    unit_id=unit_id,
                    ended_on=date(last_year, 1 + index, 15),
                    kind=ProgrammeEndKind.COMPLETED,
                    reason=ProgrammeEndReason.GOAL_REACHED
                    if index % 2
                    else ProgrammeEndReason.WORK,
                    activity_after=activities[index % 3],
                )
            )
        session.commit()
    return last_year


def test_leader_reads_the_figures(pages: Pages, check_a11y: Check, year: int) -> None:
    page = pages("leader")
    response = page.goto(f"/unit/outcomes/?year={year}")
    assert response is not None and response.status == 200
    main = page.locator("main")
    assert main.locator("svg[role=img] title").count() == 4
    assert main.locator("svg[role=img] desc").count() == 4
    assert "Resultatsen" not in main.inner_text()
    screenshot(page, "outcomes")
    check_a11y(page, "outcome figures, leader")


def test_leader_chooses_another_year(pages: Pages, check_a11y: Check, year: int) -> None:
    page = pages("leader")
    page.goto(f"/unit/outcomes/?year={year}")
    page.locator("#year").select_option(str(year - 1))
    response = submit(page, "main form.filters button[type=submit]")
    assert response is not None and response.status == 200
    assert page.locator("#year").input_value() == str(year - 1)
    check_a11y(page, "outcome figures, empty year")


def test_bad_year_shows_an_error(pages: Pages, check_a11y: Check, year: int) -> None:
    page = pages("leader")
    response = page.goto("/unit/outcomes/?year=abc")
    assert response is not None and response.status == 400
    assert page.locator("#year[aria-invalid=true]").count() == 1
    check_a11y(page, "outcome figures, bad year")


def test_export_links_answer(pages: Pages, check_a11y: Check, year: int) -> None:
    page = pages("leader")
    page.goto(f"/unit/outcomes/?year={year}")
    for link in page.locator("main a[href*='/unit/outcomes/export']").all():
        href = link.get_attribute("href")
        assert href is not None
        answer = page.request.get(href)
        assert answer.status == 200
        assert b"Resultatsen" not in answer.body()
    check_a11y(page, "outcome figures, after export")


def test_figures_on_a_phone(pages: Pages, check_a11y: Check, year: int) -> None:
    page = pages("leader")
    page.set_viewport_size(PHONE)
    page.goto(f"/unit/outcomes/?year={year}")
    assert_fits_width(page)
    check_a11y(page, "outcome figures, phone")
