"""Escalation of unacknowledged critical alerts, and the acknowledgements clients made, into the alert history."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime

from adapters.firestore_codec import utc_now
from adapters.sweeps import OrgSweep
from finance_core.alert_policy import plan_escalation
from finance_core.alert_rules import Escalation

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

    def run(self, org_id: str | None = None, fail_on_error: bool = False) -> list[SentNotification]:
        """One pass over every org (or one): escalate what is due (one level per alert and pass), log
        acknowledgements. One org's failure is logged and never stops the others; with `fail_on_error`
        the run raises SweepFailed at the end when any org failed."""
        report = OrgSweep("escalation", skip_failed_orgs=False)
        now = self._clock()
        candidates: dict[str, list[dict]] = {}
        for org, document in self._store.alerts_with_status("active", org_id):
            # Pre-filter on the alert's copy of its rule's escalation: most alerts never escalate,
            # or are not due, and cost no rule read.
            copy = document.get("escalation")
            state = readable_state(document)
            if document.get("severity") != "critical" or not copy or state is None:
                continue
            try:
                due = plan_escalation(state, Escalation.model_validate(copy), now=now).escalate
            except ValueError:
                due = True  # an unreadable copy: let the rule decide
            if due:
                candidates.setdefault(org, []).append(document)
        sent: list[SentNotification] = []
        for org, documents in candidates.items():
            sent += report.run(org, functools.partial(self._escalate, org, documents, now), "escalating") or []
        for org, document in self._store.alerts_with_status("acknowledged", org_id):
            if document.get("acknowledgement_logged_at") is not None or not document.get("fingerprint"):
                continue
            report.run(
                org, functools.partial(self._log_acknowledgement, org, document, now), "logging an acknowledgement"
            )
        if fail_on_error:
            report.finish()
        return sent

    def _log_acknowledgement(self, org_id: str, document: dict, now: datetime) -> None:
        row = self._store.log_acknowledgement(org_id, str(document["fingerprint"]), now)
        if row is not None:
            self._store.history.push(org_id, [row])

    def _escalate(self, org_id: str, documents: list[dict], now: datetime) -> list[SentNotification]:
        rules = {rule.rule_id: rule for rule in parse_rules(org_id, self._store.rule_documents(org_id))}
        sent: list[SentNotification] = []
        for document in documents:
            rule = rules.get(str(document.get("rule_id")))
            escalation = rule.escalation if rule is not None else None
            if escalation is None:
                continue
            # Decide on the listed copy first: most alerts are not due, and need no transaction.
            state = readable_state(document)
            if state is None or not plan_escalation(state, escalation, now=now).escalate:
                continue
            claim = self._store.escalate(org_id, state.fingerprint, escalation, now)
            if claim.notification is None or claim.alert is None:
                continue
            log.info(
                "org %s: alert %s escalated to level %d (channel %s)",
                org_id,
                state.fingerprint,
                claim.notification["escalation_level"],
                claim.notification["channels"][0],
            )
            status = self._notifier.deliver(org_id, claim.notification, {state.fingerprint: claim.alert})
            self._store.history.push(org_id, claim.rows)
            sent.append(
                SentNotification(claim.notification["notification_id"], "escalation", (state.fingerprint,), status)
            )
        return sent
