"""Reading channel documents with their write-only secrets, and storing a secret an admin sets.

A channel's secret (a webhook URL, whose path is its credential; an SMTP password) is set through the
backend (alerts/console.py) and kept in `organizations/{org}/channel_secrets/{channel_id}`, a path no
security rule opens: no client, not even an admin, reads it back. The channel document shows only
that a secret is set and a masked hint. Senders get the secret merged into the document they parse
(`stored_secret`), never persisted there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path

CHANNELS = "notification_channels"
CHANNEL_SECRETS = "channel_secrets"


def mask(secret: str) -> str:
    """What the console shows of a secret: a webhook's scheme and host, else only its length; never the credential."""
    if secret.startswith(("http://", "https://")):
        scheme, _, rest = secret.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…"
    return f"{'•' * min(len(secret), 8)} ({len(secret)} characters)"


def load_channel_documents(
    db: firestore.Client, org_id: str, channel_ids: Iterable[str]
) -> dict[str, dict[str, Any] | None]:
    """Channel documents by id (None for a channel that does not exist), each with its stored secret, if any."""
    ids = list(dict.fromkeys(channel_ids))
    base = org_path(org_id)
    refs = [db.document(f"{base}/{CHANNELS}/{i}") for i in ids]
    refs += [db.document(f"{base}/{CHANNEL_SECRETS}/{i}") for i in ids]
    with map_exceptions(f"reading notification channels of {org_id}"):
        snaps = {snap.reference.path: snap for snap in db.get_all(refs)}
    found: dict[str, dict[str, Any] | None] = {}
    for channel_id in ids:
        snap = snaps.get(f"{base}/{CHANNELS}/{channel_id}")
        if snap is None or not snap.exists:
            found[channel_id] = None
            continue
        document = snap.to_dict() or {}
        secret = snaps.get(f"{base}/{CHANNEL_SECRETS}/{channel_id}")
        if secret is not None and secret.exists and (secret.to_dict() or {}).get("value"):
            document["stored_secret"] = str((secret.to_dict() or {})["value"])
        found[channel_id] = document
    return found


def store_secret(db: firestore.Client, org_id: str, channel_id: str, secret: str, by: str) -> str:
    """Keep `secret` for a channel and mark the channel (secret_set, a masked hint); returns the hint."""
    base = org_path(org_id)
    hint = mask(secret)
    batch = db.batch()
    batch.set(
        db.document(f"{base}/{CHANNEL_SECRETS}/{channel_id}"),
        {"value": secret, "updated_by": by, "updated_at": firestore.SERVER_TIMESTAMP},
    )
    batch.update(
        db.document(f"{base}/{CHANNELS}/{channel_id}"),
        {
            "secret_set": True,
            "secret_hint": hint,
            "secret_updated_by": by,
            "secret_updated_at": firestore.SERVER_TIMESTAMP,
        },
    )
    with map_exceptions(f"storing the secret of channel {channel_id} of {org_id}"):
        batch.commit()
    return hint
