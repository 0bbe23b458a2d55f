"""Alert triggers: evaluation on every applied change and every cash forecast, the notification sweep and escalation
schedules."""

from __future__ import annotations

import functools
import logging

from adapters import deployment
from adapters.clients import bigquery_client, firestore_client
from adapters.firestore_codec import utc_now
from adapters.http_endpoint import serve
from adapters.identity import verify_id_token
from adapters.logs import observed
from adapters.notification_channels.sender import ChannelSender
from adapters.origin import pubsub_message
from adapters.runtime import reference_store
from adapters.settings import (
    ALERT_INLINE_WAIT_SECONDS,
    BIGQUERY_DATASET,
    DASHBOARD_URL,
    SLACK_WEBHOOK_URL,
    SMTP_PASSWORD,
    channel_settings,
    project_id,
)
from adapters.topics import FOLDED_TOPIC
from finance_core.folded import decode_folded
from finance_core.trend_series import CASH_DOC_ID
from firebase_functions import firestore_fn, https_fn, options, pubsub_fn, scheduler_fn

from alerts.console import MAX_BODY_BYTES, AlertConsole
from alerts.escalation import Escalator
from alerts.evaluator import AlertEvaluator
from alerts.history import AlertHistory, bigquery_insert
from alerts.notifier import Notifier
from alerts.store import AlertStore

log = logging.getLogger(__name__)

_SECRETS = {"SLACK_WEBHOOK_URL": SLACK_WEBHOOK_URL, "SMTP_PASSWORD": SMTP_PASSWORD}
# Bound to the three functions that send notifications (and only to them).
SECRETS = [SLACK_WEBHOOK_URL, SMTP_PASSWORD]


def _secret(name: str) -> str:
    return _SECRETS[name].value


def _smtp_defaults() -> dict[str, str]:
    return channel_settings()


@functools.cache
def alert_store() -> AlertStore:
    """The instance's alert store (with its BigQuery history)."""
    db = firestore_client()
    table = lambda: f"{project_id()}.{BIGQUERY_DATASET.value}.alerts"  # noqa: E731
    return AlertStore(db, AlertHistory(db, bigquery_insert(bigquery_client, table)))


@functools.cache
def notifier() -> Notifier:
    """The instance's notifier."""
    store = alert_store()
    sender = ChannelSender(store.channel_documents, _secret, _smtp_defaults)
    return Notifier(
        store,
        sender,
        inline_wait=lambda: float(ALERT_INLINE_WAIT_SECONDS.value),
        dashboard_url=lambda: DASHBOARD_URL.value or None,
    )


@functools.cache
def evaluator() -> AlertEvaluator:
    """The instance's evaluator."""
    return AlertEvaluator(firestore_client(), reference_store(), alert_store(), notifier())


# retry=True: a transient failure (contention, Firestore unavailable) is redelivered; every step
# is idempotent on the change id. The timeout leaves room for a short in-process group wait.
@pubsub_fn.on_message_published(
    topic=FOLDED_TOPIC, retry=True, **deployment.background("alerts", timeout_sec=120, secrets=SECRETS)
)
@observed("evaluate_alerts")
def evaluate_alerts(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Evaluate the org's alert rules touched by one folded change (once, however many lines); raise, resolve,
    notify."""
    data, _ = pubsub_message(event)
    evaluator().handle(decode_folded(data))


# Burn and runway rules judge the cash forecast, which the trend computer writes after the aggregates
# are folded: its write is the change that evaluates them. Retry is turned on after deploy
# (apply_trigger_policies.py); a lost event is made good by the forecast's next write.
@firestore_fn.on_document_written(
    document=f"organizations/{{org_id}}/trends/{CASH_DOC_ID}",
    **deployment.background("alerts", timeout_sec=120, secrets=SECRETS),
)
@observed("evaluate_runway_alerts")
def evaluate_runway_alerts(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    """Evaluate the org's burn and runway rules when the cash forecast's burn or runway changed."""
    change = event.data
    before = change.before.to_dict() if change.before is not None and change.before.exists else None
    after = change.after.to_dict() if change.after is not None and change.after.exists else None
    runway = (after or {}).get("runway")
    if after is None or runway == (before or {}).get("runway"):
        return  # a deletion (no forecast any more decides nothing) or another field (comment_count, computed_at)
    observed_at = change.after.update_time if change.after is not None else utc_now()
    # The event id is the same on a redelivery: each alert applies this forecast once.
    evaluator().handle_forecast(event.params["org_id"], f"cash-forecast-{event.id}", runway, observed_at)


@scheduler_fn.on_schedule(schedule="every 1 minutes", **deployment.scheduled("alerts", secrets=SECRETS))
@observed("flush_alert_notifications")
def flush_alert_notifications(event: scheduler_fn.ScheduledEvent) -> None:
    """Send notification groups that are due (group wait, interval, repeat), finish stuck deliveries, sync history.

    Each org is isolated; the run fails when any org failed (after the others were done)."""
    notifier().sweep(fail_on_error=True)


@scheduler_fn.on_schedule(schedule="every 5 minutes", **deployment.scheduled("alerts", secrets=SECRETS))
@observed("escalate_alerts")
def escalate_alerts(event: scheduler_fn.ScheduledEvent) -> None:
    """Escalate unacknowledged critical alerts one level and notify that level's channel (each org isolated;
    the run fails when any org failed)."""
    Escalator(alert_store(), notifier()).run(fail_on_error=True)


@functools.cache
def console() -> AlertConsole:
    """The instance's console endpoint (previews read like the evaluator; tests send like the notifier)."""
    return AlertConsole(
        firestore_client(),
        evaluator().preview,
        lambda: ChannelSender(alert_store().channel_documents, _secret, _smtp_defaults),
        _smtp_defaults,
        verify_id_token,
        utc_now,
    )


# The admin console reaches it on its own origin (Hosting rewrite of /api/alerts/**).
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["post"]),
    **deployment.background("alerts", concurrency=10, timeout_sec=60, secrets=SECRETS),
)
@observed("alert_console")
def alert_console(request: https_fn.Request) -> https_fn.Response:
    """Preview an alert rule on current data, set a channel's write-only secret, send a channel a test message."""
    return serve(request, console().handle, body_limit=MAX_BODY_BYTES)
