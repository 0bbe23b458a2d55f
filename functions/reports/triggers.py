"""Report triggers: a member's request document, the authenticated download, the schedule sweep, period close."""

from __future__ import annotations

import functools
import logging
import re
from datetime import timedelta

from adapters import deployment
from adapters.clients import firestore_client, storage_client
from adapters.errors import map_exceptions
from adapters.http_endpoint import serve
from adapters.identity import verify_id_token
from adapters.logs import bind, observed
from adapters.settings import (
    DASHBOARD_URL,
    SMTP_PASSWORD,
    channel_settings,
    reports_bucket,
    reports_download_url,
)
from adapters.sweeps import OrgSweep
from finance_core.identifiers import identifier_problem
from firebase_functions import firestore_fn, https_fn, options, scheduler_fn
from google.cloud.firestore_v1.base_query import FieldFilter

from reports.delivery import ScheduleRunner, close_key
from reports.download import DownloadEndpoint
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
    return ScheduleRunner(
        firestore_client(),
        report_service(),
        lambda name: SMTP_PASSWORD.value,
        channel_settings,
        dashboard_url=lambda: DASHBOARD_URL.value or None,
    )


@firestore_fn.on_document_created(
    document="organizations/{org_id}/report_requests/{request_id}",
    **deployment.background("reports", timeout_sec=300, memory=1024, concurrency=4),
)
@observed("on_report_requested")
def on_report_requested(event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None]) -> None:
    """A member asked for a pack: produce it into reports/{request_id} (progress, files, links)."""
    if event.data is None:
        return
    handle_request(event.params["org_id"], event.params["request_id"], event.data.to_dict() or {})


def handle_request(org_id: str, request_id: str, request: dict) -> None:
    """Produce the pack a report request asks for (from the trigger, or the sweep when the trigger was lost)."""
    bind(org_id=org_id, request_id=request_id)
    period = str(request.get("period", ""))
    meta = {
        "source": "request",
        "requested_by": request.get("requested_by"),
        "requested_at": request.get("requested_at"),
    }
    service = report_service()
    view_id = request.get("view_id")
    problem = None if PERIOD.match(period) else f"period {period!r} is not a fiscal month YYYY-MM"
    if problem is None and view_id is not None:
        problem = identifier_problem(view_id, "view_id")
    if problem is not None:
        if service.claim(org_id, request_id, period, meta):
            service.run_failed(org_id, request_id, "invalid_request", problem)
        return
    service.run(org_id, request_id, period, meta, view_id=view_id, requested_by=str(request.get("requested_by") or ""))


@functools.cache
def download_endpoint() -> DownloadEndpoint:
    """The instance's download endpoint."""
    return DownloadEndpoint(firestore_client(), report_files(), verify_id_token)


# The ID token travels in the Authorization header (never a cookie), so any origin may call it.
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["get"]), **deployment.background("reports", concurrency=20)
)
@observed("download_report")
def download_report(request: https_fn.Request) -> https_fn.Response:
    """A file of one of the org's reports, for a signed-in member of the org: ?org_id=&report_id=&file=."""
    # A page of another origin reads the file's name from Content-Disposition.
    return serve(request, download_endpoint().handle, headers={"Access-Control-Expose-Headers": "Content-Disposition"})


@scheduler_fn.on_schedule(
    schedule="every 60 minutes", **deployment.scheduled("reports", memory=1024, timeout_sec=540, secrets=SECRETS)
)
@observed("send_scheduled_reports")
def send_scheduled_reports(event: scheduler_fn.ScheduledEvent) -> None:
    """Send the packs of month-end schedules that are due and of periods closed whose trigger was lost,
    finish stuck deliveries, stuck requested reports and requests whose trigger was lost."""
    schedule_runner().sweep()
    schedule_runner().closed_periods()
    resume_stuck_reports()
    resume_lost_requests().finish()


def resume_lost_requests(
    older_than: timedelta = timedelta(minutes=2), horizon: timedelta = timedelta(days=1)
) -> OrgSweep:
    """Report requests of the last day that have no report document: their trigger was lost; produce them."""
    now = report_service().now()
    query = (
        firestore_client()
        .collection_group("report_requests")
        .where(filter=FieldFilter("requested_at", "<", now - older_than))
        .where(filter=FieldFilter("requested_at", ">", now - horizon))
    )
    with map_exceptions("listing recent report requests"):
        requests = [(s.reference.parent.parent.id, s.id, s.to_dict() or {}) for s in query.stream()]
    sweep = OrgSweep("report_requests")
    if not requests:
        return sweep
    refs = [report_service().ref(org, request_id) for org, request_id, _ in requests]
    with map_exceptions("reading the reports of recent requests"):
        produced = {s.reference.path for s in firestore_client().get_all(refs) if s.exists}
    for (org, request_id, request), ref in zip(requests, refs, strict=True):
        if ref.path not in produced:
            sweep.run(org, functools.partial(handle_request, org, request_id, request))
    return sweep


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
            service.run(
                snap.reference.path.split("/")[1],
                snap.id,
                str(document.get("period")),
                view_id=document.get("view_id"),
                requested_by=str(document.get("requested_by") or ""),
            )
            resumed += 1
        except Exception:  # noqa: BLE001 - logged; the next sweep tries again (at most MAX_ATTEMPTS)
            log.exception("resuming report %s failed", snap.reference.path)
    return resumed


@firestore_fn.on_document_written(
    document="organizations/{org_id}/periods/{period}",
    **deployment.background("reports", timeout_sec=300, memory=1024, concurrency=4, secrets=SECRETS),
)
@observed("on_period_written")
def on_period_written(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """An admin closed a period: send its pack to the org's period_close schedules (once per close)."""
    before = event.data.before.to_dict() if event.data.before is not None and event.data.before.exists else {}
    after = event.data.after.to_dict() if event.data.after is not None and event.data.after.exists else {}
    if (after or {}).get("status") != "closed" or (before or {}).get("status") == "closed":
        return
    # Keyed like the sweep's (closed_periods), so a close is sent once whichever of the two runs.
    stamp = (after or {}).get("updated_at")
    close = close_key(stamp) if stamp is not None else str(event.id)
    schedule_runner().period_closed(event.params["org_id"], event.params["period"], close)
