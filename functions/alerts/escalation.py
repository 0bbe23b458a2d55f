"""Escalation of unacknowledged critical alerts, and the acknowledgements clients made, into the alert history."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from adapters.firestore_codec import utc_now
from finance_core.alert_policy import plan_escalation

from alerts.notifier import Notifier, SentNotification
from alerts.rules import parse_rules
from alerts.store import AlertStore, readable_state

log = logging.getLogger(__name__)


class Escalator:
    """Raises the level of active critical alerts nobody acknowledged in time and notifies that level's channel."""

    def __init__(self, store: AlertStore, notifier: Notifier, clock: Callable[[], datetime] = utc_now):
        self._store = store
        self._notifier = notifier
        self._clock = clock

    def run(self, org_id: str) -> list[SentNotification]:
        """One pass over an org: escalate what is due (one level per alert and pass), log acknowledgements."""
        now = self._clock()
        rules = {rule.rule_id: rule for rule in parse_rules(org_id, self._store.rule_documents(org_id))}
        sent: list[SentNotification] = []
        for document in self._store.open_critical_alerts(org_id):
            rule = rules.get(str(document.get("rule_id")))
            escalation = rule.escalation if rule is not None else None
            # Decide on the listed copy first: most alerts are not due, and need no transaction.
            if escalation is None:
                continue
            state = readable_state(document)
            if state is None or not plan_escalation(state, escalation, now=now).escalate:
                continue
            claim = self._store.escalate(org_id, str(document["fingerprint"]), escalation, now)
            if claim.notification is None or claim.alert is None:
                continue
            alert_id = str(document["fingerprint"])
            log.info("org %s: alert %s escalated to level %d (channel %s)", org_id, alert_id,
                     claim.notification["escalation_level"], claim.notification["channels"][0])
            status = self._notifier.deliver(org_id, claim.notification, {alert_id: claim.alert})
            self._store.history.push(org_id, claim.rows)
            sent.append(SentNotification(claim.notification["notification_id"], "escalation", (alert_id,), status))
        for document in self._store.unlogged_acknowledgements(org_id):
            row = self._store.log_acknowledgement(org_id, str(document["fingerprint"]), now)
            if row is not None:
                self._store.history.push(org_id, [row])
        return sent
