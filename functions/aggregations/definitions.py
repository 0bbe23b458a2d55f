"""An org's metric definitions: validated when an admin writes one, compiled once per revision, cached per instance.

Admins write `metric_definitions/{metric_id}`; the backend checks the whole set (syntax, units,
references, cycles) and answers on each document (`status`, `error`) and in `metrics_status/current`,
which holds the active set: the last valid version of every enabled definition, with a revision
that only grows. A definition that becomes broken keeps its last valid version active, so a typo
changes no number. Series documents record the revision they were computed with; a reader whose
cached revision is older reads the set again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.preconditions import commit_or_lose_race, conditional_put
from adapters.retry import CONTENDED_WRITE, compare_and_set
from adapters.settings import REFERENCE_CACHE_SECONDS
from finance_core.metric_series import (
    Calendar,
    DefinitionError,
    MetricSet,
    check_selections,
    compile_definitions,
    parse_definition,
)
from finance_core.reference import OrgReference
from google.cloud import firestore

DEFINITIONS = "metric_definitions"
STATUS_PATH = "metrics_status/current"
# The fields an admin writes; everything else on a definition document is the backend's answer.
DEFINITION_FIELDS = (
    "label",
    "expression",
    "unit",
    "direction",
    "decimals",
    "description",
    "enabled",
    "source",
    "requires",
)


def definition_hash(document: Mapping[str, Any]) -> str:
    """Hash of the admin's fields of a definition (tells the trigger whether its answer is current)."""
    body = {k: document.get(k) for k in DEFINITION_FIELDS if k in document}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ActiveDefinitions:
    """The org's active definitions (by id, the admin's fields) and the revision they make."""

    revision: int
    documents: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Validation:
    """The answer to every definition document: the new active set, and per document its status and error."""

    active: dict[str, dict[str, Any]]
    answers: dict[str, dict[str, Any]]
    errors: dict[str, str]


def validate(
    documents: Mapping[str, Mapping[str, Any]], previous: Mapping[str, Mapping[str, Any]], reference: OrgReference
) -> Validation:
    """Check every definition; the active set keeps the last valid version of one that is broken now."""
    calendar = calendar_of(reference)
    active: dict[str, dict[str, Any]] = {}
    own_errors: dict[str, DefinitionError] = {}
    warnings: dict[str, list[str]] = {}
    for metric_id, document in documents.items():
        fields = {k: document[k] for k in DEFINITION_FIELDS if k in document}
        if fields.get("enabled", True) is False:
            continue
        try:
            spec = parse_definition(metric_id, fields)
            # An account the chart does not have is an error; an empty type or tag, a warning.
            warnings[metric_id] = check_selections(metric_id, spec.expression, reference.chart)
            active[metric_id] = fields
        except DefinitionError as exc:
            own_errors[metric_id] = exc
            if metric_id in previous:
                active[metric_id] = dict(previous[metric_id])
    _, set_errors = compile_definitions(active, reference.chart, calendar)
    for metric_id, set_error in set_errors.items():
        own_errors.setdefault(metric_id, set_error)
        # A definition the set cannot use now: its last valid version stays if it still compiles.
        if metric_id in previous and previous[metric_id] != active.get(metric_id):
            trial = {**active, metric_id: dict(previous[metric_id])}
            if metric_id not in compile_definitions(trial, reference.chart, calendar)[1]:
                active[metric_id] = dict(previous[metric_id])
                continue
        active.pop(metric_id, None)
    answers = {}
    for metric_id, document in documents.items():
        enabled = document.get("enabled", True) is not False
        error = own_errors.get(metric_id)
        answer: dict[str, Any] = {
            "status": "disabled" if not enabled else ("invalid" if error else "active"),
            "error": None if error is None or not enabled else {"path": error.path, "message": error.message},
            "checked_hash": definition_hash(document),
            "checked_at": firestore.SERVER_TIMESTAMP,
            "warnings": warnings.get(metric_id, []) if enabled and not error else [],
        }
        if error is not None and metric_id in active:
            answer["active_expression"] = active[metric_id].get("expression")
        answers[metric_id] = answer
    return Validation(active, answers, {k: str(v) for k, v in own_errors.items()})


def check_draft(
    documents: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, Mapping[str, Any]],
    reference: OrgReference,
    metric_id: str,
    draft: Mapping[str, Any],
) -> dict[str, Any]:
    """What the backend would answer if `draft` were saved as `metric_id` now: status, error, warnings.

    Nothing is written: the org's other definitions are checked with it (a cycle or a reader of a
    broken metric shows), as the trigger does on a real write.
    """
    fields = {k: draft[k] for k in DEFINITION_FIELDS if k in draft}
    answer = validate({**documents, metric_id: fields}, previous, reference).answers[metric_id]
    return {
        "metric_id": metric_id,
        "status": answer["status"],
        "error": answer["error"],
        "warnings": answer["warnings"],
        # A broken edit of a metric that works keeps its last valid version in force.
        "active_expression": answer.get("active_expression"),
    }


def calendar_of(reference: OrgReference) -> Calendar:
    """The org's series calendar: every month from its first to its last period, on its fiscal year."""
    return Calendar.spanning(reference.period_status, reference.fiscal_year_start_month)


@dataclass
class _Compiled:
    loaded_at: float
    active: ActiveDefinitions
    key: tuple[Any, ...]
    metric_set: MetricSet


class DefinitionStore:
    """The active definitions of each org, compiled against its reference data, cached per instance."""

    def __init__(self, db: firestore.Client, ttl_seconds: float | None = None):
        self._db = db
        self._ttl = REFERENCE_CACHE_SECONDS.value if ttl_seconds is None else ttl_seconds
        self._cache: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def status_ref(self, org_id: str) -> firestore.DocumentReference:
        """`metrics_status/current` of an org."""
        return self._db.document(f"{org_path(org_id)}/{STATUS_PATH}")

    def active(self, org_id: str) -> ActiveDefinitions:
        """The active set as stored (revision 0 and nothing when no definition was ever validated)."""
        with map_exceptions(f"reading the metric definitions of {org_id}"):
            snap = self.status_ref(org_id).get()
        body = snap.to_dict() if snap.exists else {}
        return ActiveDefinitions(int((body or {}).get("revision", 0)), dict((body or {}).get("active") or {}))

    def metric_set(
        self, org_id: str, reference: OrgReference, at_least: int = 0, reread: bool = False
    ) -> tuple[MetricSet, int]:
        """The org's compiled metrics and their revision; read again when older than `at_least`, the TTL, or asked."""
        calendar = calendar_of(reference)
        with self._lock:
            cached = self._cache.get(org_id)
        fresh = (
            not reread
            and cached is not None
            and time.monotonic() - cached.loaded_at < self._ttl
            and cached.active.revision >= at_least
        )
        if not fresh:
            active = self.active(org_id)
        else:
            assert cached is not None
            active = cached.active
        key = (active.revision, calendar, id(reference.chart))
        if cached is not None and cached.key == key and fresh:
            return cached.metric_set, active.revision
        metric_set, _ = compile_definitions(active.documents, reference.chart, calendar)
        with self._lock:
            self._cache[org_id] = _Compiled(
                time.monotonic() if not fresh else cached.loaded_at,  # type: ignore[union-attr]
                active,
                key,
                metric_set,
            )
        return metric_set, active.revision

    def invalidate(self, org_id: str) -> None:
        """Forget an org's compiled set."""
        with self._lock:
            self._cache.pop(org_id, None)


class DefinitionService:
    """Answers a written definition: validates the org's set, stores the answers and the new active set,
    then recomputes every metric series of the org in the background, with progress."""

    def __init__(self, db: firestore.Client, definitions: DefinitionStore, rebuild: Any):
        self._db = db
        self._definitions = definitions
        self._rebuild = rebuild

    def handle(self, org_id: str, reference: OrgReference | None) -> dict[str, str] | None:
        """Validate the org's definitions; returns the errors by metric id, or None when nothing was new."""
        if reference is None:
            return None
        org = self._db.document(org_path(org_id))
        status = self._definitions.status_ref(org_id)

        def validate_and_answer() -> Validation | None:
            # Two validations racing must not both claim the same revision: the status only moves
            # from what was read, and the one that lost reads and validates again.
            with map_exceptions(f"reading the metric definitions of {org_id}"):
                documents = {s.id: s.to_dict() or {} for s in org.collection(DEFINITIONS).stream()}
            with map_exceptions(f"reading {status.path}"):
                snap = status.get()
            stored = snap.to_dict() if snap.exists else {}
            previous = ActiveDefinitions(
                int((stored or {}).get("revision", 0)), dict((stored or {}).get("active") or {})
            )
            enabled = {k for k, d in documents.items() if d.get("enabled", True) is not False}
            if (
                all(d.get("checked_hash") == definition_hash(d) for d in documents.values())
                and set(previous.documents) <= enabled
            ):
                return None  # our own answers, or nothing new: no loop, no second rebuild
            result = validate(documents, previous.documents, reference)
            batch = self._db.batch()
            for metric_id, answer in result.answers.items():
                batch.set(org.collection(DEFINITIONS).document(metric_id), answer, merge=True)
            body = {
                "revision": previous.revision + 1,
                "active": result.active,
                "errors": result.errors,
                "state": "rebuilding",
                "progress": {"done": 0, "total": None},
                "checked_at": firestore.SERVER_TIMESTAMP,
            }
            conditional_put(self._db, batch, status, snap, body)
            commit_or_lose_race(batch, f"answering the metric definitions of {org_id}")
            return result

        result = compare_and_set(
            validate_and_answer, CONTENDED_WRITE, what=f"answering the metric definitions of {org_id}"
        )
        if result is None:
            return None
        self._definitions.invalidate(org_id)

        def progress(done: int, total: int) -> None:
            if done == total or done % 5 == 0:
                with map_exceptions(f"recording the rebuild progress of {org_id}"):
                    status.update({"progress": {"done": done, "total": total}})

        total = self._rebuild(org_id, reference, progress)
        with map_exceptions(f"recording the end of the rebuild of {org_id}"):
            status.update(
                {"state": "done", "progress": {"done": total, "total": total}, "rebuilt_at": firestore.SERVER_TIMESTAMP}
            )
        return result.errors
