"""Loads an org's reference data (chart, entities, periods, FX) from Firestore, cached per instance."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from finance_core.accounts import ChartError, ChartOfAccounts
from finance_core.dimensions import DimensionError, parse_declarations
from finance_core.money import MoneyError, is_currency
from finance_core.reference import OrgReference
from finance_core.untrusted import quoted
from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.settings import REFERENCE_CACHE_SECONDS


class ReferenceDataError(Exception):
    """The org's own reference data is broken (e.g. a cycle in the chart): events cannot be checked."""


@dataclass
class _Cached:
    loaded_at: float
    reference: OrgReference | None


class ReferenceStore:
    """Org reference data with a short per-instance cache (changes show up within the TTL)."""

    def __init__(self, db: firestore.Client, ttl_seconds: float | None = None):
        self._db = db
        self._ttl = REFERENCE_CACHE_SECONDS.value if ttl_seconds is None else ttl_seconds
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def get(self, org_id: str) -> OrgReference | None:
        """The org's reference data, or None if the org does not exist."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(org_id)
        if cached and now - cached.loaded_at < self._ttl:
            return cached.reference
        reference = self._load(org_id)
        with self._lock:
            self._cache[org_id] = _Cached(now, reference)
        return reference

    def invalidate(self, org_id: str | None = None) -> None:
        """Forget cached data (all orgs when org_id is None)."""
        with self._lock:
            if org_id is None:
                self._cache.clear()
            else:
                self._cache.pop(org_id, None)

    def _load(self, org_id: str) -> OrgReference | None:
        org_ref = self._db.document(org_path(org_id))
        with map_exceptions(f"loading reference data of org {org_id}"):
            org = org_ref.get()
            if not org.exists:
                return None
            accounts = {d.id: d.to_dict() or {} for d in org_ref.collection("accounts").stream()}
            entities = {d.id: d.to_dict() or {} for d in org_ref.collection("entities").stream()}
            periods = {d.id: d.to_dict() or {} for d in org_ref.collection("periods").stream()}
            fx = {d.id: d.to_dict() or {} for d in org_ref.collection("fx_rates").stream()}
        org_doc = org.to_dict() or {}
        # Admin documents are input too: a value the backend cannot use is the org's configuration
        # problem (every event of the org is rejected with this reason, stored and counted), never
        # an exception that fails each delivery until the dead-letter topic.
        reporting_currency = str(org_doc.get("reporting_currency", "USD"))
        if not is_currency(reporting_currency):
            raise ReferenceDataError(
                f"the reporting currency of org {org_id} is {quoted(reporting_currency)}, not an ISO 4217 code "
                f"({org_path(org_id)}, field reporting_currency)"
            )
        entity_currencies = {k: str(v.get("currency", reporting_currency)) for k, v in entities.items()}
        for entity_id, currency in entity_currencies.items():
            if not is_currency(currency):
                raise ReferenceDataError(
                    f"entity {quoted(entity_id)} of org {org_id} has the currency {quoted(currency)}, not an ISO "
                    f"4217 code ({org_path(org_id)}/entities/{entity_id})"
                )
        start_month = org_doc.get("fiscal_year_start_month", 1)
        if isinstance(start_month, bool) or not isinstance(start_month, int) or not 1 <= start_month <= 12:
            raise ReferenceDataError(
                f"fiscal_year_start_month of org {org_id} is {quoted(start_month)}; expected a month number 1-12 "
                f"({org_path(org_id)})"
            )
        try:
            chart = ChartOfAccounts.from_documents(accounts)
        except ChartError as exc:
            raise ReferenceDataError(f"chart of accounts of org {org_id} is invalid: {exc}") from exc
        try:
            rates = OrgReference.parse_rates(fx)
        except MoneyError as exc:
            raise ReferenceDataError(
                f"FX rates of org {org_id} are invalid ({org_path(org_id)}/fx_rates): {exc}"
            ) from exc
        try:
            dimensions = parse_declarations(org_doc.get("dimensions"))
        except DimensionError as exc:
            raise ReferenceDataError(
                f"dimensions of org {org_id} are invalid ({org_path(org_id)}, field {exc}); "
                "an admin corrects them in the org's settings"
            ) from exc
        return OrgReference(
            org_id=org_id,
            reporting_currency=reporting_currency,
            chart=chart,
            entity_currencies=entity_currencies,
            period_status={k: str(v.get("status", "open")) for k, v in periods.items()},
            fx_rates=rates,
            fiscal_year_start_month=start_month,
            current_period=org_doc.get("current_period"),
            dimensions=dimensions,
        )
