"""The benchmark's dashboards read what the web overview reads: every collection a viewer's overview
listens to or polls has a target in bench/clients/dashboard_listeners.mjs, and what the overview
only reads on a person's demand (comments, the list of rejections) has none."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "web" / "src" / "components"
# The overview of a viewer: App's org view and what Dashboard renders (editor tools and drill-down apart).
OVERVIEW = [
    ROOT / "web" / "src" / "App.tsx",
    *(
        COMPONENTS / f"{name}.tsx"
        for name in (
            "Dashboard",
            "KpiCards",
            "DefinedKpis",
            "TrendSection",
            "DaysSection",
            "PnlStatement",
            "PnlSection",
            "Alerts",
            "DataQuality",
            "Presence",
        )
    ),
]
ON_DEMAND = {"ingestion_errors", "comments"}
# A listener or poll hook, or a one-shot read of a collection (getDocs / getCountFromServer of it).
READS = re.compile(r"(useDocument|useQuery|usePolledCollection)<[^>]*>\(|collection\(services\.db, orgPath\(")
FIRST_SEGMENT = re.compile(r"orgPath\(orgId(?:, '([a-z_]+)')?")
PATH_VARIABLE = re.compile(r"const path = orgPath\(orgId, '([a-z_]+)'\)")


def _overview_collections() -> set[str]:
    found: set[str] = set()
    for source in OVERVIEW:
        text = source.read_text()
        variable = PATH_VARIABLE.search(text)
        for line in text.splitlines():
            if not READS.search(line):
                continue
            segment = FIRST_SEGMENT.search(line)
            if segment:
                found.add(segment.group(1) or "(org)")
            elif variable and re.search(r"\bpath\b", line):
                found.add(variable.group(1))
    return found


def _bench_collections() -> set[str]:
    text = (ROOT / "bench" / "clients" / "dashboard_listeners.mjs").read_text()
    targets = text[text.index("function targets(") :]
    found = set(re.findall(r"\$\{org\}/([a-z_]+)", text)) | set(re.findall(r"all\('([a-z_]+)'\)", targets))
    if "doc(db, org)" in targets:
        found.add("(org)")
    if "collectionGroup(db, 'members')" in targets:
        found.add("members")
    return found


def test_the_benchmark_reads_every_collection_the_overview_reads():
    overview = _overview_collections()
    assert {"(org)", "kpis", "aggregates", "trends", "variance", "alerts", "data_quality", "presence"} <= overview
    assert overview - ON_DEMAND - _bench_collections() == set()


def test_what_the_overview_reads_on_demand_is_not_read_by_the_benchmark():
    assert "ingestion_errors" in _overview_collections(), "the list of rejections is still on the overview"
    assert _bench_collections() & ON_DEMAND == set()
