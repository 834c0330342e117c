"""The unit leader's outcome figures, their charts and their CSV/XLSX exports.

Only leaders reach these pages (the role check answers 403 to everyone else), and
a leader chooses among the units they lead: another unit's figures are 404. The
figures are aggregates without personal data, but each page view and each export
still writes one audit event (committed before anything is sent).
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from typing import Any

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from flask import Blueprint, Response, abort, current_app, g, render_template
from flask_babel import format_percent, get_locale, gettext

from app.database import db
from app.security import record_event, requires
from models import outcomes
from models.accounts import Role, Unit
from models.base import local_today
from models.codes import END_GOAL_LABELS, EndGoal
from models.outcomes import Cell, FigureDef, Kind, Report
from models.policy import Action, Grant
from views.charts import BarChart, bar_chart
from views.common import UnitYear, choose_unit_and_year

bp = Blueprint("outcomes", __name__, url_prefix="/unit/outcomes")


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _threshold() -> int:
    value = current_app.config.get("SMALL_CELL_THRESHOLD", outcomes.DEFAULT_SMALL_CELL_THRESHOLD)
    return max(int(value), 0)


def _choose() -> UnitYear:
    today = local_today()
    return choose_unit_and_year(today.year, outcomes.FIRST_YEAR, today.year)


def _report(choice: UnitYear) -> Report:
    return outcomes.unit_report(
        db(), choice.unit, choice.year, today=local_today(), threshold=_threshold()
    )


def _grant(unit: Unit) -> Grant:
    return Grant(Role.LEADER, unit.id)


# A cell hidden only so that a small one cannot be derived; the page explains the mark.
COMPLEMENTARY_MARK = "–*"


@dataclass(frozen=True)
class _NumberFormats:
    locale: Locale
    percent: NumberPattern
    rate: NumberPattern
    decimal: NumberPattern


@functools.cache
def _number_formats(locale_name: str) -> _NumberFormats:
    # A 10k unit's page formats thousands of cells; Babel would parse the locale's
    # pattern again for each one (two thirds of the page's time), so parse once.
    locale = Locale.parse(locale_name)
    return _NumberFormats(
        locale,
        parse_pattern(locale.percent_formats[None]),
        # Absence rates are small: one decimal tells 4.6 % from 5.4 %.
        parse_pattern("#,##0.0 %"),
        parse_pattern(locale.decimal_formats[None]),
    )


@functools.lru_cache(maxsize=8192)
def _format_value(locale_name: str, kind: Kind, value: float) -> str:
    # Shares repeat a lot across thousands of cells, so one formatting per distinct value.
    formats = _number_formats(locale_name)
    if kind is Kind.SHARE:
        return str(formats.percent.apply(value, formats.locale))
    if kind is Kind.RATE:
        return str(formats.rate.apply(value, formats.locale))
    if kind is Kind.COUNT:
        return str(formats.decimal.apply(int(value), formats.locale))
    return str(formats.decimal.apply(round(value, 1), formats.locale))


def _request_texts(threshold: int) -> tuple[str, str]:
    """The request's locale name and its "fewer than n" text, looked up once per request."""
    key = f"_outcome_texts_{threshold}"
    texts: tuple[str, str] | None = g.get(key)
    if texts is None:
        texts = (str(get_locale() or "en"), str(gettext("fewer than %(n)d", n=threshold)))
        setattr(g, key, texts)
    return texts


def format_cell(cell: Cell, figure: FigureDef, threshold: int) -> str:
    """The value as the page and the chart tables show it."""
    if cell.complementary:
        return COMPLEMENTARY_MARK
    locale_name, fewer = _request_texts(threshold)
    if cell.suppressed:
        return fewer
    if cell.value is None:
        return "–"
    return _format_value(locale_name, figure.kind, cell.value)


def format_n(cell: Cell, threshold: int) -> str:
    if cell.complementary:
        return COMPLEMENTARY_MARK
    if cell.suppressed:
        return _request_texts(threshold)[1]
    return str(cell.n)


def _advisor_label(label: str) -> str:
    return label or gettext("No primary advisor")


def _advisor_cell(cell: Cell, figure: FigureDef, threshold: int) -> str:
    text = format_cell(cell, figure, threshold)
    if cell.suppressed or figure.kind is Kind.COUNT:
        return text
    return f"{text} ({cell.n})"


def _advisor_rows(report: Report) -> list[tuple[str, list[str]]]:
    """The per-advisor table as text, built here: a unit of 250 advisors has some 5,000
    cells, and formatting them in the template took longer than the figures' queries."""
    return [
        (
            _advisor_label(group.label),
            [
                _advisor_cell(group.cells[figure.key], figure, report.threshold)
                for figure in report.figures
            ],
        )
        for group in report.advisors
    ]


def _charts(report: Report) -> list[BarChart]:
    figure = outcomes.FIGURE_BY_KEY["work_or_education"]
    target = outcomes.NATIONAL_WORK_OR_EDUCATION_TARGET
    by_advisor = bar_chart(
        "chart-advisor",
        gettext("In work or education after the programme, by advisor, %(year)d", year=report.year),
        gettext(
            "One bar per advisor: the share of programme ends in %(year)d followed by work or "
            "education. The line marks the national target of %(target)s. Advisors with fewer "
            "than %(n)d ends have no bar. The table below gives the same values.",
            year=report.year,
            target=format_percent(target),
            n=report.threshold,
        ),
        [
            (
                _advisor_label(g.label),
                g.cells["work_or_education"].value,
                format_cell(g.cells["work_or_education"], figure, report.threshold),
            )
            for g in report.groups
        ],
        target=target,
    )
    trend = bar_chart(
        "chart-trend",
        gettext("In work or education after the programme, by quarter of the end"),
        gettext(
            "One bar per quarter of %(prev)d and %(year)d: the share of the unit's programme "
            "ends in that quarter followed by work or education. The line marks the national "
            "target. Quarters with fewer than %(n)d ends have no bar. The table below gives "
            "the same values.",
            prev=report.year - 1,
            year=report.year,
            n=report.threshold,
        ),
        [
            (
                f"{p.year} Q{p.quarter}",
                p.cell.value,
                format_cell(p.cell, figure, report.threshold),
            )
            for p in report.trend
        ],
        target=target,
    )
    by_goal = bar_chart(
        "chart-end-goal",
        gettext(
            "In work or education after the programme, by end goal, %(year)d", year=report.year
        ),
        gettext(
            "One bar per end goal of the plan: the share of programme ends in %(year)d followed "
            "by work or education. The line marks the national target. End goals with fewer "
            "than %(n)d ends have no bar. The table below gives the same values.",
            year=report.year,
            n=report.threshold,
        ),
        [
            (
                _end_goal_label(p.end_goal),
                p.cell.value,
                format_cell(p.cell, figure, report.threshold),
            )
            for p in report.by_end_goal
        ],
        target=target,
    )
    absence_figure = outcomes.FIGURE_BY_KEY["absence_rate"]
    absence = bar_chart(
        "chart-absence",
        gettext("Unexcused absence by advisor, %(year)d", year=report.year),
        gettext(
            "One bar per advisor: unexcused absence as a share of the scheduled minutes of "
            "language training in %(year)d, leave left out. Advisors with fewer than %(n)d "
            "participants with attendance have no bar. The table below gives the same values.",
            year=report.year,
            n=report.threshold,
        ),
        [
            (
                _advisor_label(g.label),
                g.cells["absence_rate"].value,
                format_cell(g.cells["absence_rate"], absence_figure, report.threshold),
            )
            for g in report.groups
        ],
    )
    return [by_advisor, trend, by_goal, absence]


def _end_goal_label(goal: EndGoal | None) -> str:
    if goal is None:
        return str(gettext("No plan"))
    return str(gettext(END_GOAL_LABELS[goal]))


@bp.get("/")
@requires(Action.OUTCOMES_READ)
def index() -> tuple[str, int]:
    choice = _choose()
    report = _report(choice)
    record_event(
        "outcomes.read",
        object_type="unit",
        object_ref=str(choice.unit.id),
        field_categories=("outcome_figures",),
        grant=_grant(choice.unit),
    )
    db().commit()
    return render_template(
        "outcomes/index.html",
        choice=choice,
        report=report,
        figures=report.figures,
        charts=_charts(report),
        complementary_mark=COMPLEMENTARY_MARK,
        format_cell=format_cell,
        format_n=format_n,
        advisor_rows=_advisor_rows(report),
        percent=format_percent,
        years=range(local_today().year, outcomes.FIRST_YEAR - 1, -1),
    ), 400 if choice.error else 200


# -- exports -------------------------------------------------------------------------

EXPORT_HEADER = ("table", "group", "figure", "value", "count", "n", "suppressed", "reason")


def export_rows(report: Report) -> list[tuple[Any, ...]]:
    """The figure tables as plain rows: no participant data, suppressed cells left blank.

    A cell hidden by complementary suppression has its n blank too (its n is not small,
    but it would give the hidden one away); `reason` says which rule hid a cell.
    """
    rows: list[tuple[Any, ...]] = []
    below = f"<{report.threshold}"

    def row(table: str, group: str, key: str, cell: Cell) -> tuple[Any, ...]:
        if cell.complementary:
            return (table, group, key, None, None, None, "yes", "complementary")
        if cell.suppressed:
            return (table, group, key, None, None, below, "yes", "small")
        value = None if cell.value is None else round(cell.value, 4)
        return (table, group, key, value, cell.count, cell.n, "no", "")

    for figure in report.figures:
        rows.append(row("unit", report.unit.name, figure.key, report.total.cells[figure.key]))
    for group in report.advisors:
        name = group.label or "(no primary advisor)"
        for figure in report.figures:
            rows.append(row("advisor", name, figure.key, group.cells[figure.key]))
    for point in report.trend:
        rows.append(
            row("quarter", f"{point.year}-Q{point.quarter}", "work_or_education", point.cell)
        )
    for goal_point in report.by_end_goal:
        goal = goal_point.end_goal.value if goal_point.end_goal else "(no plan)"
        rows.append(row("end_goal", goal, "work_or_education", goal_point.cell))
    return rows


def _export(fmt: str) -> Response:
    choice = _choose()
    if choice.error:
        abort(400)
    report = _report(choice)
    record_event(
        "outcomes.export",
        object_type="unit",
        object_ref=str(choice.unit.id),
        field_categories=("outcome_figures", f"format:{fmt}"),
        grant=_grant(choice.unit),
    )
    db().commit()
    rows = export_rows(report)
    filename = f"veiviser-outcomes-{choice.unit.id}-{choice.year}.{fmt}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_HEADER)
        writer.writerows(rows)
        response = Response(buffer.getvalue(), mimetype="text/csv")
    else:
        response = Response(_xlsx(report, rows), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _xlsx(report: Report, rows: list[tuple[Any, ...]]) -> bytes:
    # openpyxl ships no type hints (and types-openpyxl is not a dependency).
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    for table, title in (
        ("unit", "Unit"),
        ("advisor", "By advisor"),
        ("quarter", "By quarter"),
        ("end_goal", "By end goal"),
    ):
        sheet = book.create_sheet(title)
        sheet.append(["year", report.year])
        sheet.append(list(EXPORT_HEADER))
        for row in rows:
            if row[0] == table:
                sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.get("/export.csv")
@requires(Action.OUTCOMES_READ)
def export_csv() -> Response:
    return _export("csv")


@bp.get("/export.xlsx")
@requires(Action.OUTCOMES_READ)
def export_xlsx() -> Response:
    return _export("xlsx")
