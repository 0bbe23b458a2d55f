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
    ROOT / "web" / "src" / "hooks" / "liveMonth.ts",
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
# Read by the overview only for another month or entity than kpis/current's (a person's pick): the
# consolidated variance of kpis/current's month comes with kpis/current (web/src/hooks/liveMonth.ts).
OTHER_MONTHS = {"variance"}
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
    assert overview - ON_DEMAND - OTHER_MONTHS - _bench_collections() == set()


def test_the_month_of_kpis_current_is_read_from_it_by_the_overview_and_the_benchmark():
    # Both leave that month out of the consolidated actual series and read its copy in kpis/current.
    web = (ROOT / "web" / "src" / "hooks" / "liveMonth.ts").read_text()
    bench = (ROOT / "bench" / "clients" / "dashboard_listeners.mjs").read_text()
    assert "where('period', '!=', month.period)" in web and "month_actual" in web and "month_variance" in web
    assert "series('actual', where('period', '!=', PERIOD))" in bench and "month_actual.shards_read_at" in bench
    assert "variance/" not in bench[bench.index("function targets(") :]
    for component in ("TrendSection", "DaysSection", "PnlStatement"):
        assert "useConsolidatedActuals" in (COMPONENTS / f"{component}.tsx").read_text(), component
    assert "useVarianceDocument" in (COMPONENTS / "PnlSection.tsx").read_text()


def test_what_the_overview_reads_on_demand_is_not_read_by_the_benchmark():
    assert "ingestion_errors" in _overview_collections(), "the list of rejections is still on the overview"
    assert _bench_collections() & ON_DEMAND == set()
