"""Which document a comment counts on, and how a comment write moves counts (collaboration/comments.py)."""

from __future__ import annotations

import pytest
from collaboration.comments import comment_target, count_changes

ORG = "acme"


@pytest.mark.parametrize(
    "path",
    [
        "organizations/acme/aggregates/_all__2026-10__actual",
        "organizations/acme/aggregates/us-east__2026-10__budget",
        "organizations/acme/financial_records/JE-10023-1",
        "organizations/acme/kpis/current",
        "organizations/acme/variance/us-east__2026-10",
        "organizations/acme/trends/4100",
        "organizations/acme/alerts/rev-drop.us-east",
    ],
)
def test_counted_targets(path):
    assert comment_target(ORG, {"target_path": path}) == path


@pytest.mark.parametrize(
    "path",
    [
        "organizations/other/kpis/current",  # another org
        "organizations/acmex/kpis/current",  # same prefix, another org
        "organizations/acme/members/u-1",  # reference data: the rules pin its shape
        "organizations/acme/periods/2026-10",
        "organizations/acme/comments/c-1",
        "organizations/acme/kpis",  # a collection
        "organizations/acme/aggregates/x__2026-10__actual/shards/000",  # a shard, not the readable doc
        "organizations/acme/aggregates/..",
        "organizations/acme/aggregates/a b",
        "/organizations/acme/kpis/current",
        "organizations/acme/kpis/" + "x" * 300,
    ],
)
def test_targets_that_count_nowhere(path):
    assert comment_target(ORG, {"target_path": path}) is None


def test_malformed_comments_count_nowhere():
    assert comment_target(ORG, None) is None
    assert comment_target(ORG, {}) is None
    assert comment_target(ORG, {"target_path": 42}) is None


AGG = "organizations/acme/aggregates/_all__2026-10__actual"
ALERT = "organizations/acme/alerts/a-1"


def test_count_changes():
    assert count_changes(ORG, None, {"target_path": AGG, "text": "why?"}) == {AGG: 1}
    assert count_changes(ORG, {"target_path": AGG}, None) == {AGG: -1}
    assert count_changes(ORG, {"target_path": AGG, "text": "a"}, {"target_path": AGG, "text": "b"}) == {}
    assert count_changes(ORG, {"target_path": AGG}, {"target_path": ALERT}) == {AGG: -1, ALERT: 1}
    assert count_changes(ORG, None, {"target_path": "organizations/other/kpis/current"}) == {}
    assert count_changes(ORG, None, None) == {}
