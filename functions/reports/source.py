"""Reads what a pack is built from: the documents the dashboards read (aggregates, variance, trends,
alerts, data quality), in one batched read plus one query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.data_quality import shard_refs as data_quality_shards
from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from finance_core.accounts import ChartError, ChartOfAccounts
from finance_core.health import data_quality_view
from finance_core.identifiers import CONSOLIDATED_ENTITY, KEY_SEPARATOR
from finance_core.money import is_currency
from finance_core.trend_series import CASH_DOC_ID, metric_doc_id
from finance_core.untrusted import quoted
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from reports.pack import TREND_METRICS, PackInputs, ReportProblem, aggregate_keys

RECONCILIATION_DOC = "data_quality/reconciliation"
ANALYTICS_HEALTH_DOC = "data_quality/analytics_sink"


class PackSource:
    """Firestore reads of one pack (the Admin SDK: the function checks membership itself)."""

    def __init__(self, db: firestore.Client):
        self._db = db

    def read(self, org_id: str, period: str, now: datetime) -> PackInputs:
        """PackInputs of an org and period; ReportProblem('unknown_org') if the org does not exist."""
        org = self._db.document(org_path(org_id))
        with map_exceptions(f"reading the reference data of {org_id}"):
            org_snap = org.get()
            if not org_snap.exists:
                raise ReportProblem("unknown_org", f"organization {org_id!r} does not exist")
            accounts = {s.id: s.to_dict() or {} for s in org.collection("accounts").stream()}
            entities = {s.id: s.to_dict() or {} for s in org.collection("entities").stream()}
            periods = {s.id: str((s.to_dict() or {}).get("status", "open")) for s in org.collection("periods").stream()}
        try:
            chart = ChartOfAccounts.from_documents(accounts)
        except ChartError as exc:
            raise ReportProblem(
                "invalid_chart", f"the chart of accounts of {org_id!r} is inconsistent: {exc}"
            ) from None
        keys = aggregate_keys(period, sorted(entities))
        refs: dict[str, tuple[str, Any]] = {}
        for key in keys:
            refs[org.collection("aggregates").document(KEY_SEPARATOR.join(key)).path] = ("aggregate", key)
        for entity_id in (CONSOLIDATED_ENTITY, *entities):
            refs[org.collection("variance").document(f"{entity_id}{KEY_SEPARATOR}{period}").path] = (
                "variance",
                entity_id,
            )
        for metric in TREND_METRICS:
            refs[org.collection("trends").document(metric_doc_id(metric)).path] = ("trend", metric)
        refs[org.collection("trends").document(CASH_DOC_ID).path] = ("cash", "cash")
        for index, shard in enumerate(data_quality_shards(self._db, org_id)):
            refs[shard.path] = ("data_quality", index)
        for name, path in (
            ("analytics", ANALYTICS_HEALTH_DOC),
            ("reconciliation", RECONCILIATION_DOC),
        ):
            refs[f"{org_path(org_id)}/{path}"] = (name, name)
        found: dict[str, dict[Any, Any]] = {
            "aggregate": {},
            "variance": {},
            "trend": {},
            "data_quality": {},
            "analytics": {},
            "reconciliation": {},
            "cash": {},
        }
        with map_exceptions(f"reading the figures of {org_id} for {period}"):
            for snap in self._db.get_all([self._db.document(path) for path in refs]):
                if snap.exists:
                    kind, key = refs[snap.reference.path]
                    found[kind][key] = snap.to_dict() or {}
            query = org.collection("alerts").where(filter=FieldFilter("period", "==", period))
            alerts = [s.to_dict() or {} for s in query.stream()]
        data = org_snap.to_dict() or {}
        currency = str(data.get("reporting_currency") or "USD")
        if not is_currency(currency):
            raise ReportProblem(
                "invalid_org", f"the reporting currency of {org_id!r} is {quoted(currency)}, not an ISO 4217 code"
            )
        return PackInputs(
            org_id=org_id,
            org_name=str(data.get("name") or org_id),
            period=period,
            currency=currency,
            chart=chart,
            entities={e: str(entities[e].get("name") or e) for e in sorted(entities)},
            period_status=periods,
            aggregates=found["aggregate"],
            variance=found["variance"],
            trends=found["trend"],
            alerts=alerts,
            data_quality=data_quality_view(found["data_quality"].values()) if found["data_quality"] else None,
            analytics_health=found["analytics"].get("analytics"),
            reconciliation=found["reconciliation"].get("reconciliation"),
            generated_at=now,
            current_period=data.get("current_period"),
            cash_runway=found["cash"].get("cash", {}).get("runway"),
        )
