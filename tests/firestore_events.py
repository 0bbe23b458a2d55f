"""Firestore trigger events built and delivered exactly as the Firestore emulator does (redelivery tests).

The Firestore emulator POSTs each event to the Functions emulator at
`/functions/projects/{project}/triggers/{trigger key}` as a binary-mode CloudEvent: `ce-*`
headers, `Content-Type: application/protobuf`, and as the body the BASE64 text of a
`google.events.cloud.firestore.v1.DocumentEventData` (the Functions emulator decodes it before
the function gets it; see firebase-tools lib/emulator/functionsEmulator.js, handleHttpsTrigger).
Posting the same request twice is exactly what a redelivery is: the same `ce-id`, the same data.

The trigger key is `{region}-{function}-{generation}`, where the generation grows each time the
Functions emulator reloads the code; `trigger_key` asks the emulator for the current one.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from google.events.cloud.firestore_v1.types import ArrayValue, Document, DocumentEventData, MapValue, Value

from tests.support import wait_until
from tools.stack.dispatcher import read_activity

WRITTEN = "google.cloud.firestore.document.v1.written"
CREATED = "google.cloud.firestore.document.v1.created"
UPDATED = "google.cloud.firestore.document.v1.updated"
DELETED = "google.cloud.firestore.document.v1.deleted"
REGION = "us-central1"
# How long every Pub/Sub consumer must have been idle before wait_for_trends runs the trends' sweep.
QUIET_SECONDS = 2.0
T = TypeVar("T")


@dataclass(frozen=True)
class DocumentState:
    """One side of a change: the document's fields and its timestamps."""

    data: Mapping[str, Any]
    create_time: datetime
    update_time: datetime


def state_of(snapshot) -> DocumentState | None:
    """The state of a document as read with the admin client (None if it does not exist)."""
    if not snapshot.exists:
        return None
    return DocumentState(snapshot.to_dict() or {}, snapshot.create_time, snapshot.update_time)


def new_state(data: Mapping[str, Any], at: datetime | None = None) -> DocumentState:
    """A state for a document that need not exist (e.g. a comment that was never written)."""
    at = at or datetime.now(UTC)
    return DocumentState(data, at, at)


def encode_value(value: Any) -> Value:
    """A Python value as a Firestore protobuf Value (what the emulator puts in events)."""
    if value is None:
        return Value(null_value=0)
    if isinstance(value, bool):
        return Value(boolean_value=value)
    if isinstance(value, int):
        return Value(integer_value=value)
    if isinstance(value, float):
        return Value(double_value=value)
    if isinstance(value, str):
        return Value(string_value=value)
    if isinstance(value, bytes):
        return Value(bytes_value=value)
    if isinstance(value, datetime):
        return Value(timestamp_value=value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, Mapping):
        return Value(map_value=MapValue(fields={str(k): encode_value(v) for k, v in value.items()}))
    if isinstance(value, (list, tuple)):
        return Value(array_value=ArrayValue(values=[encode_value(v) for v in value]))
    path = getattr(value, "path", None)
    if isinstance(path, str) and hasattr(value, "_client"):  # a DocumentReference
        project = value._client.project
        return Value(reference_value=f"projects/{project}/databases/(default)/documents/{path}")
    raise TypeError(f"cannot encode {type(value).__name__} as a Firestore value: {value!r}")


@dataclass(frozen=True)
class FirestoreEvent:
    """One Firestore trigger event on `document` (a path such as 'organizations/acme/comments/c1')."""

    document: str
    before: DocumentState | None
    after: DocumentState | None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    event_type: str = WRITTEN
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def data(self, project: str) -> DocumentEventData:
        """The protobuf payload."""
        name = f"projects/{project}/databases/(default)/documents/{self.document}"

        def document(state: DocumentState | None) -> Document | None:
            if state is None:
                return None
            return Document(
                name=name,
                fields={k: encode_value(v) for k, v in state.data.items()},
                create_time=state.create_time,
                update_time=state.update_time,
            )

        return DocumentEventData(value=document(self.after), old_value=document(self.before))

    def headers(self, project: str) -> dict[str, str]:
        """The binary-mode CloudEvent headers, as the Firestore emulator sends them."""
        return {
            "Content-Type": "application/protobuf",
            "ce-specversion": "1.0",
            "ce-type": self.event_type,
            "ce-source": f"//firestore.googleapis.com/projects/{project}/databases/(default)",
            "ce-id": self.event_id,
            "ce-subject": f"documents/{self.document}",
            "ce-time": self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ce-datacontenttype": "application/protobuf",
            "ce-dataschema": "https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/"
            "firestore/v1/data.proto",
            "ce-location": REGION,
            "ce-project": project,
            "ce-database": "(default)",
            "ce-namespace": "(default)",
            "ce-document": self.document,
        }

    def body(self, project: str) -> bytes:
        """The request body: BASE64 of the serialized DocumentEventData."""
        return base64.b64encode(DocumentEventData.serialize(self.data(project)))


def _triggers_url(stack, key: str) -> str:
    return f"http://{stack.config.address('functions')}/functions/projects/{stack.config.project_id}/triggers/{key}"


def trigger_key(stack, function: str, region: str = REGION) -> str:
    """The Functions emulator's current key of an event-triggered function ('us-central1-fn-3').

    A POST to an unknown key answers 404 with the list of valid keys (and runs nothing), so the
    bare id is asked and the highest generation of this function is taken from the answer.
    """
    probe = requests.post(_triggers_url(stack, f"{region}-{function}"), data=b"", timeout=30)
    pattern = re.compile(rf"{re.escape(region)}-{re.escape(function)}-(\d+)(?=[,\s]|$)")
    generations = [int(m.group(1)) for m in pattern.finditer(probe.text)]
    assert probe.status_code == 404 and generations, (
        f"the Functions emulator has no event trigger {region}-{function}: {probe.status_code} {probe.text[:500]}"
    )
    return f"{region}-{function}-{max(generations)}"


def deliver(
    stack, function: str, event: FirestoreEvent, region: str = REGION, timeout: float = 300
) -> requests.Response:
    """POST the event to the function through the Functions emulator; returns when the function has run.

    The request waits for the function's worker, which may be busy with other tests' events.
    """
    project = stack.config.project_id
    url = _triggers_url(stack, trigger_key(stack, function, region))
    return requests.post(url, data=event.body(project), headers=event.headers(project), timeout=timeout)


def run_scheduled(stack, function: str, region: str = REGION, timeout: float = 300) -> requests.Response:
    """Run a scheduled function now, as Cloud Scheduler would; returns when it has run (500 if it raised)."""
    return requests.post(_triggers_url(stack, trigger_key(stack, function, region)), data=b"", timeout=timeout)


def wait_for_trends(stack, condition: Callable[[], T | None], what: str, timeout: float = 300.0) -> T:
    """`condition()` once it holds, for a state the debounced trends bring (trends/*, kpis/current.cash).

    A change that came inside the trends' debounce window is computed by the minute sweep: while every
    Pub/Sub consumer of the stack is idle (the dispatcher's activity, a positive signal that nothing
    more is in flight), the sweep is run now, as Cloud Scheduler would, and again every QUIET_SECONDS
    (a request still inside its window is left by one sweep and taken by a later one).
    """
    last_sweep = [0.0]

    def settled() -> T | None:
        found = condition()
        if found:
            return found
        activity = read_activity()
        assert activity is not None, "the stack's dispatcher is not running: start the stack (./dev up)"
        if activity.quiet_for() >= QUIET_SECONDS and time.monotonic() - last_sweep[0] >= QUIET_SECONDS:
            run_scheduled(stack, "sweep_trend_requests")
            last_sweep[0] = time.monotonic()
        return None

    return wait_until(settled, timeout=timeout, interval=0.5, what=what)
