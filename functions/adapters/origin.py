"""Where a unit of work came from: its Pub/Sub message (id, attributes, publish time) and its trace id."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.logs import bind, trace_id_of


@dataclass(frozen=True)
class Origin:
    """The message (or document) a delivery carries, as far as it is known.

    Kept on what the delivery writes: a rejection keeps the message id, attributes and publish
    time; a change document keeps the trace id and the publish time (the start of the
    publish-to-dashboard lag the pipeline health reports).
    """

    trace_id: str
    message_id: str | None = None
    publish_time: datetime | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    # When the function received the delivery (its clock): the pipeline benchmark's ingest stage.
    received_at: datetime | None = None

    def rejection_fields(self) -> dict[str, Any]:
        """What a rejection document keeps of the message."""
        return {
            "message_id": self.message_id,
            "attributes": dict(self.attributes) or None,
            "publish_time": self.publish_time,
            "trace_id": self.trace_id,
        }


def pubsub_message(event: Any) -> tuple[bytes, Origin]:
    """The body and origin of a Pub/Sub trigger event; binds the trace and message id to the invocation's logs."""
    message = event.data.message
    attributes = {str(k): str(v) for k, v in dict(message.attributes or {}).items()}
    origin = Origin(
        trace_id_of(attributes, message.message_id),
        message.message_id,
        getattr(message, "publish_time", None),
        attributes,
        datetime.now(UTC),
    )
    bind(
        trace_id=origin.trace_id,
        message_id=origin.message_id,
        org_id=attributes.get("org_id"),
        change_id=attributes.get("change_id"),
    )
    return base64.b64decode(message.data or b""), origin
