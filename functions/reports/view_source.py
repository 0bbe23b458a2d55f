"""Reads a view's report inputs: the view (stored, or ready-made from the core), who may read it, the
org's catalogue, and exactly the documents and bounded queries its widgets read on the dashboard."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from finance_core.identifiers import CONSOLIDATED_ENTITY, KEY_SEPARATOR
from finance_core.metrics import STANDARD_BY_ID
from finance_core.money import is_currency
from finance_core.periods import kpi_period
from finance_core.trend_series import CASH_DOC_ID, metric_doc_id
from finance_core.untrusted import quoted
from finance_core.views import (
    MAX_HEATMAP_CELLS,
    MAX_WIDGETS,
    View,
    ViewError,
    catalog_of,
    heatmap_view,
    parse_template,
    parse_view,
    scorecard_view,
    starter_views,
    view_problems,
)
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from reports.pack import ReportProblem
from reports.view_pack import DIMENSION_MONTHS_LIMIT, Read, ViewInputs, view_reads

SCHEDULE_REQUESTER = "schedule:"


def ready_made(view_id: str, dimensions: Mapping[str, Mapping[str, Any]]) -> View | None:
    """A ready-made view of the org by its id (as the dashboard lists them: readyMadeViews), or None."""
    if view_id in starter_views():
        return parse_template(starter_views()[view_id])
    kind, _, rest = view_id.partition(".")
    if kind == "heatmap" and rest in dimensions:
        label = str(dimensions[rest].get("label") or rest)
        return parse_template(heatmap_view(rest, label))
    if kind == "scorecard":
        dimension, _, value = rest.partition(".")
        declaration = dimensions.get(dimension) or {}
        if value in [str(v) for v in declaration.get("values") or ()]:
            label = str(declaration.get("label") or dimension)
            return parse_template(scorecard_view(dimension, value, f"{label} {value}"))
    return None


def readable_by(view: View, requested_by: str) -> bool:
    """A shared or ready-made view is every member's; a personal view its owner's alone (never a schedule's)."""
    return view.visibility == "shared" or (
        view.owner == requested_by and not requested_by.startswith(SCHEDULE_REQUESTER)
    )


class ViewSource:
    """Firestore reads of one view's report (the Admin SDK: who may read the view is checked here)."""

    def __init__(self, db: firestore.Client):
        self._db = db

    def read(self, org_id: str, view_id: str, period: str, requested_by: str, now: datetime) -> ViewInputs:
        """ViewInputs of a view at an anchor month; ReportProblem when the org, the view or access is missing."""
        org = self._db.document(org_path(org_id))
        with map_exceptions(f"reading organization {org_id}"):
            org_snap = org.get()
        if not org_snap.exists:
            raise ReportProblem("unknown_org", f"organization {org_id!r} does not exist")
        data = org_snap.to_dict() or {}
        currency = str(data.get("reporting_currency") or "USD")
        if not is_currency(currency):
            raise ReportProblem(
                "invalid_org", f"the reporting currency of {org_id!r} is {quoted(currency)}, not an ISO 4217 code"
            )
        dimensions = {str(k): v for k, v in (data.get("dimensions") or {}).items() if isinstance(v, Mapping)}
        view = ready_made(view_id, dimensions) or self._stored(org, view_id)
        if view is None or not readable_by(view, requested_by):
            # The same answer whether the view is missing or another member's personal view.
            hint = (
                " (a schedule sends shared or ready-made views)" if requested_by.startswith(SCHEDULE_REQUESTER) else ""
            )
            raise ReportProblem("unknown_view", f"view {view_id!r} does not exist or is not readable here{hint}")
        with map_exceptions(f"reading the catalogue of {org_id}"):
            entity_ids = [s.id for s in org.collection("entities").stream()]
            kpis = org.collection("kpis").document("current").get()
            periods = {s.id: str((s.to_dict() or {}).get("status", "open")) for s in org.collection("periods").stream()}
        definitions = dict(((kpis.to_dict() or {}) if kpis.exists else {}).get("definitions") or {})
        known = {**{m: spec.document() for m, spec in STANDARD_BY_ID.items()}, **definitions}
        closed = {
            name: (frozenset(str(v) for v in d["values"]) if isinstance(d.get("values"), list) else None)
            for name, d in dimensions.items()
        }
        problems = view_problems(view, catalog_of(known, entity_ids, closed))
        if problems:
            listed = "; ".join(f"{p.path}: {p.message}" for p in problems[:5])
            raise ReportProblem("invalid_view", f"view {view_id!r} no longer fits this organisation: {listed}")
        today = now.date()
        shell = ViewInputs(
            org_id=org_id,
            org_name=str(data.get("name") or org_id),
            currency=currency,
            period=period,
            in_progress=kpi_period(data.get("current_period"), periods, today),
            today=today,
            view_id=view_id,
            view=view,
            fiscal_year_start_month=int(data.get("fiscal_year_start_month") or 1),
            definitions=definitions,
            dimensions=dimensions,
            generated_at=now,
        )
        documents = self._fulfil(org, view_reads(shell))
        return dataclasses.replace(shell, documents=documents)

    def period_status(self, org_id: str, period: str) -> str:
        """open or closed (as the pack's report records it)."""
        with map_exceptions(f"reading period {period} of {org_id}"):
            snap = self._db.document(f"{org_path(org_id)}/periods/{period}").get()
        return str((snap.to_dict() or {}).get("status", "open")) if snap.exists else "open"

    def _stored(self, org: firestore.DocumentReference, view_id: str) -> View | None:
        with map_exceptions(f"reading view {view_id}"):
            snap = org.collection("views").document(view_id).get()
            if not snap.exists:
                return None
            widgets = {
                s.id: s.to_dict() or {} for s in snap.reference.collection("widgets").limit(MAX_WIDGETS).stream()
            }
        try:
            return parse_view(snap.to_dict() or {}, widgets)
        except ViewError as exc:
            raise ReportProblem("invalid_view", f"view {view_id!r} is not valid: {exc}") from None

    def _fulfil(self, org: firestore.DocumentReference, reads: list[Read]) -> dict[Read, Any]:
        """One batched get for the documents, one bounded query per dimension read."""
        refs: dict[str, Read] = {}
        found: dict[Read, Any] = {}
        for read in reads:
            kind = read[0]
            if kind == "series":
                refs[org.collection("metric_series").document(KEY_SEPARATOR.join(read[1:3])).path] = read
            elif kind == "cash_forecast":
                refs[org.collection("trends").document(CASH_DOC_ID).path] = read
            elif kind == "trend":
                refs[org.collection("trends").document(metric_doc_id(read[1])).path] = read
            elif kind == "variance":
                refs[org.collection("variance").document(KEY_SEPARATOR.join(read[1:3])).path] = read
            elif kind == "aggregate":
                _, entity, period, scenario, dimension, value = read
                if dimension is None:
                    doc_id = KEY_SEPARATOR.join((entity, period, scenario))
                    refs[org.collection("aggregates").document(doc_id).path] = read
                else:
                    doc_id = KEY_SEPARATOR.join((dimension, value, entity, period, scenario))
                    refs[org.collection("dimension_aggregates").document(doc_id).path] = read
            else:
                found[read] = self._query(org, read)
        with map_exceptions("reading the view's figures"):
            for snap in self._db.get_all([self._db.document(path) for path in refs]):
                found[refs[snap.reference.path]] = snap.to_dict() if snap.exists else None
        return found

    def _query(self, org: firestore.DocumentReference, read: Read) -> list[dict[str, Any]]:
        collection = org.collection("dimension_aggregates")
        if read[0] == "dimension_months":
            _, dimension, value, entity, scenario, first, last = read
            query = (
                collection.where(filter=FieldFilter("dimension", "==", dimension))
                .where(filter=FieldFilter("value", "==", value))
                .where(filter=FieldFilter("entity_id", "==", entity))
                .where(filter=FieldFilter("scenario", "==", scenario))
                .where(filter=FieldFilter("period", ">=", first))
                .where(filter=FieldFilter("period", "<=", last))
                .order_by("period")
                .limit(DIMENSION_MONTHS_LIMIT)
            )
        else:
            _, dimension, values, entity, first, last = read
            common = (
                collection.where(filter=FieldFilter("dimension", "==", dimension))
                .where(filter=FieldFilter("entity_id", "==", entity or CONSOLIDATED_ENTITY))
                .where(filter=FieldFilter("scenario", "==", "actual"))
                .where(filter=FieldFilter("period", ">=", first))
                .where(filter=FieldFilter("period", "<=", last))
            )
            if values is not None:
                if not values:
                    return []
                query = (
                    common.where(filter=FieldFilter("value", "in", list(values)))
                    .order_by("period")
                    .limit(MAX_HEATMAP_CELLS)
                )
            else:
                query = common.order_by("period", direction=firestore.Query.DESCENDING).limit(MAX_HEATMAP_CELLS)
        with map_exceptions("querying the view's dimension figures"):
            return [s.to_dict() or {} for s in query.stream()]
