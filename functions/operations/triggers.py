"""Operations trigger: the pipeline health documents, refreshed every minute."""

from __future__ import annotations

import functools
from collections import Counter

from adapters import deployment
from adapters.clients import firestore_client, subscriber
from adapters.logs import observed
from adapters.settings import DEAD_LETTER_SUBSCRIPTIONS, project_id
from firebase_functions import scheduler_fn

from operations.dead_letters import peek_waiting
from operations.health import HealthRefresher


def waiting_dead_letters() -> Counter[str | None]:
    """Dead letters waiting on the hold subscriptions, per org."""
    client = subscriber()
    paths = [
        client.subscription_path(project_id(), name.strip())
        for name in DEAD_LETTER_SUBSCRIPTIONS.value.split(",")
        if name.strip()
    ]
    return peek_waiting(client, paths)


@functools.cache
def health_refresher() -> HealthRefresher:
    """The instance's health refresher."""
    return HealthRefresher(firestore_client(), waiting_dead_letters)


@scheduler_fn.on_schedule(schedule="every 1 minutes", **deployment.scheduled("realtime"))
@observed("refresh_pipeline_health")
def refresh_pipeline_health(event: scheduler_fn.ScheduledEvent) -> None:
    """Backlog age, lag p50/p99, dead letters waiting, rejected rate and the last reconciliation, per org and global."""
    health_refresher().refresh()
