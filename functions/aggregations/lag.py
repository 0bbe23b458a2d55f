"""Publish-to-folded lag: written on the change document once its message is folded into the readable aggregates."""

from __future__ import annotations

import logging
from datetime import datetime

from adapters.firestore_codec import org_path, utc_now
from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

log = logging.getLogger(__name__)

RECORD_CHANGES = "record_changes"


class LagRecorder:
    """Keeps one lag sample per change message (functions/operations computes p50/p99 from them)."""

    def __init__(self, db: firestore.Client):
        self._db = db

    @staticmethod
    def fields(change_id: str, published_at: str | None) -> dict[str, object]:
        """The lag fields of a change folded now (empty when its publish time is unknown); logs the sample."""
        if not published_at:
            return {}
        try:
            published = datetime.fromisoformat(published_at)
        except ValueError:
            return {}
        now = utc_now()
        lag_ms = round(max(0.0, (now - published).total_seconds() * 1000), 1)
        log.info("change folded", extra={"json_fields": {"change_id": change_id, "lag_ms": lag_ms}})
        return {"folded_at": now, "lag_ms": lag_ms}

    def record(self, org_id: str, change_id: str, published_at: str | None) -> float | None:
        """Store the lag of a folded change message on its change document; returns it in ms (None if unknown).

        A redelivered message measures again and keeps the first sample (an update conditional on
        the document not having one would cost a read; the sample is informative, not exact).
        """
        if not published_at:
            return None
        try:
            published = datetime.fromisoformat(published_at)
        except ValueError:
            return None
        now = utc_now()
        lag_ms = max(0.0, (now - published).total_seconds() * 1000)
        log.info("change folded", extra={"json_fields": {"change_id": change_id, "lag_ms": round(lag_ms, 1)}})
        try:
            self._db.document(f"{org_path(org_id)}/{RECORD_CHANGES}/{change_id}").update(
                {"folded_at": now, "lag_ms": round(lag_ms, 1)}
            )
        except google_exceptions.NotFound:
            pass  # expired (TTL) or a message re-driven from elsewhere: the log line keeps the sample
        except google_exceptions.GoogleAPICallError as exc:
            log.warning("lag of change %s not stored: %s", change_id, exc)
        return lag_ms
