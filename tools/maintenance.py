"""Operator commands that run the functions' own code against a stack: reconciliation."""

from __future__ import annotations

import sys
import textwrap

from tools.stack.config import ROOT, StackConfig


def functions_path() -> None:
    """Make the functions' packages importable (they are a flat source tree, as deployed)."""
    path = str(ROOT / "functions")
    if path not in sys.path:
        sys.path.insert(0, path)


def reconcile_command(config: StackConfig, org_id: str, period: str | None) -> int:
    """Run reconciliation for an org and print what it repaired."""
    config.apply_client_env()
    functions_path()
    from datetime import timedelta

    from aggregations.triggers import reconciler

    report = reconciler().reconcile(org_id, period, settle=timedelta(seconds=5))
    print(report.summary())
    return 0 if not report.skipped else 2


def show_health(config: StackConfig, orgs_shown: int = 20) -> int:
    """Refresh the pipeline health documents (as the every-minute function does) and print them."""
    config.apply_client_env()
    functions_path()
    from operations.triggers import health_refresher

    body = health_refresher().refresh()
    print(f"\npipeline health (global): {body['status']}")
    _print_health("all orgs", body)
    for explanation in body.get("explanations") or body["problems"]:
        print(textwrap.fill(explanation, width=100, initial_indent="  ! ", subsequent_indent="    "))
    from adapters.clients import firestore_client

    db = firestore_client()
    shown = 0
    for org in sorted(o.id for o in db.collection("organizations").list_documents()):
        snap = db.document(f"organizations/{org}/data_quality/pipeline").get()
        if not snap.exists or shown >= orgs_shown:
            continue
        org_body = snap.to_dict() or {}
        if org_body.get("counts") or org_body.get("problems"):
            _print_health(org, org_body)
            for explanation in org_body.get("explanations") or []:
                print(textwrap.fill(explanation, width=100, initial_indent="      ! ", subsequent_indent="        "))
            shown += 1
    return 0 if body["status"] == "ok" else 3


def _print_health(name: str, body: dict) -> None:
    lag = body.get("lag_ms") or {}
    backlog = body.get("backlog") or {}
    rejected = body.get("rejected") or {}
    reconciliation = body.get("reconciliation") or {}
    rate = rejected.get("rate")
    last = reconciliation.get("last_run_at")
    print(
        f"  {name:<18} {body.get('status', '?'):<9} backlog {backlog.get('unfinished_changes', 0):>4} "
        f"(oldest {backlog.get('age_seconds', 0):>6.1f} s)  lag p50/p99 {_ms(lag.get('p50'))}/{_ms(lag.get('p99'))} "
        f"({lag.get('samples', 0)} msgs)  dead letters {body.get('dead_letters_waiting', 0)}  "
        f"rejected {'-' if rate is None else f'{rate:.1%}'}  "
        f"reconciled {last.isoformat(timespec='seconds') if hasattr(last, 'isoformat') else '-'}"
        f"{' repaired ' + str(reconciliation.get('repaired')) if reconciliation.get('repaired') else ''}"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
