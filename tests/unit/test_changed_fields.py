"""A conditional write sends only what moved (adapters.preconditions.changed_fields)."""

from __future__ import annotations

from adapters.preconditions import changed_fields
from google.cloud import firestore


def test_only_changed_rows_of_a_map_and_changed_fields_are_sent():
    current = {
        "metrics": {"revenue": [1, 2, 3], "cogs": [4, 5, 6], "gone": [0]},
        "definitions": {"revenue": {"label": "Revenue"}},
        "version": 7,
        "periods": ["2026-09", "2026-10", "2026-11"],
    }
    body = {
        "metrics": {"revenue": [1, 2, 9], "cogs": [4, 5, 6], "new-metric": [1]},
        "definitions": {"revenue": {"label": "Revenue"}},
        "version": 8,
        "periods": ["2026-09", "2026-10", "2026-11"],
        "updated_at": firestore.SERVER_TIMESTAMP,
    }
    changed = changed_fields(current, body)
    assert changed == {
        "metrics.revenue": [1, 2, 9],
        "metrics.`new-metric`": [1],
        "metrics.gone": firestore.DELETE_FIELD,
        "version": 8,
        "updated_at": firestore.SERVER_TIMESTAMP,
    }


def test_a_map_that_was_empty_or_is_not_a_map_any_more_is_replaced_whole():
    assert changed_fields({"cells": {}}, {"cells": {"a": 1}}) == {"cells": {"a": 1}}
    assert changed_fields({"cells": [1]}, {"cells": {"a": 1}}) == {"cells": {"a": 1}}
    assert changed_fields({}, {"cells": {"a": 1}}) == {"cells": {"a": 1}}
