"""Trend triggers: a debounced consumer of the change topic, and the sweep that catches what is left pending."""

from __future__ import annotations

import functools
from datetime import timedelta

from adapters import deployment
from adapters.clients import firestore_client
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.runtime import reference_store
from adapters.settings import TRENDS_DEBOUNCE_SECONDS
from adapters.sweeps import OrgSweep
from adapters.topics import FOLDED_TOPIC
from finance_core.aggregates import AggregateKey
from finance_core.folded import decode_folded
from firebase_functions import pubsub_fn, scheduler_fn

from trends.compute import TrendComputer
from trends.requests import TrendRequests


@functools.cache
def trend_requests() -> TrendRequests:
    """The instance's debounced trend computer."""
    db = firestore_client()
    computer = TrendComputer(db, reference_store())
    return TrendRequests(db, computer.compute, timedelta(seconds=TRENDS_DEBOUNCE_SECONDS.value))


def touches_actuals(keys: list[AggregateKey]) -> bool:
    """Trends follow consolidated actuals only: budget and forecast changes do not move them."""
    return any(key.scenario == "actual" for key in keys)


@pubsub_fn.on_message_published(topic=FOLDED_TOPIC, retry=True, **deployment.background("scheduled", timeout_sec=300))
@observed("refresh_trends")
def refresh_trends(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Request a trend refresh of the folded change's org; at most one computation per debounce window runs."""
    message = event.data.message
    data, _ = pubsub_message(event)
    folded = decode_folded(data)
    if touches_actuals(folded.keys):
        # The readable aggregates include the change before it is announced.
        trend_requests().on_change(folded.org_id, message.publish_time)  # type: ignore[arg-type]  # a datetime


@scheduler_fn.on_schedule(schedule="every 1 minutes", **deployment.scheduled("scheduled"))
@observed("sweep_trend_requests")
def sweep_trend_requests(event: scheduler_fn.ScheduledEvent) -> None:
    """Compute the trends of orgs whose last request was left pending (a holder that crashed or ran out of time)."""
    report = OrgSweep("trend_requests")
    trend_requests().sweep(report)
    report.finish()
