"""Report triggers: a member's request document, the authenticated download, the schedule sweep, period close."""

from __future__ import annotations

import functools
import json
import logging
import re

from adapters import deployment
from adapters.clients import firestore_client, storage_client
from adapters.identity import verify_id_token
from adapters.settings import (
    DASHBOARD_URL,
    SMTP_FROM,
    SMTP_HOST,
    SMTP_PASSWORD,
    SMTP_PORT,
    SMTP_USER,
    reports_bucket,
    reports_download_url,
)
from firebase_functions import firestore_fn, https_fn, options, scheduler_fn
from google.cloud.firestore_v1.base_query import FieldFilter

from reports.delivery import ScheduleRunner
from reports.download import DownloadEndpoint, DownloadRequest
from reports.service import REPORTS, ReportFiles, ReportService

log = logging.getLogger(__name__)

PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
# Bound to the two functions that e-mail packs (and only to them).
SECRETS = [SMTP_PASSWORD]


@functools.cache
def report_files() -> ReportFiles:
    """The instance's report bucket."""
    return ReportFiles(storage_client, reports_bucket)


@functools.cache
def report_service() -> ReportService:
    """The instance's report service."""
    return ReportService(firestore_client(), report_files(), reports_download_url)


@functools.cache
def schedule_runner() -> ScheduleRunner:
    """The instance's schedule runner (SMTP settings and secret as for alert e-mails)."""
    return ScheduleRunner(firestore_client(), report_service(), lambda name: SMTP_PASSWORD.value,
                          lambda: {"SMTP_HOST": SMTP_HOST.value, "SMTP_PORT": SMTP_PORT.value,
                                   "SMTP_USER": SMTP_USER.value, "SMTP_FROM": SMTP_FROM.value},
                          dashboard_url=lambda: DASHBOARD_URL.value or None)


@firestore_fn.on_document_created(document="organizations/{org_id}/report_requests/{request_id}",
                                  **deployment.background("reports", timeout_sec=300, memory=1024, concurrency=4))
def on_report_requested(event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None]) -> None:
    """A member asked for a pack: produce it into reports/{request_id} (progress, files, links)."""
    if event.data is None:
        return
    org_id, request_id = event.params["org_id"], event.params["request_id"]
    request = event.data.to_dict() or {}
    period = str(request.get("period", ""))
    meta = {"source": "request", "requested_by": request.get("requested_by"), "requested_at": request.get("requested_at")}
    service = report_service()
    if not PERIOD.match(period):
        if service.claim(org_id, request_id, period, meta):
            service.run_failed(org_id, request_id, "invalid_request",
                               f"period {period!r} is not a fiscal month YYYY-MM")
        return
    service.run(org_id, request_id, period, meta)


@functools.cache
def download_endpoint() -> DownloadEndpoint:
    """The instance's download endpoint."""
    return DownloadEndpoint(firestore_client(), report_files(), verify_id_token)


# The ID token travels in the Authorization header (never a cookie), so any origin may call it.
@https_fn.on_request(cors=options.CorsOptions(cors_origins="*", cors_methods=["get"]),
                     **deployment.background("reports", concurrency=20))
def download_report(request: https_fn.Request) -> https_fn.Response:
    """A file of one of the org's reports, for a signed-in member of the org: ?org_id=&report_id=&file=."""
    reply = download_endpoint().handle(DownloadRequest(
        method=request.method, org_id=request.args.get("org_id"), report_id=request.args.get("report_id"),
        file=request.args.get("file"), authorization=request.headers.get("Authorization")))
    headers = dict(reply.headers)
    headers["Access-Control-Expose-Headers"] = "Content-Disposition"
    if isinstance(reply.body, dict):
        return https_fn.Response(json.dumps(reply.body), status=reply.status, headers=headers,
                                 mimetype="application/json")
    return https_fn.Response(reply.body, status=reply.status, headers=headers)


@scheduler_fn.on_schedule(schedule="every 60 minutes",
                          **deployment.scheduled("reports", memory=1024, timeout_sec=540, secrets=SECRETS))
def send_scheduled_reports(event: scheduler_fn.ScheduledEvent) -> None:
    """Send the packs of month-end schedules that are due, finish stuck deliveries and stuck requested reports."""
    schedule_runner().sweep()
    resume_stuck_reports()


def resume_stuck_reports() -> int:
    """Requested reports whose invocation died (still 'running' past the lease) are produced again."""
    service = report_service()
    now = service.now()
    query = firestore_client().collection_group(REPORTS).where(filter=FieldFilter("status", "==", "running"))
    resumed = 0
    for snap in query.stream():
        document = snap.to_dict() or {}
        lease = document.get("lease_until")
        if document.get("source") != "request" or lease is None or lease > now:
            continue
        try:
            service.run(snap.reference.path.split("/")[1], snap.id, str(document.get("period")))
            resumed += 1
        except Exception:  # noqa: BLE001 - logged; the next sweep tries again (at most MAX_ATTEMPTS)
            log.exception("resuming report %s failed", snap.reference.path)
    return resumed


@firestore_fn.on_document_written(document="organizations/{org_id}/periods/{period}",
                                  **deployment.background("reports", timeout_sec=300, memory=1024, concurrency=4,
                                                          secrets=SECRETS))
def on_period_written(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """An admin closed a period: send its pack to the org's period_close schedules (once per close)."""
    before = event.data.before.to_dict() if event.data.before is not None and event.data.before.exists else {}
    after = event.data.after.to_dict() if event.data.after is not None and event.data.after.exists else {}
    if (after or {}).get("status") != "closed" or (before or {}).get("status") == "closed":
        return
    schedule_runner().period_closed(event.params["org_id"], event.params["period"], str(event.id))
