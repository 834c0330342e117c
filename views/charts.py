"""Geometry for server-rendered bar charts (inline SVG, no JavaScript).

The template `templates/outcomes/_bar_chart.html` draws the SVG from a `BarChart`
with `role="img"`, a `<title>`, a `<desc>` and a data table beside it; colours
come from CSS classes (the CSP forbids inline style attributes). A suppressed or
empty value gets no bar, only its label, so the chart never shows more than the
table does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 640
BAR_HEIGHT = 22
GAP = 10
LEFT = 250  # room for the row labels (up to 30 characters)
RIGHT = 60  # room for the value after the bar
TOP = 10


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a share 0–1; None when hidden or empty
    text: str  # the value as the table shows it ("72 %", "fewer than 5")
    y: float
    width: float
    text_y: float


@dataclass
class BarChart:
    """A horizontal bar chart of shares (0–1) with an optional target line."""

    chart_id: str
    title: str
    description: str
    bars: list[Bar] = field(default_factory=list)
    target: float | None = None
    width: int = WIDTH
    left: int = LEFT
    plot_width: int = WIDTH - LEFT - RIGHT

    @property
    def height(self) -> int:
        return TOP * 2 + max(1, len(self.bars)) * (BAR_HEIGHT + GAP) + 14

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT

    @property
    def target_x(self) -> float | None:
        if self.target is None:
            return None
        return round(self.left + self.target * self.plot_width, 1)

    @property
    def axis_y(self) -> int:
        return self.height - 14


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    rows: list[tuple[str, float | None, str]],
    *,
    target: float | None = None,
) -> BarChart:
    """Lay out `rows` of (label, share or None, text) as bars, top to bottom."""
    chart = BarChart(chart_id, title, description, target=target)
    for index, (label, value, text) in enumerate(rows):
        y = TOP + index * (BAR_HEIGHT + GAP)
        clamped = min(max(value, 0.0), 1.0) if value is not None else None
        width = round(clamped * chart.plot_width, 1) if clamped is not None else 0.0
        chart.bars.append(Bar(label, clamped, text, y, width, y + BAR_HEIGHT / 2 + 4))
    return chart
