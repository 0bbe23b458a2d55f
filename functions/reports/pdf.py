"""The pack as a PDF (ReportLab platypus): the tables of reports/tables.py on paper: summary with KPIs and
trend charts, one page per statement, top variances, alerts and anomalies, and the data-quality footnote."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reports import formatting
from reports.pack import AlertRow, Pack, Statement
from reports.tables import (
    Column,
    Kind,
    Table,
    alert_table,
    cash_table,
    data_quality_table,
    entity_label,
    kpi_table,
    statement_table,
    variance_table,
)

FONT = "PackSans"
FONT_BOLD = "PackSans-Bold"
NAVY = "#1F4E79"
PALE = "#DDEBF7"
GOOD = "#006100"
BAD = "#9C0006"
PAGE_WIDTH_CM = 27.0
TEXT_KINDS = ("text", "entity")


@functools.cache
def _register_fonts() -> None:
    """DejaVu Sans (shipped with matplotlib): Unicode names render, and the text stays extractable."""
    from pathlib import Path

    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(fonts / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(fonts / "DejaVuSans-Bold.ttf")))


def _clip(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else formatting.EMPTY


def pdf_cell(kind: Kind, value: Any, currency: str, clip: int | None = None) -> str:
    """A cell on paper: amounts with separators and negatives in parentheses, '12.3%', '+1.5 pts', F/U."""
    if kind == "blank":
        return ""
    if kind == "money":
        return formatting.amount(value, currency)
    if kind == "percent":
        return formatting.percent(value)
    if kind == "points":
        return formatting.points(value)
    if kind == "flag":
        return formatting.favourability(value)
    if kind == "time":
        return _when(value)
    if value is None:
        return formatting.EMPTY if kind == "number" else ""
    if kind == "number":
        return str(value)
    if value is None:
        return ""
    if kind == "entity":
        return entity_label(str(value))
    return _clip(str(value), clip)


def _cells(row: Any, columns: list[Column[Any]], currency: str) -> list[str]:
    return [pdf_cell(column.kind_of(row), column.value(row), currency, column.clip) for column in columns]


def _widths(columns: list[Column[Any]]) -> list[float]:
    """The declared widths, shared out over the page in the same proportions (cm)."""
    from reportlab.lib.units import cm

    total = sum(column.width for column in columns)
    return [PAGE_WIDTH_CM * cm * column.width / total for column in columns]


def _numeric_from(columns: list[Column[Any]]) -> int:
    """Index of the first column of the right-aligned block, after the last column of text.

    A column whose kind depends on the row (a KPI's value: money or percent) is a figure.
    """
    texts = [i for i, column in enumerate(columns) if not callable(column.kind) and column.kind in TEXT_KINDS]
    return texts[-1] + 1 if texts else 0


class Paper:
    """Styles and declared tables on paper, in one currency: the pack's and a view report's PDF share them."""

    def __init__(self, currency: str):
        from reportlab.lib import colors
        from reportlab.lib.styles import ParagraphStyle

        _register_fonts()
        self.currency = currency
        self.colors = colors
        self.h1 = ParagraphStyle("h1", fontName=FONT_BOLD, fontSize=17, leading=21, textColor=colors.HexColor(NAVY))
        self.h2 = ParagraphStyle(
            "h2", fontName=FONT_BOLD, fontSize=13, leading=17, spaceAfter=6, textColor=colors.HexColor(NAVY)
        )
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11)
        self.small = ParagraphStyle(
            "small", fontName=FONT, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#444444")
        )

    def table(self, rows: list[list[str]], widths: list[float], numeric_from: int, extra: Sequence[tuple] = ()) -> Any:
        from reportlab.platypus import Table, TableStyle

        table = Table(rows, colWidths=widths, repeatRows=1)
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, 7.6),
            ("FONT", (0, 0), (-1, 0), FONT_BOLD, 7.6),
            ("BACKGROUND", (0, 0), (-1, 0), self.colors.HexColor(NAVY)),
            ("TEXTCOLOR", (0, 0), (-1, 0), self.colors.white),
            ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.6),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.6),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, self.colors.HexColor(NAVY)),
            *extra,
        ]
        table.setStyle(TableStyle(style))
        return table

    def declared(self, table: Table[Any], extra: Sequence[tuple] = ()) -> Any:
        """A declared table: its titles, its cells on paper, its widths."""
        columns = table.columns_in("sheet")
        rows = [[column.title for column in columns]]
        rows += [_cells(row, columns, self.currency) for row in table.rows]
        return self.table(rows, _widths(columns), _numeric_from(columns), extra)


class _Builder(Paper):
    def __init__(self, pack: Pack, chart_png: bytes | None):
        super().__init__(pack.currency)
        self.pack = pack
        self.chart_png = chart_png

    def statement(self, statement: Statement) -> list[Any]:
        from reportlab.platypus import Paragraph

        table = statement_table(statement)
        columns = table.columns_in("sheet")
        header = [column.title for column in columns]
        flag_col = next(i for i, column in enumerate(columns) if column.kind == "flag")
        rows = [header]
        extra: list[tuple] = []
        for line in statement.lines:
            r = len(rows)
            if line.kind == "header":
                rows.append(["", line.label] + [""] * (len(header) - 2))
                extra += [
                    ("BACKGROUND", (0, r), (-1, r), self.colors.HexColor(PALE)),
                    ("FONT", (0, r), (-1, r), FONT_BOLD, 7.6),
                ]
                continue
            rows.append(_cells(line, columns, self.pack.currency))
            extra.append(("LEFTPADDING", (1, r), (1, r), 4 + 9 * line.level))
            if line.kind in ("total", "derived"):
                extra += [
                    ("FONT", (0, r), (-1, r), FONT_BOLD, 7.6),
                    ("LINEABOVE", (2, r), (-1, r), 0.4, self.colors.HexColor("#888888")),
                ]
            if line.favourable is not None:
                extra.append(
                    ("TEXTCOLOR", (flag_col, r), (flag_col, r), self.colors.HexColor(GOOD if line.favourable else BAD))
                )
        return [
            Paragraph(escape(f"{statement.title} - {self.pack.period}"), self.h2),
            self.table(rows, _widths(columns), 2, extra),
        ]

    def variances(self) -> Any:
        table = variance_table(self.pack)
        flag_col = next(i for i, column in enumerate(table.columns_in("sheet")) if column.kind == "flag")
        extra = [
            ("TEXTCOLOR", (flag_col, r), (flag_col, r), self.colors.HexColor(GOOD if v.favourable else BAD))
            for r, v in enumerate(table.rows, start=1)
        ]
        return self.declared(table, extra)

    def alerts(self, alerts: tuple[AlertRow, ...]) -> Any:
        from reportlab.platypus import Paragraph

        if not alerts:
            return Paragraph("None for this period.", self.body)
        return self.declared(alert_table(self.pack, alerts))

    def story(self) -> list[Any]:
        from reportlab.lib.units import cm
        from reportlab.platypus import Image, PageBreak, Paragraph, Spacer

        pack = self.pack
        generated = pack.generated_at.strftime("%Y-%m-%d %H:%M UTC") if pack.generated_at else ""
        story: list[Any] = [
            Paragraph(escape(f"Monthly finance pack - {pack.org_name}"), self.h1),
            Paragraph(
                escape(
                    f"Period {pack.period} ({pack.period_status}) - amounts in {pack.currency} - generated {generated}"
                ),
                self.small,
            ),
            Spacer(1, 0.3 * cm),
            Paragraph("Headline KPIs (consolidated)", self.h2),
            self.declared(kpi_table(pack)),
            Spacer(1, 0.3 * cm),
            Paragraph("Net burn and runway (13-week cash forecast)", self.h2),
            self.declared(cash_table(pack)),
            Spacer(1, 0.3 * cm),
        ]
        if self.chart_png:
            story += [
                Paragraph("Trends and forecast (consolidated)", self.h2),
                Image(io.BytesIO(self.chart_png), width=19.5 * cm, height=19.5 * cm * 5.6 / 10.5),
            ]
        for statement in pack.statements:
            story += [PageBreak(), *self.statement(statement)]
        non_anomalies = tuple(a for a in pack.alerts if a.rule_type != "anomaly")
        story += [
            PageBreak(),
            Paragraph("Top variances vs budget", self.h2),
            self.variances(),
            Spacer(1, 0.4 * cm),
            Paragraph(f"Alerts of {pack.period}", self.h2),
            self.alerts(non_anomalies),
            Spacer(1, 0.4 * cm),
            Paragraph(f"Anomalies of {pack.period}", self.h2),
            self.alerts(pack.anomalies),
            Spacer(1, 0.4 * cm),
            Paragraph("Data quality", self.h2),
        ]
        story.append(self.declared(data_quality_table(pack)))
        if pack.notes:
            story += [Spacer(1, 0.3 * cm), Paragraph("Notes", self.h2)]
            story += [Paragraph(escape(note), self.small) for note in pack.notes]
        return story


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_pdf(pack: Pack, chart_png: bytes | None) -> bytes:
    """The PDF's bytes (A4 landscape)."""

    builder = _Builder(pack, chart_png)
    return build_landscape(
        builder.story(),
        title=f"Monthly finance pack {pack.period} - {pack.org_name}",
        subject=f"{pack.org_id} {pack.period}",
        footer=f"{pack.org_name} - monthly pack {pack.period} - {pack.currency}",
    )


def build_landscape(story: list[Any], *, title: str, subject: str, footer: str) -> bytes:
    """A4 landscape PDF of a story, with the reports' margins and a footer line with the page number
    on every page (the monthly pack and the reports of views)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=1.35 * cm,
        rightMargin=1.35 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.3 * cm,
        title=title,
        author="Finance Live",
        subject=subject,
    )

    def draw_footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        canvas.drawString(1.35 * cm, 0.7 * cm, footer)
        canvas.drawRightString(landscape(A4)[0] - 1.35 * cm, 0.7 * cm, f"page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()
