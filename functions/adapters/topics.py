"""Pub/Sub topic names of the backend: one source for publishers and for the triggers' decorators.

A trigger's topic is fixed when the function is deployed (the decorator needs a literal), so a
topic name is not a setting: it is a constant here, equal to infra/resources.json (where
Terraform and the local stack create the topics), which tests/unit/test_topics.py checks.
"""

from __future__ import annotations

# Integrators publish here (contract v1 events, records.batch messages).
EVENTS_TOPIC = "financial-events"
EVENT_BATCHES_TOPIC = "financial-event-batches"
EVENTS_DEAD_LETTER_TOPIC = "financial-events-dead-letter"
# Applied record changes (one message per change document): aggregations folds them, BigQuery facts follow.
CHANGES_TOPIC = "financial-record-changes"
CHANGES_DEAD_LETTER_TOPIC = "financial-record-changes-dead-letter"
# What aggregations folded (finance_core.folded): alerts, trends and BigQuery metric values read after it.
FOLDED_TOPIC = "financial-aggregates-folded"
