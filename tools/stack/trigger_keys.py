"""The Functions emulator's keys of loaded triggers, for whatever posts to its trigger route.

It keys a loaded trigger `{region}-{function}-{generation}`; the generation grows each time it
reloads the code. A POST to a key it does not know answers 404 with the keys it knows.
"""

from __future__ import annotations

import re


def latest_trigger_key(trigger_id: str, answer: str) -> str | None:
    """The newest key of `trigger_id` ('us-central1-fn') named in a 404 answer, None if it names none."""
    generations = [int(g) for g in re.findall(rf"\b{re.escape(trigger_id)}-(\d+)\b", answer)]
    return f"{trigger_id}-{max(generations)}" if generations else None
