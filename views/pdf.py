"""PDF documents for participants (the printable plan, the participation certificate).

A document is a title, a subtitle and sections of label/value rows, paragraphs
and tables; this module lays them out on A4 with reportlab (pure Python, from PyPI
alone). Text is escaped before it reaches reportlab's paragraph mark-up, so free
text is printed exactly as written. The Bitstream Vera font that ships with
reportlab is embedded, so Norwegian and Swedish letters print on any reader.
The PDF's metadata holds the title only: never the participant's name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "Vera"
FONT_BOLD = "Vera-Bold"
MARGIN = 18 * mm


@dataclass
class PdfSection:
    heading: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    # (column headings, rows of cells)
    table: tuple[list[str], list[list[str]]] | None = None


@cache
def _styles() -> StyleSheet1:
    fonts = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(fonts / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(fonts / "VeraBd.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)
    sheet = getSampleStyleSheet()
    for name in ("Title", "Heading2", "BodyText", "Normal"):
        style = sheet[name]
        style.fontName = FONT_BOLD if name in ("Title", "Heading2") else FONT
    sheet["Title"].alignment = 0  # left, like the web page
    sheet["BodyText"].fontSize = 10.5
    sheet["BodyText"].leading = 14
    sheet.add(ParagraphStyle("Cell", parent=sheet["BodyText"], fontSize=9.5, leading=12))
    sheet.add(ParagraphStyle("Label", parent=sheet["Cell"], fontName=FONT_BOLD))
    sheet.add(ParagraphStyle("Subtitle", parent=sheet["BodyText"], textColor=colors.grey))
    sheet.add(ParagraphStyle("Footer", parent=sheet["Cell"], textColor=colors.grey))
    return sheet


def _text(value: str, style: ParagraphStyle) -> Paragraph:
    # Line breaks in free text are kept; everything else is printed literally.
    return Paragraph(escape(value or "–").replace("\n", "<br/>"), style)


def _grid(cells: list[list[Paragraph]], widths: list[float], header: bool) -> Table:
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black))
    table.setStyle(TableStyle(commands))
    return table


def render_pdf(title: str, subtitle: str, sections: list[PdfSection], footer: str) -> bytes:
    """An A4 PDF of the document; any caller that has already authorised the reader."""
    sheet = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author="Veiviser",
    )
    width = A4[0] - 2 * MARGIN
    story: list[Any] = [_text(title, sheet["Title"])]
    if subtitle:
        story.append(_text(subtitle, sheet["Subtitle"]))
    for section in sections:
        story.append(_text(section.heading, sheet["Heading2"]))
        if section.rows:
            cells = [
                [_text(label, sheet["Label"]), _text(value, sheet["Cell"])]
                for label, value in section.rows
            ]
            story.append(_grid(cells, [width * 0.35, width * 0.65], header=False))
        for paragraph in section.paragraphs:
            story.append(_text(paragraph, sheet["BodyText"]))
        if section.table is not None:
            headings, rows = section.table
            if rows:
                cells = [[_text(h, sheet["Label"]) for h in headings]]
                cells += [[_text(cell, sheet["Cell"]) for cell in row] for row in rows]
                story.append(_grid(cells, [width / len(headings)] * len(headings), header=True))
        story.append(Spacer(1, 4 * mm))
    if footer:
        story.append(_text(footer, sheet["Footer"]))
    document.build(story)
    return buffer.getvalue()
