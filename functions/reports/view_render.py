"""A view's report as PDF and workbook, with the pack's renderers: the same paper styles and cells
(reports/pdf.py), the same sheets, formats and export rule (reports/xlsx.py), and a time series
widget's chart drawn by matplotlib offscreen (Agg) like the pack's trend charts."""

from __future__ import annotations

import io
from typing import Any

from finance_core.money import from_minor

from reports.pdf import Paper, build_landscape, escape
from reports.view_pack import ViewReport, WidgetSection

CHART_COLOURS = ("#1d4ed8", "#047857", "#9333ea", "#b45309")


def section_chart_png(section: WidgetSection, currency: str, dpi: int = 110) -> bytes | None:
    """A time series widget's lines by month (comparisons dashed), as PNG bytes; None for other widgets."""
    if not section.chart_lines:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10.5, 3.6), dpi=dpi, layout="constrained")
    ax = figure.subplots()
    x = list(range(len(section.chart_periods)))
    for i, line in enumerate(section.chart_lines):
        # Pixels only: a chart may use floats, the tables never do.
        values = [
            float("nan") if v is None else float(from_minor(int(v), currency)) if line.unit == "money" else float(v)
            for v in line.values
        ]
        pair = i // 2 if any(other.dashed for other in section.chart_lines) else i
        ax.plot(
            x,
            values,
            color=CHART_COLOURS[pair % len(CHART_COLOURS)],
            linestyle="--" if line.dashed else "-",
            marker="o",
            markersize=3,
            label=line.label,
        )
    step = max(1, len(x) // 8)
    ax.set_xticks(x[::step], list(section.chart_periods)[::step], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def render_view_pdf(report: ViewReport, charts: dict[str, bytes]) -> bytes:
    """The PDF's bytes (A4 landscape): a title, then each widget's title, table, chart and notes."""
    from reportlab.lib.units import cm
    from reportlab.platypus import CondPageBreak, Image, KeepTogether, Paragraph, Spacer

    paper = Paper(report.currency)
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC") if report.generated_at else ""
    story: list[Any] = [
        Paragraph(escape(f"{report.view_name} - {report.org_name}"), paper.h1),
        Paragraph(
            escape(
                f"View report of {report.period} ({report.period_status}) - amounts in {report.currency} - "
                f"generated {generated}"
            ),
            paper.small,
        ),
    ]
    if report.description:
        story.append(Paragraph(escape(report.description), paper.body))
    story += [Paragraph(escape(note), paper.small) for note in report.notes]
    story.append(Spacer(1, 0.3 * cm))
    for section in report.sections:
        block: list[Any] = [
            Paragraph(escape(section.title), paper.h2),
            Paragraph(escape(section.subtitle), paper.small),
            Spacer(1, 0.1 * cm),
            paper.declared(section.table),
        ]
        chart = charts.get(section.widget_id)
        if chart:
            block += [Spacer(1, 0.2 * cm), Image(io.BytesIO(chart), width=24 * cm, height=24 * cm * 3.6 / 10.5)]
        block += [Paragraph(escape(note), paper.small) for note in section.notes]
        story += [CondPageBreak(5 * cm), KeepTogether(block[:4]), *block[4:], Spacer(1, 0.4 * cm)]
    return build_landscape(
        story,
        title=f"{report.view_name} {report.period} - {report.org_name}",
        subject=f"{report.org_id} view {report.view_id} {report.period}",
        footer=f"{report.org_name} - {report.view_name} - {report.period} - {report.currency}",
    )


def render_view_xlsx(report: ViewReport) -> bytes:
    """The workbook's bytes: a Summary sheet (the view, its notes, its widgets) and one sheet per widget."""

    from reports.xlsx import _Formats, _text, _write_table, sheet_name, text_safe_workbook

    buffer = io.BytesIO()
    workbook = text_safe_workbook(buffer, f"{report.view_name} {report.period}", report.org_name)
    fmt = _Formats(workbook, report.currency)
    taken: set[str] = set()
    subtitle = f"{report.org_name} - {report.period} ({report.period_status}) - amounts in {report.currency}"
    summary = workbook.add_worksheet(sheet_name("Summary", taken))
    _text(summary, 0, 0, report.view_name, fmt.title)
    _text(summary, 1, 0, subtitle, fmt.subtitle)
    row = 3
    if report.description:
        _text(summary, row, 0, report.description, fmt.text)
        row += 1
    for note in report.notes:
        _text(summary, row, 0, note, fmt.text)
        row += 1
    row += 1
    _text(summary, row, 0, "Widget", fmt.header)
    _text(summary, row, 1, "Sheet", fmt.header)
    summary.set_column(0, 0, 60)
    summary.set_column(1, 1, 32)
    for number, section in enumerate(report.sections, start=1):
        # Numbered (titles may repeat), and never ending in an apostrophe (a neutralised title's starts with one).
        name = sheet_name(f"{number}. {section.title.strip(chr(39))}"[:31].rstrip(chr(39)), taken)
        row += 1
        _text(summary, row, 0, section.title, fmt.text)
        _text(summary, row, 1, name, fmt.text)
        sheet = workbook.add_worksheet(name)
        end = _write_table(sheet, fmt, section.title, f"{section.subtitle} - {subtitle}", section.table, report)
        for i, note in enumerate(section.notes, start=end + 1):
            _text(sheet, i, 0, note, fmt.subtitle)
    workbook.close()
    return buffer.getvalue()
