"""Counts the Firestore documents each commit writes and deletes, for benchmarks of the local stack.

Firestore bills every document written or deleted, so writes per ledger line are the product's
cost model. With WRITE_METER_DIR set (the local stack sets it; production does not), every commit
of this process appends one line `<unix time> <function> <writes> <deletes> <outcome> <org>` to a
file of its own there, the outcome being `ok` or `failed:<error>` (a failed precondition or an
aborted transaction: a contended commit that a writer then retries) and the org the commit's first
document belongs to (`-` for none). bench/bench_bulk.py sums the writes
of its time window, and the live-path guard counts the failed commits (tools/stack/meter.py).
Without it, nothing is wrapped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def meter_commits(client: Any) -> None:
    """Wrap the client's commit RPC to log what each commit writes (no-op unless WRITE_METER_DIR is set)."""
    directory = os.environ.get("WRITE_METER_DIR")
    if not directory:
        return
    api = client._firestore_api
    commit = api.commit
    target = os.environ.get("FUNCTION_TARGET") or "process"
    path = Path(directory) / f"{target}-{os.getpid()}.log"
    path.parent.mkdir(parents=True, exist_ok=True)

    def metered(*args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request") or (args[0] if args else {})
        writes = request.get("writes", []) if isinstance(request, dict) else list(request.writes)
        deletes = sum(1 for write in writes if _is_delete(write))
        org = _org_of(writes[0]) if writes else "-"
        outcome = "ok"
        try:
            return commit(*args, **kwargs)
        except Exception as exc:
            outcome = f"failed:{type(exc).__name__}"
            raise
        finally:
            with path.open("a") as log:
                log.write(f"{time.time():.3f} {target} {len(writes) - deletes} {deletes} {outcome} {org}\n")

    api.commit = metered


def _org_of(write: Any) -> str:
    """The org of a write's document ('-' when it is not under organizations/)."""
    if isinstance(write, dict):
        name = write.get("delete") or (write.get("update") or {}).get("name") or ""
    else:
        name = getattr(write, "delete", "") or getattr(getattr(write, "update", None), "name", "") or ""
        if not name and getattr(write, "transform", None) is not None:
            name = write.transform.document
    parts = str(name).split("/documents/", 1)[-1].split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "organizations" else "-"


def _is_delete(write: Any) -> bool:
    if isinstance(write, dict):
        return bool(write.get("delete"))
    return bool(getattr(write, "delete", ""))
