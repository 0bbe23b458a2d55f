"""Definitions that select accounts the chart does not have: an unknown account makes the definition invalid with
a message naming it; an empty type or tag selection (legitimate, docs/kpis.md) is a warning. The same answer is
given as the admin types (check_draft) and when the definition is saved (validate)."""

from __future__ import annotations

import pytest
from aggregations.definitions import check_draft, validate
from finance_core.accounts import ChartOfAccounts
from finance_core.metric_language import parse_expression
from finance_core.metric_series import DefinitionError, check_selections
from finance_core.reference import OrgReference

CHART = ChartOfAccounts.from_documents(
    {
        "1000": {"name": "Cash", "type": "asset", "tags": ["cash"]},
        "4000": {"name": "Revenue", "type": "revenue"},
        "4100": {"name": "Product", "type": "revenue", "parent_id": "4000"},
        "4900": {"name": "Other revenue", "type": "revenue", "parent_id": "4000"},
        "6100": {"name": "Payroll", "type": "opex"},
    }
)
REFERENCE = OrgReference(
    org_id="acme",
    reporting_currency="USD",
    chart=CHART,
    entity_currencies={"us": "USD"},
    period_status={"2026-01": "open", "2026-02": "open"},
)


def test_an_account_missing_from_the_chart_is_an_error_that_names_it_and_suggests_the_closest():
    with pytest.raises(DefinitionError) as caught:
        check_selections("m", parse_expression('account("4100", "4999") / revenue'), CHART)
    assert caught.value.path == "m.expression"
    assert "account '4999' is not in the chart of accounts (did you mean '4900'?)" in caught.value.message


def test_empty_type_and_tag_selections_are_warnings_once_each():
    warnings = check_selections(
        "m", parse_expression('tagged("receivable") + type("tax") + tagged("receivable") + tagged("cash")'), CHART
    )
    assert warnings == [
        'no account of the chart is tagged "receivable": tagged("receivable") is 0 until one is',
        'no account of the chart is of type "tax": type("tax") is 0 until one is',
    ]
    assert check_selections("m", parse_expression('account("4000") + type("opex") + revenue'), CHART) == []


def test_saving_a_definition_of_an_unknown_account_makes_it_invalid_and_computes_nothing():
    result = validate(
        {
            "ghost": {"label": "Ghost", "expression": 'account("4999")'},
            "payroll_share": {"label": "Payroll share", "expression": 'account("6100") / revenue', "unit": "ratio"},
            "receivables": {"label": "Receivables", "expression": 'closing(tagged("receivable"))'},
        },
        {},
        REFERENCE,
    )
    ghost = result.answers["ghost"]
    assert ghost["status"] == "invalid" and "'4999'" in ghost["error"]["message"]
    assert ghost["error"]["path"] == "ghost.expression"
    assert "ghost" not in result.active and set(result.active) == {"payroll_share", "receivables"}
    assert result.answers["payroll_share"] == {**result.answers["payroll_share"], "status": "active", "warnings": []}
    assert result.answers["receivables"]["status"] == "active"
    assert result.answers["receivables"]["warnings"] == [
        'no account of the chart is tagged "receivable": tagged("receivable") is 0 until one is'
    ]


def test_an_edit_to_an_unknown_account_keeps_the_last_valid_version_in_force():
    previous = {"product": {"label": "Product", "expression": 'account("4100")'}}
    result = validate({"product": {"label": "Product", "expression": 'account("4101")'}}, previous, REFERENCE)
    assert result.answers["product"]["status"] == "invalid"
    assert result.answers["product"]["active_expression"] == 'account("4100")'
    assert result.active["product"]["expression"] == 'account("4100")'


def test_checking_a_draft_answers_as_saving_it_would_with_the_other_definitions():
    stored = {"mrr": {"label": "MRR", "expression": 'account("4100")'}}
    assert check_draft(stored, stored, REFERENCE, "arr", {"label": "ARR", "expression": "12 * mrr"}) == {
        "metric_id": "arr",
        "status": "active",
        "error": None,
        "warnings": [],
        "active_expression": None,
    }
    typo = check_draft(stored, stored, REFERENCE, "arr", {"label": "ARR", "expression": "12 * mmr"})
    assert typo["status"] == "invalid" and "unknown metric 'mmr'" in typo["error"]["message"]
    cycle = check_draft(stored, stored, REFERENCE, "mrr", {"label": "MRR", "expression": "mrr + 1"})
    assert cycle["status"] == "invalid" and cycle["active_expression"] == 'account("4100")'
    syntax = check_draft(stored, stored, REFERENCE, "x", {"label": "X", "expression": "revenue /"})
    assert syntax["status"] == "invalid" and syntax["error"]["path"] == "x.expression"
    unknown = check_draft(stored, stored, REFERENCE, "x", {"label": "X", "expression": 'account("9999")'})
    assert "'9999' is not in the chart" in unknown["error"]["message"]
