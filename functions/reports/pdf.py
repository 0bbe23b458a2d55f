"""The pack as a PDF (ReportLab platypus): summary with KPIs and trend charts, one page per statement,
top variances, alerts and anomalies, and the data-quality footnote."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from finance_core.identifiers import CONSOLIDATED_ENTITY

from reports import formatting
from reports.pack import AlertRow, Line, Pack, Statement

FONT = "PackSans"
FONT_BOLD = "PackSans-Bold"
NAVY = "#1F4E79"
PALE = "#DDEBF7"
GOOD = "#006100"
BAD = "#9C0006"
MAX_LABEL = 48


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


def _clip(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else formatting.EMPTY


def statement_cells(pack: Pack, statement: Statement, line: Line) -> list[str]:
    """The printed cells of one line (after Account and Line), in the statement's column order."""
    cells = []
    for column in statement.columns:
        value = line.values.get(column)
        if line.unit == "percent":
            if column == "variance":
                cells.append(formatting.points(value))
            elif column == "variance_pct":
                cells.append("")
            else:
                cells.append(formatting.percent(value))
        elif column == "variance_pct":
            cells.append(formatting.percent(value))
        else:
            cells.append(formatting.amount(value, pack.currency))
        if column == "variance_pct":
            cells.append(formatting.favourability(line.favourable))
    return cells


def statement_header(statement: Statement) -> list[str]:
    """Column titles of a statement table."""
    titles = {
        "actual": "Actual",
        "budget": "Budget",
        "variance": "Variance",
        "variance_pct": "Var %",
        "prior_period": f"Prior {statement.prior_period}",
        "prior_year": f"Prior year {statement.prior_year}",
    }
    header = ["Account", "Line"]
    for column in statement.columns:
        header.append(titles[column])
        if column == "variance_pct":
            header.append("F/U")
    return header


class _Builder:
    def __init__(self, pack: Pack, chart_png: bytes | None):
        from reportlab.lib import colors
        from reportlab.lib.styles import ParagraphStyle

        _register_fonts()
        self.pack = pack
        self.chart_png = chart_png
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

    def statement(self, statement: Statement) -> list[Any]:
        from reportlab.lib.units import cm
        from reportlab.platypus import Paragraph

        header = statement_header(statement)
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
            rows.append([line.account_id or "", _clip(line.label)] + statement_cells(self.pack, statement, line))
            extra.append(("LEFTPADDING", (1, r), (1, r), 4 + 9 * line.level))
            if line.kind in ("total", "derived"):
                extra += [
                    ("FONT", (0, r), (-1, r), FONT_BOLD, 7.6),
                    ("LINEABOVE", (2, r), (-1, r), 0.4, self.colors.HexColor("#888888")),
                ]
            if line.favourable is not None:
                flag_col = header.index("F/U")
                extra.append(
                    ("TEXTCOLOR", (flag_col, r), (flag_col, r), self.colors.HexColor(GOOD if line.favourable else BAD))
                )
        widths = [1.6 * cm, 6.4 * cm] + [(27.0 - 8.0) * cm / (len(header) - 2)] * (len(header) - 2)
        flag = header.index("F/U")
        widths[flag] = 0.9 * cm
        spare = (27.0 * cm - sum(widths)) / (len(header) - 3)
        widths = [w + spare if i >= 2 and i != flag else w for i, w in enumerate(widths)]
        return [
            Paragraph(_escape(f"{statement.title} - {self.pack.period}"), self.h2),
            self.table(rows, widths, 2, extra),
        ]

    def kpis(self) -> Any:
        from reportlab.lib.units import cm

        pack = self.pack
        rows = [["KPI", "Value", "Previous", "Change", "Change %", "Budget", "vs budget"]]
        for k in pack.kpis:
            if k.unit == "percent":
                shown = [
                    formatting.percent(k.value),
                    formatting.percent(k.previous),
                    formatting.points(k.change),
                    "",
                    formatting.percent(k.budget),
                    "",
                ]
            else:
                shown = [
                    formatting.amount(k.value, pack.currency),
                    formatting.amount(k.previous, pack.currency),
                    formatting.amount(k.change, pack.currency),
                    formatting.percent(k.change_pct),
                    formatting.amount(k.budget, pack.currency),
                    formatting.percent(k.vs_budget_pct),
                ]
            rows.append([k.label, *shown])
        return self.table(rows, [5.2 * cm] + [3.6 * cm] * 6, 1)

    def variances(self) -> Any:
        from reportlab.lib.units import cm

        pack = self.pack
        rows = [["Entity", "Account", "Name", "Actual", "Budget", "Variance", "Var %", "F/U"]]
        extra = []
        for v in pack.top_variances:
            entity = "Consolidated" if v.entity_id == CONSOLIDATED_ENTITY else v.entity_id
            rows.append(
                [
                    entity,
                    v.account_id,
                    _clip(v.account_name, 40),
                    formatting.amount(v.actual, pack.currency),
                    formatting.amount(v.budget, pack.currency),
                    formatting.amount(v.variance, pack.currency),
                    formatting.percent(v.variance_pct),
                    formatting.favourability(v.favourable),
                ]
            )
            extra.append(
                (
                    "TEXTCOLOR",
                    (7, len(rows) - 1),
                    (7, len(rows) - 1),
                    self.colors.HexColor(GOOD if v.favourable else BAD),
                )
            )
        return self.table(
            rows, [3.0 * cm, 1.8 * cm, 6.6 * cm, 3.6 * cm, 3.6 * cm, 3.6 * cm, 2.4 * cm, 1.2 * cm], 3, extra
        )

    def alerts(self, alerts: tuple[AlertRow, ...]) -> Any:
        from reportlab.lib.units import cm
        from reportlab.platypus import Paragraph

        if not alerts:
            return Paragraph("None for this period.", self.body)
        rows = [["Severity", "Status", "Entity", "Title", "Count", "First seen", "Last seen"]]
        for a in alerts:
            entity = "Consolidated" if a.entity_id == CONSOLIDATED_ENTITY else a.entity_id
            rows.append(
                [
                    a.severity,
                    a.status,
                    entity,
                    _clip(a.title, 70),
                    str(a.count),
                    _when(a.first_seen),
                    _when(a.last_seen),
                ]
            )
        return self.table(rows, [1.9 * cm, 2.4 * cm, 2.6 * cm, 12.2 * cm, 1.3 * cm, 3.3 * cm, 3.3 * cm], 4)

    def story(self) -> list[Any]:
        from reportlab.lib.units import cm
        from reportlab.platypus import Image, PageBreak, Paragraph, Spacer

        pack = self.pack
        generated = pack.generated_at.strftime("%Y-%m-%d %H:%M UTC") if pack.generated_at else ""
        story: list[Any] = [
            Paragraph(_escape(f"Monthly finance pack - {pack.org_name}"), self.h1),
            Paragraph(
                _escape(
                    f"Period {pack.period} ({pack.period_status}) - amounts in {pack.currency} - generated {generated}"
                ),
                self.small,
            ),
            Spacer(1, 0.3 * cm),
            Paragraph("Headline KPIs (consolidated)", self.h2),
            self.kpis(),
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
        rows = [["Item", "Value"], *[[label, _clip(value, 120)] for label, value in pack.data_quality]]
        story.append(self.table(rows, [6 * cm, 21 * cm], 99))
        if pack.notes:
            story += [Spacer(1, 0.3 * cm), Paragraph("Notes", self.h2)]
            story += [Paragraph(_escape(note), self.small) for note in pack.notes]
        return story


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_pdf(pack: Pack, chart_png: bytes | None) -> bytes:
    """The PDF's bytes (A4 landscape)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    builder = _Builder(pack, chart_png)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=1.35 * cm,
        rightMargin=1.35 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.3 * cm,
        title=f"Monthly finance pack {pack.period} - {pack.org_name}",
        author="Finance Live",
        subject=f"{pack.org_id} {pack.period}",
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        canvas.drawString(1.35 * cm, 0.7 * cm, f"{pack.org_name} - monthly pack {pack.period} - {pack.currency}")
        canvas.drawRightString(landscape(A4)[0] - 1.35 * cm, 0.7 * cm, f"page {doc.page}")
        canvas.restoreState()

    document.build(builder.story(), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
