"""The unit leader's outcome figures, their charts and their CSV/XLSX exports.

Only leaders reach these pages (the role check answers 403 to everyone else), and
a leader chooses among the units they lead: another unit's figures are 404. The
figures are aggregates without personal data, but each page view and each export
still writes one audit event (committed before anything is sent).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import format_decimal, format_percent, gettext

from app.database import db
from app.security import acting_user, record_event, requires
from models import outcomes
from models.accounts import Role, Unit
from models.base import local_today
from models.codes import END_GOAL_LABELS, EndGoal
from models.outcomes import FIGURES, Cell, FigureDef, Kind, Report
from models.policy import Action, Grant
from views.charts import BarChart, bar_chart

bp = Blueprint("outcomes", __name__, url_prefix="/unit/outcomes")


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Choice:
    units: list[Unit]
    unit: Unit
    year: int
    error: str | None


def _threshold() -> int:
    value = current_app.config.get("SMALL_CELL_THRESHOLD", outcomes.DEFAULT_SMALL_CELL_THRESHOLD)
    return max(int(value), 0)


def _choose() -> Choice:
    """The unit and year asked for; an unknown or foreign unit is 404, a bad year an error."""
    units = outcomes.leader_units(db(), acting_user())
    if not units:
        abort(403)
    today = local_today()
    raw_unit = request.args.get("unit", "").strip()
    unit = units[0]
    if raw_unit:
        chosen = next((u for u in units if str(u.id) == raw_unit), None)
        if chosen is None:
            abort(404)
        unit = chosen
    raw_year = request.args.get("year", "").strip()
    year, error = today.year, None
    if raw_year:
        if raw_year.isdigit() and outcomes.FIRST_YEAR <= int(raw_year) <= today.year:
            year = int(raw_year)
        else:
            error = gettext(
                "Choose a year from %(first)d to %(last)d.",
                first=outcomes.FIRST_YEAR,
                last=today.year,
            )
    return Choice(units, unit, year, error)


def _report(choice: Choice) -> Report:
    return outcomes.unit_report(
        db(), choice.unit, choice.year, today=local_today(), threshold=_threshold()
    )


def _grant(unit: Unit) -> Grant:
    return Grant(Role.LEADER, unit.id)


def format_cell(cell: Cell, figure: FigureDef, threshold: int) -> str:
    """The value as the page and the chart tables show it."""
    if cell.suppressed:
        return str(gettext("fewer than %(n)d", n=threshold))
    if cell.value is None:
        return "–"
    if figure.kind is Kind.SHARE:
        return str(format_percent(cell.value))
    return str(format_decimal(round(cell.value, 1)))


def format_n(cell: Cell, threshold: int) -> str:
    if cell.suppressed:
        return str(gettext("fewer than %(n)d", n=threshold))
    return str(cell.n)


def _advisor_label(label: str) -> str:
    return label or gettext("No primary advisor")


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
    return [by_advisor, trend, by_goal]


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
        figures=FIGURES,
        charts=_charts(report),
        format_cell=format_cell,
        format_n=format_n,
        advisor_label=_advisor_label,
        percent=format_percent,
        years=range(local_today().year, outcomes.FIRST_YEAR - 1, -1),
    ), 400 if choice.error else 200


# -- exports -------------------------------------------------------------------------

EXPORT_HEADER = ("table", "group", "figure", "value", "count", "n", "suppressed")


def export_rows(report: Report) -> list[tuple[Any, ...]]:
    """The figure tables as plain rows: no participant data, suppressed cells left blank."""
    rows: list[tuple[Any, ...]] = []
    below = f"<{report.threshold}"

    def row(table: str, group: str, key: str, cell: Cell) -> tuple[Any, ...]:
        if cell.suppressed:
            return (table, group, key, None, None, below, "yes")
        value = None if cell.value is None else round(cell.value, 4)
        return (table, group, key, value, cell.count, cell.n, "no")

    for figure in FIGURES:
        rows.append(row("unit", report.unit.name, figure.key, report.total.cells[figure.key]))
    for group in report.advisors:
        name = group.label or "(no primary advisor)"
        for figure in FIGURES:
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
