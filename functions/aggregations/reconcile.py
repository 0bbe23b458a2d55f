"""Reconciliation: recompute an org's aggregates from its records, compare, and repair any drift."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, record_from_document, utc_now
from adapters.reference_store import ReferenceStore
from adapters.sweeps import OrgSweep
from finance_core.aggregates import AggregateDelta, AggregateKey, aggregates_from_records
from finance_core.dimensions import DimensionKey, dimension_aggregates_from_records
from finance_core.reference import OrgReference
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from aggregations.announce import FoldAnnouncer
from aggregations.derived import DerivedDocuments
from aggregations.store import AggregateStore

log = logging.getLogger(__name__)

# Record writes whose trigger may still be running make the records and the aggregates differ
# for a moment; reconciliation only touches an org that has been quiet this long.
DEFAULT_SETTLE = timedelta(minutes=2)


@dataclass
class ReconcileReport:
    """What a reconciliation run found and fixed."""

    org_id: str
    period: str | None
    keys_checked: int = 0
    shard_repairs: list[str] = field(default_factory=list)
    view_repairs: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def repaired(self) -> int:
        """Number of aggregate keys whose shards or readable document were repaired."""
        return len(set(self.shard_repairs) | set(self.view_repairs))

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if self.skipped:
            return f"{self.org_id}: skipped ({self.skipped})"
        scope = f" period {self.period}" if self.period else ""
        return (
            f"{self.org_id}{scope}: checked {self.keys_checked} aggregates, repaired {self.repaired} "
            f"(shards: {', '.join(self.shard_repairs) or 'none'}; "
            f"readable documents: {', '.join(self.view_repairs) or 'none'})"
        )


def _correction_id(key: AggregateKey | DimensionKey, expected: AggregateDelta, current: AggregateDelta) -> str:
    # Deterministic: two runs that see the same state issue the same correction, applied once.
    payload = json.dumps(
        [
            key.doc_id,
            sorted(expected.accounts.items()),
            expected.record_count,
            sorted(current.accounts.items()),
            current.record_count,
        ]
        # Daily totals only when either side has some, so the ids of undated corrections stay as they were.
        + ([_day_items(expected), _day_items(current)] if _has_days(expected) or _has_days(current) else [])
    )
    return "reconcile-" + hashlib.sha256(payload.encode()).hexdigest()[:32]


def _difference(expected: AggregateDelta, current: AggregateDelta) -> AggregateDelta:
    accounts = {
        a: expected.accounts.get(a, 0) - current.accounts.get(a, 0)
        for a in set(expected.accounts) | set(current.accounts)
    }
    difference = AggregateDelta(accounts, expected.record_count - current.record_count)
    for totals, sign in ((expected, 1), (current, -1)):
        for day, day_accounts in totals.days.items():
            for account_id, minor in day_accounts.items():
                difference.add_day(day, account_id, sign * minor, 0)
        for day, count in totals.day_counts.items():
            difference.day_counts[day] = difference.day_counts.get(day, 0) + sign * count
    return difference.pruned()


def _has_days(totals: AggregateDelta) -> bool:
    return bool(totals.days or totals.day_counts)


def _day_items(totals: AggregateDelta) -> list[Any]:
    return [
        sorted((day, sorted(accounts.items())) for day, accounts in totals.days.items()),
        sorted(totals.day_counts.items()),
    ]


def _same(expected: AggregateDelta, current: AggregateDelta) -> bool:
    """True when the totals agree, day by day too."""
    expected, current = expected.pruned(), current.pruned()
    return (
        current.accounts == expected.accounts
        and current.record_count == expected.record_count
        and current.days == expected.days
        and current.day_counts == expected.day_counts
    )


def _same_days(shown: AggregateDelta, expected: AggregateDelta) -> bool:
    expected = expected.pruned()
    return shown.days == expected.days and shown.day_counts == expected.day_counts


def _view_days(view: dict[str, Any]) -> AggregateDelta:
    """The daily totals a readable aggregate shows."""
    shown = AggregateDelta()
    for day, body in dict(view.get("days") or {}).items():
        for account_id, minor in dict(body.get("accounts") or {}).items():
            shown.add_day(str(day), str(account_id), int(minor), 0)
        shown.day_counts[str(day)] = int(body.get("record_count") or 0)
    return shown.pruned()


class Reconciler:
    """Compares aggregates with the records they summarise and repairs them."""

    def __init__(
        self,
        db: firestore.Client,
        references: ReferenceStore,
        aggregates: AggregateStore,
        derived: DerivedDocuments,
        announcer: FoldAnnouncer | None = None,
    ):
        self._db = db
        self._references = references
        self._aggregates = aggregates
        self._derived = derived
        self._announcer = announcer or FoldAnnouncer(None)

    def _busy(self, org_id: str, settle: timedelta) -> bool:
        cutoff = utc_now() - settle
        org = self._db.document(org_path(org_id))
        with map_exceptions(f"checking recent activity of {org_id}"):
            for collection, field_name in (("financial_records", "updated_at"), ("deleted_records", "deleted_at")):
                query = org.collection(collection).where(filter=FieldFilter(field_name, ">", cutoff)).limit(1)
                if any(True for _ in query.stream()):
                    return True
        return False

    def reconcile(self, org_id: str, period: str | None = None, settle: timedelta = DEFAULT_SETTLE) -> ReconcileReport:
        """Recompute the aggregates of an org (one period or all) and repair what differs."""
        report = ReconcileReport(org_id, period)
        self._references.invalidate(org_id)
        reference = self._references.get(org_id)
        if reference is None:
            report.skipped = "organization does not exist"
            return report
        if self._busy(org_id, settle):
            report.skipped = f"records changed in the last {settle}; run again when the org is quiet"
            self._record(report)
            return report
        org = self._db.document(org_path(org_id))
        records_query = org.collection("financial_records")
        aggregates_query = org.collection("aggregates")
        dimensions_query = org.collection("dimension_aggregates")
        if period:
            records_query = records_query.where(filter=FieldFilter("period", "==", period))
            aggregates_query = aggregates_query.where(filter=FieldFilter("period", "==", period))
            dimensions_query = dimensions_query.where(filter=FieldFilter("period", "==", period))
        with map_exceptions(f"reading records of {org_id}"):
            records = [
                r
                for r in (record_from_document(org_id, s.id, s.to_dict()) for s in records_query.stream())
                if r is not None
            ]
            stored_views = {s.id: s.to_dict() or {} for s in aggregates_query.stream()}
            stored_dimension_views = {s.id: s.to_dict() or {} for s in dimensions_query.stream()}
        truth = aggregates_from_records(records)
        touched = [
            key
            for key in sorted(set(truth) | {AggregateKey.from_doc_id(doc_id) for doc_id in stored_views})
            if self._check(
                org_id, key, truth.get(key, AggregateDelta()), stored_views.get(key.doc_id), reference, report
            )
        ]
        dimension_truth = dimension_aggregates_from_records(records)
        for dimension_key in sorted(
            set(dimension_truth) | {DimensionKey.from_doc_id(doc_id) for doc_id in stored_dimension_views}
        ):
            self._check(
                org_id,
                dimension_key,
                dimension_truth.get(dimension_key, AggregateDelta()),
                stored_dimension_views.get(dimension_key.doc_id),
                reference,
                report,
            )
        if touched:
            refreshed = self._derived.refresh(org_id, reference, touched)
            # Readers (alerts, trends, BigQuery metric values) hear of a repair as of any fold; every
            # account of a repaired key may have moved.
            every_account = [account.account_id for account in reference.chart]
            self._announcer.announce(
                org_id,
                f"reconciliation-{uuid.uuid4().hex}",
                utc_now().isoformat(),
                None,
                dict.fromkeys(touched, every_account),
                series=refreshed.series,
            )
        # Drift found is a WARNING with its count: the log-based metric reconciliation_drift (and
        # its alert policy) counts these lines; a clean run is INFO.
        log.log(
            logging.WARNING if report.repaired else logging.INFO,
            "reconciliation %s",
            report.summary(),
            extra={
                "json_fields": {
                    "org_id": org_id,
                    "reconciliation_keys_checked": report.keys_checked,
                    "reconciliation_keys_repaired": report.repaired,
                    "outcome": "drift_repaired" if report.repaired else "ok",
                }
            },
        )
        self._record(report)
        return report

    def _check(
        self,
        org_id: str,
        key: AggregateKey | DimensionKey,
        expected: AggregateDelta,
        view: dict[str, Any] | None,
        reference: OrgReference,
        report: ReconcileReport,
    ) -> bool:
        """Repair the shards of one key (a correcting delta) and its readable document (a forced fold).

        True if repaired.
        """
        report.keys_checked += 1
        repaired = False
        current = self._aggregates.shard_totals(org_id, key)
        if not _same(expected, current):
            correction = _difference(expected, current)
            correction_id = _correction_id(key, expected, current)
            if isinstance(key, DimensionKey):
                self._aggregates.apply_once(org_id, correction_id, {}, {key: correction})
            else:
                self._aggregates.apply_once(org_id, correction_id, {key: correction})
            report.shard_repairs.append(key.doc_id)
            repaired = True
        view_ok = (
            view is not None
            and {k: int(v) for k, v in (view.get("accounts") or {}).items()} == expected.accounts
            and int(view.get("record_count", 0)) == expected.record_count
            and (isinstance(key, DimensionKey) or _same_days(_view_days(view), expected))
        )
        if not view_ok and expected.record_count == 0 and not expected.accounts and view is None:
            return repaired
        if not view_ok:
            report.view_repairs.append(key.doc_id)
            repaired = True
        if isinstance(key, DimensionKey):
            self._aggregates.fold_dimensions(
                org_id, [key], reference.chart, reference.reporting_currency, force=not view_ok
            )
        else:
            self._aggregates.fold(org_id, key, reference.chart, reference.reporting_currency, force=not view_ok)
        return repaired

    def reconcile_all(self, settle: timedelta = DEFAULT_SETTLE) -> OrgSweep:
        """Reconcile every org, each isolated: one that fails is reported and the others are done."""
        sweep = OrgSweep("reconciliation")
        with map_exceptions("listing organizations"):
            orgs = [org.id for org in self._db.collection("organizations").list_documents()]
        repaired = 0
        for org_id in orgs:
            report = sweep.run(org_id, functools.partial(self.reconcile, org_id, settle=settle))
            repaired += report.repaired if report is not None else 0
        sweep.counts["keys_repaired"] = repaired
        return sweep

    def _record(self, report: ReconcileReport) -> None:
        """The last run, where dashboards and the monthly pack read it (data_quality/reconciliation)."""
        body = {
            "last_run_at": utc_now(),
            "period": report.period,
            "keys_checked": report.keys_checked,
            "repaired": report.repaired,
            "shard_repairs": len(report.shard_repairs),
            "view_repairs": len(report.view_repairs),
            "skipped": report.skipped,
        }
        with map_exceptions(f"recording the reconciliation of {report.org_id}"):
            self._db.document(f"{org_path(report.org_id)}/data_quality/reconciliation").set(body)
