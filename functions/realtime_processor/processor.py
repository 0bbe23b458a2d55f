"""Propagates change documents: their combined aggregate deltas applied once, then one change message published.

A change document whose own trigger invocation is late (still pending after COALESCE_AFTER) is
taken by whichever invocation of the org runs next: under a burst of single events, the serial
trigger of the local emulator (or a cold start in production) leaves a backlog, and one
invocation then applies and announces a few hundred lines at once, so every consumer runs once
for all of them. A lone event never waits: with no backlog, its document is applied alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import PermanentError, ProcessingError, TransientError, map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.logs import bind, log_context
from aggregations.store import MAX_WRITES_PER_COMMIT, AggregateStore
from finance_core.changes import ChangeMessage, ChangeMessageError, decode_changes, encode_change_message
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

log = logging.getLogger(__name__)

Publish = Callable[[bytes, Mapping[str, str], str], None]
RECORD_CHANGES = "record_changes"
# A change document still pending this long after it was written has a late trigger: the next
# invocation of its org takes it along.
COALESCE_AFTER = timedelta(seconds=2)
# An applied document younger than this is being published by the invocation that applied it.
PUBLISH_GRACE = timedelta(seconds=30)
# Lines one coalesced message carries at most (consumers handle it in one invocation).
COALESCE_MAX_LINES = 5000
BACKLOG_QUERY_LIMIT = 200
# Documents the commit that applies change documents may write: its own state, each merged
# document's state and one shard per aggregate key (base and dimension values).
APPLY_COMMIT_BUDGET = MAX_WRITES_PER_COMMIT
# Set on a change document whose dimension deltas did not fit the commit that applied it.
DIMENSIONS_DEFERRED = "dimensions_deferred"


@dataclass(frozen=True)
class ChangeDocument:
    """A `record_changes` document as read: its id, body and update time (the precondition of applying it)."""

    change_id: str
    body: Mapping[str, Any]
    update_time: Any

    @property
    def state(self) -> str:
        """pending, applied, published, or merged (taken by another document's invocation)."""
        return str(self.body.get("state", "pending"))

    @property
    def lines(self) -> int:
        """How many record changes it holds."""
        return int(self.body.get("line_count") or 1)


@dataclass(frozen=True)
class ProcessResult:
    """What one trigger delivery did."""

    applied: bool
    keys: tuple[str, ...]
    published: bool
    merged: int = 0


def change_message(
    change_id: str,
    org_id: str,
    documents: Sequence[Mapping[str, Any]],
    changed_at: str,
    reporting_currency: str | None = None,
) -> ChangeMessage:
    """The change message of one or more `record_changes` documents (PermanentError if one is not one)."""
    try:
        changes = [change for document in documents for change in decode_changes(str(document.get("changes") or "[]"))]
    except ChangeMessageError as exc:
        raise PermanentError(
            f"{org_path(org_id)}/{RECORD_CHANGES}/{change_id} is not a change document: {exc}"
        ) from exc
    currency = reporting_currency or next((d.get("reporting_currency") for d in documents), None)
    return ChangeMessage.of(change_id, org_id, changed_at, currency, changes)


def origin_attributes(documents: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Message attributes of change documents: the first one's trace, and the earliest publish time of their lines."""
    attributes: dict[str, str] = {}
    trace_id = documents[0].get("trace_id") if documents else None
    if trace_id:
        attributes["trace_id"] = str(trace_id)
    published: list[Any] = [d["published_at"] for d in documents if d.get("published_at") is not None]
    if published:
        attributes["published_at"] = min(published).isoformat()
    return attributes


def _log_taken_along(change_id: str, own: Mapping[str, Any], merged: Sequence[ChangeDocument]) -> None:
    """Each late document taken along logs under its own trace, naming the change (and trace) it joined."""
    if not merged:
        return
    for document in merged:
        with log_context(trace_id=document.body.get("trace_id"), change_id=document.change_id):
            log.info(
                "change %s taken along into change %s",
                document.change_id,
                change_id,
                extra={"json_fields": {"joined_change_id": change_id, "joined_trace_id": own.get("trace_id")}},
            )


class RecordChangeProcessor:
    """Turns `record_changes` documents into sharded aggregate deltas (once) and published change messages."""

    def __init__(self, db: firestore.Client, aggregates: AggregateStore, publish: Publish | None):
        self._db = db
        self._aggregates = aggregates
        self._publish = publish

    def change_ref(self, org_id: str, change_id: str) -> firestore.DocumentReference:
        """The change document of a change id."""
        return self._db.document(f"{org_path(org_id)}/{RECORD_CHANGES}/{change_id}")

    def apply_stored(self, org_id: str, change_ids: Sequence[str]) -> list[ProcessResult]:
        """Apply and publish change documents ingestion has just committed, in the ingesting invocation.

        This is the live path: the deltas reach the shards and the change message goes out without
        waiting for the record-changes trigger, which then finds the document done. A failure here
        never fails the ingestion: the lines are stored, and the outbox sweep applies them (within
        about a minute; the trigger leaves a document this young to this invocation, and takes it
        only when it comes late).
        """
        results = []
        for change_id in change_ids:
            try:
                document = self._read(org_id, change_id)
                if document is None:
                    continue
                created_at = document.body.get("created_at")
                changed_at = (created_at if isinstance(created_at, datetime) else utc_now()).isoformat()
                results.append(
                    self.process(change_id, org_id, document.body, changed_at, document.update_time, take_backlog=False)
                )
            except ProcessingError as exc:
                log.warning("change %s of %s left to the outbox sweep: %s", change_id, org_id, exc)
        return results

    def process(
        self,
        change_id: str,
        org_id: str,
        document: Mapping[str, Any],
        changed_at: str,
        update_time: Any,
        take_backlog: bool = True,
        leave_recent: bool = False,
    ) -> ProcessResult:
        """Apply the document's deltas (and those of late documents of its org) exactly once; publish them.

        `update_time` is the document's update time as read (the trigger event's snapshot, or the
        sweep's read): applying is conditional on it, which makes it exactly once. `take_backlog`
        False applies the document alone (ingestion's own invocation: its document is not late).
        `leave_recent` (the record-changes trigger) leaves a document to the invocation that is
        applying or publishing it: pending for less than COALESCE_AFTER, or applied for less than
        PUBLISH_GRACE. Racing it would only fail a commit or publish the change twice; if that
        invocation died, the outbox sweep finishes the document.
        """
        own = ChangeDocument(change_id, document, update_time)
        bind(org_id=org_id, change_id=change_id, trace_id=document.get("trace_id"))
        if own.state == "pending" and (take_backlog or self._late(own)):
            # The trigger (or the sweep) comes after ingestion applied the document itself, as a
            # rule: one read of its state says so, without a backlog query or a commit bound to fail.
            current = self._read(org_id, change_id, fields=["state", "created_at", "applied_at"])
            if current is None or current.state not in ("pending", "applied"):
                return ProcessResult(False, (), False)
            if leave_recent and self._in_hand(current):
                return ProcessResult(False, (), False)
            if current.state == "applied":
                own = self._read(org_id, change_id) or own
        if own.state == "pending":
            backlog = self._backlog(org_id, own) if take_backlog else []
            merged = None if backlog is None else self._apply(org_id, own, backlog)
            if merged is None:
                # Applied before (a redelivery), or taken by another invocation: see what it is now.
                now = self._read(org_id, change_id)
                if now is None or now.state in ("published", "merged"):
                    return ProcessResult(False, (), False)
                own = now
            else:
                documents = [own.body, *(d.body for d in merged)]
                message = change_message(change_id, org_id, documents, changed_at)
                _log_taken_along(change_id, own.body, merged)
                return ProcessResult(
                    True,
                    tuple(k.doc_id for k in message.keys),
                    self.publish(message, origin_attributes(documents)),
                    len(merged),
                )
        if own.state != "applied":
            return ProcessResult(False, (), False)
        # Applied but not published (a failed publish, a crash, or the sweep): rebuild its message,
        # finish its dimension parts if it has any (each is applied once), and send it.
        merged_ids = list(own.body.get("merged") or ())
        merged_docs = [d for d in (self._read(org_id, i) for i in merged_ids) if d is not None]
        documents = [own.body, *(d.body for d in merged_docs)]
        message = change_message(change_id, org_id, documents, changed_at)
        if own.body.get(DIMENSIONS_DEFERRED):
            self._apply_dimension_parts(message)
        return ProcessResult(
            False,
            tuple(k.doc_id for k in message.keys),
            self.publish(message, origin_attributes(documents)),
            len(merged_docs),
        )

    def _backlog(self, org_id: str, own: ChangeDocument) -> list[ChangeDocument] | None:
        """Pending documents of the org whose own trigger is late, oldest first, up to COALESCE_MAX_LINES lines.

        None when `own` is late itself and no longer pending (another invocation took it): its
        trigger came after all, and there is nothing left to do. The query reads only the small
        fields; the bodies of the documents taken along are read afterwards, fresh.
        """
        cutoff = utc_now() - COALESCE_AFTER
        query = (
            self._db.collection(f"{org_path(org_id)}/{RECORD_CHANGES}")
            .where(filter=FieldFilter("state", "==", "pending"))
            .where(filter=FieldFilter("created_at", "<", cutoff))
            .order_by("created_at")
            .limit(BACKLOG_QUERY_LIMIT)
            .select(["created_at", "line_count"])
        )
        with map_exceptions(f"looking for late change documents of {org_id}"):
            found = list(query.stream())
        created = own.body.get("created_at")
        if (
            created is not None
            and created < cutoff
            and own.change_id not in {s.id for s in found}
            and (len(found) < BACKLOG_QUERY_LIMIT or created <= found[-1].get("created_at"))
        ):
            return None
        picked, lines = [], own.lines
        for snap in found:
            count = int(snap.get("line_count") or 1)
            if snap.id == own.change_id or lines + count > COALESCE_MAX_LINES:
                continue
            picked.append(self.change_ref(org_id, snap.id))
            lines += count
        if not picked:
            return []
        with map_exceptions(f"reading late change documents of {org_id}"):
            bodies = [
                ChangeDocument(s.id, s.to_dict() or {}, s.update_time) for s in self._db.get_all(picked) if s.exists
            ]
        return [document for document in bodies if document.state == "pending"]

    def _apply(self, org_id: str, own: ChangeDocument, backlog: list[ChangeDocument]) -> list[ChangeDocument] | None:
        """Apply `own` with the backlog; the documents merged into it, or None if `own` was not pending any more."""
        backlog = _fitting(org_id, change_message(own.change_id, org_id, [own.body], ""), backlog)
        for candidates in [backlog, []] if backlog else [[]]:
            message = change_message(own.change_id, org_id, [own.body, *(d.body for d in candidates)], "")
            merged = {d.change_id: d.update_time for d in candidates}
            # The dimension deltas go in the same commit when they fit; otherwise they follow it in
            # parts (_apply_dimension_parts), and the document says so for a retry.
            writes = 1 + len(merged) + len(message.deltas) + len(message.dimension_deltas)
            inline = not message.dimension_deltas or writes <= APPLY_COMMIT_BUDGET
            if self._aggregates.apply_change_documents(
                self.change_ref(org_id, own.change_id),
                own.update_time,
                message.deltas,
                merged,
                message.dimension_deltas if inline else None,
                dimensions_deferred=not inline,
            ):
                if not inline:
                    self._apply_dimension_parts(message)
                if candidates:
                    log.info(
                        "change %s of %s took %d late change document(s) along", own.change_id, org_id, len(candidates)
                    )
                return candidates
            # A failed precondition: `own` was taken, or a backlog document was (then try alone).
        return None

    def _apply_dimension_parts(self, message: ChangeMessage) -> None:
        """Apply the dimension deltas of an applied document that did not fit its commit, each part once.

        The commit that applied the document fixed what the message holds (the document and the
        ones merged into it, listed on it), so every retry (a redelivered trigger, the sweep of an
        applied but unpublished document) splits the same deltas into the same parts; each part
        commits with its marker `applied_changes/{change_id}-dimensions-{n}`, so it counts once.
        """
        items = sorted(message.dimension_deltas.items())
        size = APPLY_COMMIT_BUDGET - 1
        for number, start in enumerate(range(0, len(items), size)):
            self._aggregates.apply_once(
                message.org_id, f"{message.change_id}-dimensions-{number}", {}, dict(items[start : start + size])
            )
        log.info(
            "change %s: %d dimension aggregate keys applied in %d commits after it",
            message.change_id,
            len(items),
            -(-len(items) // size),
            extra={"json_fields": {"dimension_keys": len(items), "dimension_parts": -(-len(items) // size)}},
        )

    @staticmethod
    def _in_hand(document: ChangeDocument) -> bool:
        """True while the invocation that stored (or applied) the document is still expected to finish it."""
        now = utc_now()
        if document.state == "pending":
            created = document.body.get("created_at")
            return created is not None and created > now - COALESCE_AFTER
        applied = document.body.get("applied_at")
        return document.state == "applied" and applied is not None and applied > now - PUBLISH_GRACE

    @staticmethod
    def _late(document: ChangeDocument) -> bool:
        created = document.body.get("created_at")
        return created is not None and created < utc_now() - COALESCE_AFTER

    def _read(self, org_id: str, change_id: str, fields: list[str] | None = None) -> ChangeDocument | None:
        with map_exceptions(f"reading change {change_id} of {org_id}"):
            snap = self.change_ref(org_id, change_id).get(field_paths=fields)
        return ChangeDocument(change_id, snap.to_dict() or {}, snap.update_time) if snap.exists else None

    def publish(self, message: ChangeMessage, origin: Mapping[str, str] | None = None) -> bool:
        """Publish a change message and mark its document published; False leaves it to the outbox sweep.

        `origin` (trace_id, published_at) rides along as attributes: consumers log under the trace
        and the aggregate views measure the publish-to-folded lag from it.
        """
        if self._publish is None:
            return False
        attributes = {
            **(origin or {}),
            "org_id": message.org_id,
            "change_id": message.change_id,
            "lines": str(len(message.changes)),
        }
        try:
            self._publish(encode_change_message(message), attributes, "")
        except TransientError as exc:
            log.warning("change %s not published yet (the outbox sweep will retry): %s", message.change_id, exc)
            return False
        with map_exceptions(f"marking change {message.change_id} published"):
            self.change_ref(message.org_id, message.change_id).update(
                {"state": "published", "message_published_at": firestore.SERVER_TIMESTAMP}
            )
        return True


def _fitting(org_id: str, own: ChangeMessage, backlog: Sequence[ChangeDocument]) -> list[ChangeDocument]:
    """The late documents, oldest first, whose states and base aggregate keys fit in one commit with `own`.

    Keys are counted as a union (an upper bound: deltas that cancel drop out). Dimension keys are
    not counted: those that do not fit follow the commit in parts.
    """
    keys = set(own.deltas)
    picked: list[ChangeDocument] = []
    for document in backlog:
        union = keys | set(change_message(document.change_id, org_id, [document.body], "").deltas)
        if 1 + len(picked) + 1 + len(union) > APPLY_COMMIT_BUDGET:
            break
        keys = union
        picked.append(document)
    return picked
