"""Produces one report: claims reports/{report_id}, reads, builds, renders, stores the files, records progress."""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now
from google.cloud import firestore

from reports.pack import Pack, ReportProblem, build_pack
from reports.source import PackSource
from reports.view_pack import ViewReport
from reports.view_source import ViewSource

log = logging.getLogger(__name__)

REPORTS = "reports"
# An invocation that has not finished its report this long after claiming it has died (the
# function's timeout is 300 s); another invocation (a redelivery or the sweep) may take over.
LEASE = timedelta(minutes=6)
MAX_ATTEMPTS = 3
PDF = ("pdf", "application/pdf")
XLSX = ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
CSV = ("csv", "text/csv; charset=utf-8")


@dataclass
class ReportOutcome:
    """What a run produced (the scheduled e-mail needs the pack and its PDF)."""

    report_id: str
    status: str
    """'succeeded', 'failed', or 'skipped' (already done, or running elsewhere)."""
    error: dict[str, str] | None = None
    pack: Pack | None = None
    pdf: bytes | None = None
    chart_png: bytes | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    view: ViewReport | None = None
    """The view's report, when the report is of a view (then `pack` is None)."""


def object_prefix(org_id: str, report_id: str) -> str:
    """Where a report's files live in the bucket: under the org, then the report."""
    return f"reports/{org_id}/{report_id}/"


class ReportFiles:
    """The report files in Cloud Storage (private objects; read back by the download function)."""

    def __init__(self, client: Callable[[], Any], bucket: Callable[[], str]):
        self._client = client
        self._bucket = bucket

    def upload(self, path: str, data: bytes, content_type: str) -> None:
        """Store one object (overwriting: a retried run writes the same paths)."""
        blob = self._client().bucket(self._bucket()).blob(path)
        blob.upload_from_string(data, content_type=content_type)

    def download(self, path: str) -> bytes | None:
        """The object's bytes, None if it does not exist."""
        from google.api_core import exceptions

        try:
            return self._client().bucket(self._bucket()).blob(path).download_as_bytes()
        except exceptions.NotFound:
            return None


class ReportService:
    """Runs the monthly pack of one org and period into reports/{report_id}."""

    def __init__(
        self,
        db: firestore.Client,
        files: ReportFiles,
        download_url: Callable[[], str],
        clock: Callable[[], datetime] = utc_now,
    ):
        self._db = db
        self._source = PackSource(db)
        self._views = ViewSource(db)
        self._files = files
        self._download_url = download_url
        self._clock = clock

    def now(self) -> datetime:
        """The service's clock."""
        return self._clock()

    def run_failed(self, org_id: str, report_id: str, code: str, message: str) -> ReportOutcome:
        """End a claimed report with a reason (a request the service cannot run)."""
        return self._fail(org_id, report_id, {"code": code, "message": message})

    def ref(self, org_id: str, report_id: str) -> firestore.DocumentReference:
        """organizations/{org}/reports/{report_id}."""
        return self._db.document(f"{org_path(org_id)}/{REPORTS}/{report_id}")

    def claim(self, org_id: str, report_id: str, period: str, meta: dict[str, Any], view_id: str | None = None) -> bool:
        """Start the report once: False when it is finished or another live invocation runs it."""
        ref = self.ref(org_id, report_id)
        now = self._clock()

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> bool:
            snap = ref.get(transaction=transaction)
            current = snap.to_dict() if snap.exists else None
            if current is not None:
                if current.get("status") in ("succeeded", "failed"):
                    return False
                lease = current.get("lease_until")
                if current.get("status") == "running" and lease is not None and lease > now:
                    return False
            attempts = int((current or {}).get("attempts", 0)) + 1
            body: dict[str, Any] = {
                **({} if current else {"created_at": now, **meta}),
                "report_id": report_id,
                "org_id": org_id,
                "period": period,
                "kind": "view" if view_id else "monthly_pack",
                **({"view_id": view_id} if view_id else {}),
                "status": "running",
                "attempts": attempts,
                "started_at": now,
                "lease_until": now + LEASE,
                "progress": {"step": "reading the figures", "percent": 5},
                "error": None,
                "files": [],
            }
            if attempts > MAX_ATTEMPTS:
                body.update(
                    status="failed",
                    lease_until=None,
                    completed_at=now,
                    progress={"step": "failed", "percent": 100},
                    error={
                        "code": "gave_up",
                        "message": f"the report did not complete in {MAX_ATTEMPTS} "
                        "attempts: request it again; if it keeps failing, tell an operator",
                    },
                )
            transaction.set(ref, body, merge=True)
            return attempts <= MAX_ATTEMPTS

        with map_exceptions(f"claiming report {report_id} of {org_id}"):
            return run(self._db.transaction())

    def _progress(self, org_id: str, report_id: str, step: str, percent: int) -> None:
        with map_exceptions(f"recording the progress of report {report_id}"):
            self.ref(org_id, report_id).update(
                {"progress": {"step": step, "percent": percent}, "updated_at": self._clock()}
            )

    def run(
        self,
        org_id: str,
        report_id: str,
        period: str,
        meta: dict[str, Any] | None = None,
        view_id: str | None = None,
        requested_by: str | None = None,
    ) -> ReportOutcome:
        """Produce the report (the pack, or the view's report) if nobody has; ReportProblem and crashes end as a
        failed report with the reason. `requested_by` decides whether a personal view may be read."""
        if not self.claim(org_id, report_id, period, dict(meta or {}), view_id):
            return ReportOutcome(report_id, "skipped")
        started = time.perf_counter()
        try:
            if view_id:
                who = requested_by or str((meta or {}).get("requested_by") or "")
                return self._produce_view(org_id, report_id, period, view_id, who, started)
            return self._produce(org_id, report_id, period, started)
        except ReportProblem as problem:
            log.info("report %s of %s not produced: %s", report_id, org_id, problem.message)
            return self._fail(org_id, report_id, {"code": problem.code, "message": problem.message})
        except Exception as exc:
            log.exception("report %s of %s failed", report_id, org_id)
            self._fail(
                org_id,
                report_id,
                {
                    "code": "internal",
                    "message": f"the report could not be produced ({type(exc).__name__}: {exc}); request it again",
                },
            )
            raise

    def _fail(self, org_id: str, report_id: str, error: dict[str, str]) -> ReportOutcome:
        with map_exceptions(f"recording the failure of report {report_id}"):
            self.ref(org_id, report_id).update(
                {
                    "status": "failed",
                    "error": error,
                    "lease_until": None,
                    "completed_at": self._clock(),
                    "files": [],
                    "progress": {"step": "failed", "percent": 100},
                }
            )
        return ReportOutcome(report_id, "failed", error)

    def _store(self, org_id: str, report_id: str, rendered: list[tuple[str, str, str, bytes]]) -> list[dict[str, Any]]:
        """Upload the files under the report's prefix; their entries for the report document."""
        prefix = object_prefix(org_id, report_id)
        files = []
        for name, title, content_type, data in rendered:
            self._files.upload(prefix + name, data, content_type)
            query = urllib.parse.urlencode({"org_id": org_id, "report_id": report_id, "file": name})
            files.append(
                {
                    "name": name,
                    "title": title,
                    "format": name.rsplit(".", 1)[1],
                    "content_type": content_type,
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "path": prefix + name,
                    "download_url": f"{self._download_url()}?{query}",
                }
            )
        return files

    def _produce_view(
        self, org_id: str, report_id: str, period: str, view_id: str, requested_by: str, started: float
    ) -> ReportOutcome:
        """A view's report: its widgets' figures as the dashboard shows them, in the pack's PDF and workbook."""
        from reports.tables import csv_rows, render_csv
        from reports.view_pack import build_view_report
        from reports.view_render import render_view_pdf, render_view_xlsx, section_chart_png

        inputs = self._views.read(org_id, view_id, period, requested_by, self._clock())
        report = build_view_report(inputs, self._views.period_status(org_id, period))
        visibility = inputs.view.visibility
        # The report document is listed to every member: a personal view's name stays its owner's.
        with map_exceptions(f"recording the view of report {report_id}"):
            self.ref(org_id, report_id).update(
                {
                    "view": {
                        "id": view_id,
                        "visibility": visibility,
                        "name": report.view_name if visibility == "shared" else None,
                    }
                }
            )
        self._progress(org_id, report_id, "drawing the charts", 35)
        charts = {
            s.widget_id: png for s in report.sections if (png := section_chart_png(s, report.currency)) is not None
        }
        self._progress(org_id, report_id, "laying out the PDF", 55)
        rendered: list[tuple[str, str, str, bytes]] = [
            (f"{report.stem}.pdf", "PDF", PDF[1], render_view_pdf(report, charts))
        ]
        self._progress(org_id, report_id, "writing the workbook", 75)
        rendered.append((f"{report.stem}.xlsx", "Excel workbook", XLSX[1], render_view_xlsx(report)))
        for section in report.sections:
            rows = csv_rows(section.table, report.currency)
            rendered.append((f"{section.table.table_id}.csv", f"{section.title} (CSV)", CSV[1], render_csv(rows)))
        self._progress(org_id, report_id, "storing the files", 85)
        files = self._store(org_id, report_id, rendered)
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        with map_exceptions(f"completing report {report_id}"):
            self.ref(org_id, report_id).update(
                {
                    "status": "succeeded",
                    "files": files,
                    "summary": {"currency": report.currency, "widgets": len(report.sections)},
                    "lease_until": None,
                    "period_status": report.period_status,
                    "notes": list(report.notes),
                    "completed_at": self._clock(),
                    "duration_ms": elapsed_ms,
                    "progress": {"step": "done", "percent": 100},
                }
            )
        log.info("view report %s of %s (%s) produced in %d ms", report_id, org_id, view_id, elapsed_ms)
        return ReportOutcome(report_id, "succeeded", None, None, rendered[0][3], None, files, report)

    def _produce(self, org_id: str, report_id: str, period: str, started: float) -> ReportOutcome:
        from reports.charts import trend_chart_png
        from reports.pdf import render_pdf
        from reports.tables import render_csv, table_builders
        from reports.xlsx import render_xlsx

        inputs = self._source.read(org_id, period, self._clock())
        pack = build_pack(inputs)
        self._progress(org_id, report_id, "drawing the charts", 35)
        chart = trend_chart_png(pack)
        self._progress(org_id, report_id, "laying out the PDF", 55)
        stem = f"monthly-pack-{org_id}-{period}"
        rendered: list[tuple[str, str, str, bytes]] = [(f"{stem}.pdf", "PDF", PDF[1], render_pdf(pack, chart))]
        self._progress(org_id, report_id, "writing the workbook", 75)
        rendered.append((f"{stem}.xlsx", "Excel workbook", XLSX[1], render_xlsx(pack)))
        for table_id, (title, rows) in table_builders(pack).items():
            rendered.append((f"{table_id}.csv", f"{title} (CSV)", CSV[1], render_csv(rows())))
        self._progress(org_id, report_id, "storing the files", 85)
        files = self._store(org_id, report_id, rendered)
        summary = _summary(pack)
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        with map_exceptions(f"completing report {report_id}"):
            self.ref(org_id, report_id).update(
                {
                    "status": "succeeded",
                    "files": files,
                    "summary": summary,
                    "lease_until": None,
                    "period_status": pack.period_status,
                    "notes": list(pack.notes),
                    "completed_at": self._clock(),
                    "duration_ms": elapsed_ms,
                    "progress": {"step": "done", "percent": 100},
                }
            )
        log.info(
            "report %s of %s for %s produced in %d ms (%d files)", report_id, org_id, period, elapsed_ms, len(files)
        )
        return ReportOutcome(report_id, "succeeded", None, pack, rendered[0][3], chart, files)


def _summary(pack: Pack) -> dict[str, Any]:
    """Headline numbers on the report document (minor units), for a list of reports."""
    consolidated = pack.statements[0]
    summary: dict[str, Any] = {
        "currency": pack.currency,
        "statements": [s.table_id for s in pack.statements],
        "alerts": len(pack.alerts),
        "anomalies": len(pack.anomalies),
    }
    for metric in ("revenue", "ebitda", "net_income"):
        line = next((l for l in consolidated.lines if l.key == f"metric:{metric}"), None)  # noqa: E741
        if line is not None:
            summary[f"{metric}_minor"] = line.values.get("actual")
            summary[f"{metric}_budget_minor"] = line.values.get("budget")
    return summary
