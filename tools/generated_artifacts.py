"""Files generated from the core's models (event and batch JSON Schemas, BigQuery table schemas).

`--check` verifies them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from finance_core.analytics_rows import ROW_MODELS, bigquery_schema
from finance_core.batches import batch_json_schema
from finance_core.events import event_json_schema

ROOT = Path(__file__).resolve().parents[1]


def artifacts() -> dict[Path, str]:
    """Path -> expected file content of every generated artifact."""
    from finance_core.avro_schema import event_avro_schema

    files = {
        ROOT / "docs" / "schemas" / "financial-event.v1.json": _dump(event_json_schema()),
        ROOT / "docs" / "schemas" / "records-batch.v1.json": _dump(batch_json_schema()),
    }
    for table, model in ROW_MODELS.items():
        files[ROOT / "infra" / "bigquery" / "schemas" / f"{table}.json"] = _dump(bigquery_schema(model))
    # Pub/Sub topic schema of the event (Avro; declared by infra/terraform/pubsub.tf).
    files[ROOT / "infra" / "pubsub" / "financial-event.v1.avsc"] = _dump(event_avro_schema())
    return files


def _dump(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=False) + "\n"


def stale_artifacts() -> list[Path]:
    """Generated files whose content differs from what the models produce now."""
    return [path for path, text in artifacts().items() if not path.exists() or path.read_text() != text]


def write_artifacts() -> list[Path]:
    """(Re)write every generated file; return the ones that changed."""
    changed = stale_artifacts()
    for path, text in artifacts().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return changed


if __name__ == "__main__":
    if "--check" in sys.argv:
        stale = stale_artifacts()
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)} (run: ./dev generate)")
        sys.exit(1 if stale else 0)
    for path in write_artifacts():
        print(f"wrote {path.relative_to(ROOT)}")
