"""The e-mail of a scheduled pack: text and HTML summary with the trend chart inline, the PDF attached."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import make_msgid

from adapters.notification_channels.config import SmtpSettings
from adapters.notification_channels.smtp import build_message
from finance_core.export_text import one_line

from reports import formatting
from reports.pack import Pack
from reports.view_pack import ViewReport


def _kpi_text(pack: Pack) -> list[tuple[str, str, str]]:
    rows = []
    for kpi in pack.kpis:
        if kpi.unit == "percent":
            rows.append((kpi.label, formatting.percent(kpi.value), formatting.percent(kpi.budget)))
        else:
            rows.append(
                (kpi.label, formatting.amount(kpi.value, pack.currency), formatting.amount(kpi.budget, pack.currency))
            )
    return rows


def pack_email(
    settings: SmtpSettings, pack: Pack, pdf: bytes, chart_png: bytes | None, report_url: str | None = None
) -> EmailMessage:
    """multipart/mixed: (text | related(HTML, chart)) + the PDF."""
    # A header is one line: a name with a line break would end it (and fail the message).
    subject = one_line(f"{pack.org_name}: monthly finance pack {pack.period}")
    rows = _kpi_text(pack)
    alerts = f"{len(pack.alerts)} alert(s), {len(pack.anomalies)} anomal{'y' if len(pack.anomalies) == 1 else 'ies'}"
    text = "\n".join(
        [
            f"Monthly finance pack of {pack.org_name} for {pack.period} ({pack.period_status}), "
            f"amounts in {pack.currency}.",
            "",
            *[f"{label}: {value} (budget {budget})" for label, value, budget in rows],
            "",
            f"{alerts} this period. The full pack is attached (PDF)."
            + (f" The workbook and CSV tables are in the dashboard: {report_url}" if report_url else ""),
        ]
    )
    cid = make_msgid(domain="finance-live")
    table = "".join(
        f"<tr><td>{html.escape(label)}</td><td style='text-align:right'>{html.escape(value)}</td>"
        f"<td style='text-align:right;color:#555'>{html.escape(budget)}</td></tr>"
        for label, value, budget in rows
    )
    body = (
        f"<html><body style='font-family:Arial,sans-serif;font-size:14px'>"
        f"<h2 style='color:#1F4E79'>{html.escape(pack.org_name)}: monthly pack {pack.period}</h2>"
        f"<p>Period {pack.period} ({pack.period_status}), amounts in {pack.currency}.</p>"
        f"<table cellpadding='4' style='border-collapse:collapse'><tr><th align='left'>KPI</th><th>Actual</th>"
        f"<th>Budget</th></tr>{table}</table>"
        + (f"<p><img src='cid:{cid[1:-1]}' alt='Trends' style='max-width:100%'></p>" if chart_png else "")
        + f"<p>{html.escape(alerts)} this period. The full pack is attached (PDF)."
        + (
            f" The workbook and CSV tables are in the <a href='{html.escape(report_url)}'>dashboard</a>."
            if report_url
            else ""
        )
        + "</p></body></html>"
    )
    message = build_message(settings, subject, text, body)
    if chart_png:
        html_part = message.get_payload(1)  # build_message puts the text first, the HTML second
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(chart_png, "image", "png", cid=cid, filename="trends.png")
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"monthly-pack-{pack.org_id}-{pack.period}.pdf"
    )
    return message


def view_email(settings: SmtpSettings, report: ViewReport, pdf: bytes, report_url: str | None = None) -> EmailMessage:
    """multipart/mixed: (text | HTML listing the view's widgets) + the view's PDF."""
    subject = one_line(f"{report.org_name}: {report.view_name} {report.period}")
    titles = [section.title for section in report.sections]
    link = f" The workbook and CSV tables are in the dashboard: {report_url}" if report_url else ""
    text = "\n".join(
        [
            f"{report.view_name} of {report.org_name} for {report.period} ({report.period_status}), "
            f"amounts in {report.currency}.",
            "",
            *[f"- {title}" for title in titles],
            *report.notes,
            "",
            f"The view's report is attached (PDF).{link}",
        ]
    )
    items = "".join(f"<li>{html.escape(title)}</li>" for title in titles)
    notes = "".join(f"<p style='color:#555'>{html.escape(note)}</p>" for note in report.notes)
    body = (
        "<html><body style='font-family:Arial,sans-serif;font-size:14px'>"
        f"<h2 style='color:#1F4E79'>{html.escape(report.view_name)}: {report.period}</h2>"
        f"<p>{html.escape(report.org_name)}, period {report.period} ({html.escape(report.period_status)}), "
        f"amounts in {report.currency}.</p><ul>{items}</ul>{notes}"
        "<p>The view's report is attached (PDF)."
        + (
            f" The workbook and CSV tables are in the <a href='{html.escape(report_url)}'>dashboard</a>."
            if report_url
            else ""
        )
        + "</p></body></html>"
    )
    message = build_message(settings, subject, text, body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{report.stem}.pdf")
    return message
