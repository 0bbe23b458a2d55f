"""Loading an org's alert rules: every valid rule, each broken one logged and skipped (it never blocks the others)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from finance_core.alert_rules import AlertRule, RuleError, parse_rule

log = logging.getLogger(__name__)


def parse_rules(org_id: str, documents: Iterable[tuple[str, Mapping[str, Any]]]) -> list[AlertRule]:
    """Valid rules of the org; the document id is the rule id (a differing rule_id field is an error)."""
    rules = []
    for rule_id, document in documents:
        body = dict(document)
        for server_field in ("updated_at", "updated_by", "created_at", "created_by"):
            body.pop(server_field, None)
        body.setdefault("rule_id", rule_id)
        try:
            if body["rule_id"] != rule_id:
                raise RuleError(f"rule_id: {body['rule_id']!r} differs from the document id {rule_id!r}")
            rules.append(parse_rule(body))
        except RuleError as exc:
            log.warning("org %s: alert rule %s skipped, it is invalid: %s", org_id, rule_id, exc)
    return rules
