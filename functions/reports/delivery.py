"""Scheduled packs: each (schedule, period[, close]) is claimed once in report_deliveries, produced, and
e-mailed through the alerts' SMTP channel with bounded retries; outcomes recorded like alert notifications."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.notification_channels.config import ChannelError, EmailChannel, parse_channel, smtp_settings
from adapters.notification_channels.delivery import DeliveryOutcome, deliver_with_retry
from adapters.notification_channels.documents import load_channel_documents
from adapters.notification_channels.smtp import send_email
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from reports.email import pack_email, view_email
from reports.schedules import ReportSchedule, ScheduleError, delivery_id, due_period, parse_schedule
from reports.service import ReportService

log = logging.getLogger(__name__)

SCHEDULES = "report_schedules"
DELIVERIES = "report_deliveries"
CHANNELS = "notification_channels"
# A delivery still 'sending' this long after its claim belongs to an invocation that died (report
# generation plus SMTP retries take well under a minute); the next sweep takes it over.
STUCK_AFTER = timedelta(minutes=10)
DIRECT_CHANNEL = "recipients"

# The schedule sweep also sends the packs of periods closed this recently whose trigger was lost.
CLOSE_SWEEP_HORIZON = timedelta(days=1)


def close_key(updated_at: Any) -> str:
    """The name of one close of a period: its document's update stamp."""
    return f"close@{updated_at.isoformat()}" if hasattr(updated_at, "isoformat") else f"close@{updated_at}"


@dataclass(frozen=True)
class DeliveryResult:
    """What one scheduled delivery did (for logs and tests)."""

    org_id: str
    delivery_id: str
    status: str


class ScheduleRunner:
    """Sends due packs: the hourly sweep (month_end schedules, stuck deliveries) and period closes."""

    def __init__(
        self,
        db: firestore.Client,
        service: ReportService,
        secrets: Callable[[str], str],
        smtp_defaults: Callable[[], Mapping[str, str]],
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] | None = None,
        dashboard_url: Callable[[], str | None] = lambda: None,
    ):
        self._db = db
        self._service = service
        self._secrets = secrets
        self._smtp_defaults = smtp_defaults
        self._clock = clock
        self._retry: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
        self._dashboard_url = dashboard_url

    def _ref(self, org_id: str, path: str) -> firestore.DocumentReference:
        return self._db.document(f"{org_path(org_id)}/{path}")

    # --- triggers ---------------------------------------------------------------------------

    def sweep(self, org_id: str | None = None) -> list[DeliveryResult]:
        """Every month_end schedule whose period is due (one collection-group query), then stuck deliveries."""
        now = self._clock()
        query = (
            self._db.collection_group(SCHEDULES)
            if org_id is None
            else self._db.collection(f"{org_path(org_id)}/{SCHEDULES}")
        )
        query = query.where(filter=FieldFilter("trigger", "==", "month_end"))  # type: ignore[assignment]
        with map_exceptions("listing month-end report schedules"):
            found = [(s.reference.path.split("/")[1], s.id, s.to_dict() or {}) for s in query.stream()]
        results = []
        for org, schedule_id, document in found:
            try:
                schedule = parse_schedule(schedule_id, document)
            except ScheduleError as exc:
                log.warning("org %s: %s", org, exc)
                continue
            if not schedule.enabled:
                continue
            period = due_period(now, schedule.days_after_month_end)
            results += self._isolated(
                org, self.deliver, org, schedule_id, schedule, period, delivery_id(schedule_id, period), "month_end"
            )
        stuck = (
            self._db.collection_group(DELIVERIES)
            if org_id is None
            else self._db.collection(f"{org_path(org_id)}/{DELIVERIES}")
        )
        with map_exceptions("listing report deliveries in progress"):
            sending = [
                (s.reference.path.split("/")[1], s.id, s.to_dict() or {})
                for s in stuck.where(filter=FieldFilter("status", "==", "sending")).stream()
            ]
        for org, key, document in sending:
            claimed = document.get("claimed_at")
            if claimed is None or now - claimed < STUCK_AFTER:
                continue
            snap = self._ref(org, f"{SCHEDULES}/{document.get('schedule_id')}").get()
            if not snap.exists:
                continue
            try:
                schedule = parse_schedule(snap.id, snap.to_dict() or {})
            except ScheduleError as exc:
                log.warning("org %s: %s", org, exc)
                continue
            results += self._isolated(
                org,
                self.deliver,
                org,
                snap.id,
                schedule,
                str(document.get("period")),
                key,
                str(document.get("trigger", "month_end")),
            )
        return results

    def closed_periods(
        self, org_id: str | None = None, horizon: timedelta = CLOSE_SWEEP_HORIZON
    ) -> list[DeliveryResult]:
        """Periods closed in the last `horizon`: their period_close packs, for a close whose trigger was lost.

        Idempotent with the trigger: both key a close by the period document's `updated_at` (the
        rules stamp each close with the request time), so a close already sent is not sent again.
        """
        source = self._db.collection(f"{org_path(org_id)}/periods") if org_id else self._db.collection_group("periods")
        query = source.where(filter=FieldFilter("updated_at", ">", self._clock() - horizon))
        with map_exceptions("listing recently closed periods"):
            closed = [
                (s.reference.parent.parent.id, s.id, s.get("updated_at"))
                for s in query.stream()
                if (s.to_dict() or {}).get("status") == "closed"
            ]
        results = []
        for org, period, updated_at in closed:
            results += self.period_closed(org, period, close_key(updated_at))
        return results

    def period_closed(self, org_id: str, period: str, event_id: str) -> list[DeliveryResult]:
        """A period was closed: send the pack of every enabled period_close schedule of the org, once per close.

        `event_id` names the close (close_key of the period's updated_at, or the trigger's event id
        for a period written without one): the same on a redelivery or a sweep of one close,
        different for a later close.
        """
        close_id = hashlib.sha256(event_id.encode()).hexdigest()[:12]
        query = self._db.collection(f"{org_path(org_id)}/{SCHEDULES}").where(
            filter=FieldFilter("trigger", "==", "period_close")
        )
        with map_exceptions(f"listing the period-close schedules of {org_id}"):
            found = [(s.id, s.to_dict() or {}) for s in query.stream()]
        results = []
        for schedule_id, document in found:
            try:
                schedule = parse_schedule(schedule_id, document)
            except ScheduleError as exc:
                log.warning("org %s: %s", org_id, exc)
                continue
            if schedule.enabled:
                results += self._isolated(
                    org_id,
                    self.deliver,
                    org_id,
                    schedule_id,
                    schedule,
                    period,
                    delivery_id(schedule_id, period, close_id),
                    "period_close",
                    {"close_event_id": event_id},
                )
        return results

    @staticmethod
    def _isolated(org_id: str, work: Callable[..., DeliveryResult | None], *args: Any) -> list[DeliveryResult]:
        try:
            result = work(*args)
        except Exception:  # noqa: BLE001 - logged with its traceback; other schedules go on
            log.exception("org %s: a scheduled report failed", org_id)
            return []
        return [result] if result else []

    # --- one delivery -----------------------------------------------------------------------

    def claim(self, org_id: str, key: str, body: Mapping[str, Any]) -> bool:
        """Create (or take over a stuck) report_deliveries/{key}; False when it was sent or is being sent."""
        ref = self._ref(org_id, f"{DELIVERIES}/{key}")
        now = self._clock()

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> bool:
            snap = ref.get(transaction=transaction)
            if snap.exists:
                current = snap.to_dict() or {}
                claimed = current.get("claimed_at")
                if current.get("status") != "sending" or (claimed is not None and now - claimed < STUCK_AFTER):
                    return False
                transaction.update(ref, {"claimed_at": now, "rounds": firestore.Increment(1)})
                return True
            transaction.create(ref, {**body, "status": "sending", "claimed_at": now, "created_at": now, "rounds": 1})
            return True

        with map_exceptions(f"claiming report delivery {key} of {org_id}"):
            return run(self._db.transaction())

    def deliver(
        self,
        org_id: str,
        schedule_id: str,
        schedule: ReportSchedule,
        period: str,
        key: str,
        trigger: str,
        extra: Mapping[str, Any] | None = None,
    ) -> DeliveryResult | None:
        """Produce and send one pack unless this delivery was claimed already (then nothing happens)."""
        body = {
            "delivery_id": key,
            "schedule_id": schedule_id,
            "period": period,
            "trigger": trigger,
            "report_id": key,
            "channel_id": schedule.channel_id or DIRECT_CHANNEL,
            **({"view_id": schedule.view_id} if schedule.view_id else {}),
            **(extra or {}),
        }
        if not self.claim(org_id, key, body):
            return None
        ref = self._ref(org_id, f"{DELIVERIES}/{key}")
        try:
            settings = self._settings(org_id, schedule)
        except ChannelError as exc:
            return self._record(
                ref, org_id, key, "failed", str(exc), [DeliveryOutcome(body["channel_id"], errors=[str(exc)])]
            )
        requester = f"schedule:{schedule_id}"
        outcome = self._service.run(
            org_id,
            key,
            period,
            {"source": trigger, "schedule_id": schedule_id, "requested_by": requester},
            view_id=schedule.view_id,
            requested_by=requester,
        )
        if outcome.status == "skipped":
            # The report exists from an earlier round of this delivery: build the message from it again.
            self._service.ref(org_id, key).update({"status": "queued", "lease_until": None})
            outcome = self._service.run(org_id, key, period, view_id=schedule.view_id, requested_by=requester)
        if outcome.status == "succeeded" and outcome.view is not None and outcome.pdf is not None:
            message = view_email(settings, outcome.view, outcome.pdf, self._dashboard_url())
            return self._send(ref, org_id, key, body["channel_id"], settings, message)
        if outcome.status != "succeeded" or outcome.pack is None or outcome.pdf is None:
            error = outcome.error or {}
            status = (
                "no_data" if error.get("code") in ("no_data", "closed_without_data", "unknown_period") else "failed"
            )
            return self._record(ref, org_id, key, status, error.get("message", "the report was not produced"), [])
        # The download links need the reader's ID token: the e-mail points at the dashboard instead.
        message = pack_email(settings, outcome.pack, outcome.pdf, outcome.chart_png, self._dashboard_url())
        return self._send(ref, org_id, key, body["channel_id"], settings, message)

    def _send(
        self,
        ref: firestore.DocumentReference,
        org_id: str,
        key: str,
        channel_id: str,
        settings: Any,
        message: Any,
    ) -> DeliveryResult:
        """Send one message with the bounded retries and record the outcome."""
        sent = deliver_with_retry(channel_id, lambda: send_email(settings, message), **self._retry)
        status = "delivered" if sent.delivered else "failed"
        return self._record(
            ref,
            org_id,
            key,
            status,
            sent.last_error if not sent.delivered else None,
            [sent],
            recipients=list(settings.recipients),
        )

    def _settings(self, org_id: str, schedule: ReportSchedule):
        if schedule.channel_id:
            documents = load_channel_documents(self._db, org_id, [schedule.channel_id])
            channel = parse_channel(schedule.channel_id, documents[schedule.channel_id])
            if not isinstance(channel, EmailChannel):
                raise ChannelError(
                    f"channel {schedule.channel_id!r} is a {channel.type} channel; packs need an e-mail channel"
                )
            if not channel.enabled:
                raise ChannelError(f"channel {schedule.channel_id!r} is disabled")
            if schedule.recipients:
                channel = channel.model_copy(update={"recipients": schedule.recipients})
        else:
            channel = EmailChannel(type="email", recipients=schedule.recipients)
        return smtp_settings(channel, self._smtp_defaults(), self._secrets)

    def _record(
        self,
        ref: firestore.DocumentReference,
        org_id: str,
        key: str,
        status: str,
        message: str | None,
        outcomes: list[DeliveryOutcome],
        recipients: list[str] | None = None,
    ) -> DeliveryResult:
        """Outcome per channel (attempts, errors, delivered_at) on the delivery document, as for alert notifications."""
        body: dict[str, Any] = {
            "status": status,
            "message": message,
            "completed_at": self._clock(),
            "deliveries": {
                o.channel_id: {
                    "attempts": firestore.Increment(o.attempts),
                    "delivered": o.delivered,
                    "delivered_at": o.delivered_at,
                    "last_attempt_at": o.last_attempt_at,
                    "last_error": o.last_error,
                    "errors": o.errors[-5:],
                }
                for o in outcomes
            },
        }
        if recipients is not None:
            body["recipients"] = recipients
        with map_exceptions(f"recording report delivery {key} of {org_id}"):
            ref.set(body, merge=True)
        if status not in ("delivered", "no_data"):
            log.warning("org %s: report delivery %s %s: %s", org_id, key, status, message)
        return DeliveryResult(org_id, key, status)
