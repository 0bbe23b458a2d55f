"""The web dashboard in Debian's Chromium on the local stack: first load, publish -> KPI card, chart re-render, bundle.

Run with the demo org seeded (`./dev up --seed`, or `./dev demo --keep-running`):
`.venv/bin/python bench/bench_web.py [--events 40] [--spacing-ms 300] [--loads 10]`.
Prints the figures (and one JSON line); it asserts nothing.

- Bundle: the built files of web/dist/assets, raw and gzip -9.
- First load: the demo org's dashboard opened by a signed-in viewer (the session restored from
  IndexedDB, as when a user comes back), from navigation start to the moment all seven KPI cards
  show a value (a MutationObserver installed before the page's scripts records it), `--loads`
  times in one browser context.
- Publish -> KPI card: a fresh org with the demo chart; a viewer's page is open; events are
  published to `financial-events` `--spacing-ms` apart without waiting for one to show. Event i
  is a new revenue line of 2^i cents, so every text the Revenue card shows says exactly which
  events it includes. Latency of an event = the first card text that includes it (page clock,
  `performance.timeOrigin + performance.now()`) - the moment its publish call was made (same
  machine clock).
- Chart re-render: the app's own `chart-render` performance measures, from the arrival of a
  snapshot of the monthly aggregates to the end of uPlot's redraw, over the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from google.cloud import pubsub_v1  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.auth_emulator import sign_up  # noqa: E402
from tests.support import event, seed_org, wait_for_events  # noqa: E402
from tests.web.browser import Credentials, launch, sign_in  # noqa: E402
from tools.stack.demo_users import DEMO_USERS  # noqa: E402
from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.seed import demo_reference, firestore_client, publish_events  # noqa: E402
from tools.web import build, bundle_sizes  # noqa: E402

# The seven headline metrics, then net burn and runway (the cash forecast's: figures on the demo org,
# whose bank feed is dated; "n/a" on an org with no complete week of dated cash movements, which is
# an answer too, so the benchmark works on either).
CARDS = 9
FORECAST_KPIS = ("net_burn", "runway_months")
KPI_PERIOD = demo_reference()["current_period"]

# Installed before the app's scripts: records when every KPI card first shows a value, and every
# text of the Revenue card with its time.
OBSERVER = """
(() => {
  window.__bench = { cardsFilledAt: null, revenue: [] };
  const observer = new MutationObserver(() => {
    const values = document.querySelectorAll('[data-testid^="kpi-value-"]');
    const answered = (v) => v.dataset.filled === 'true'
      || ['no_history', 'no_cash_accounts'].includes(v.closest('[data-status]')?.dataset.status);
    if (window.__bench.cardsFilledAt === null && values.length === CARDS && [...values].every(answered)) {
      window.__bench.cardsFilledAt = performance.now();
    }
    const revenue = document.querySelector('[data-testid="kpi-value-revenue"]');
    const text = revenue ? revenue.textContent : null;
    const log = window.__bench.revenue;
    if (text && (log.length === 0 || log[log.length - 1].text !== text)) {
      log.push({ text, at: performance.timeOrigin + performance.now() });
    }
  });
  observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})();
""".replace("CARDS", str(CARDS))


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def cents(text: str) -> int:
    """'$1,234.56' (or '-$1,234.56') -> 123456."""
    match = re.fullmatch(r"(-?)\$([\d,]+)\.(\d{2})", text.strip())
    if not match:
        raise ValueError(f"not a USD amount: {text!r}")
    sign, major, minor = match.groups()
    return (-1 if sign else 1) * (int(major.replace(",", "")) * 100 + int(minor))


def fill_demo_month(stack, db) -> None:
    """Book a few lines in the demo org's KPI month if it has none (as the demo stream does)."""
    kpis = (db.document("organizations/northwind/kpis/current").get().to_dict() or {}).get("kpis", {})
    if all(k.get("value") is not None for k in kpis.values()):
        return
    lines = [
        ("us-east", "4100", "42000.00", "USD"),
        ("us-west", "4200", "18000.00", "USD"),
        ("eu-central", "5100", "17000.00", "EUR"),
        ("us-east", "6100", "21000.00", "USD"),
    ]
    events = [
        event(
            "northwind",
            f"bench-web-fill-{i}",
            1,
            entity=entity,
            account=account,
            period=KPI_PERIOD,
            amount=amount,
            currency=currency,
        )
        for i, (entity, account, amount, currency) in enumerate(lines)
    ]
    publish_events(stack.config, events)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        current = db.document("organizations/northwind/kpis/current").get().to_dict() or {}
        kpis = current.get("kpis", {})
        # Burn and runway are the forecast's (kpis/current.cash): values while it burns; none for the
        # runway of a company not burning, nor for either before a complete week of dated cash movements.
        burning = (current.get("cash") or {}).get("status") == "burning"
        waited = {m: k for m, k in kpis.items() if burning or m not in FORECAST_KPIS}
        if waited and all(k.get("value") is not None for k in waited.values()):
            return
        time.sleep(0.5)
    sys.exit("the demo org's KPIs did not fill within 180 s: is the stack overloaded? (./dev status)")


PHASES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const marks = Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]));
  return { html: nav.responseEnd, scripts: nav.domContentLoadedEventEnd, ...marks,
           'cards-filled': window.__bench.cardsFilledAt };
}"""


def first_loads(browser, base_url: str, loads: int) -> list[dict[str, float]]:
    viewer = next(u for u in DEMO_USERS if u.role == "viewer")
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    context.add_init_script(OBSERVER)
    page = context.new_page()
    sign_in(page, base_url, Credentials(viewer.email, viewer.password), "northwind")
    page.wait_for_function("window.__bench.cardsFilledAt !== null", timeout=60_000)
    times = []
    for _ in range(loads):
        page.reload()
        page.wait_for_function("window.__bench && window.__bench.cardsFilledAt !== null", timeout=60_000)
        times.append(page.evaluate(PHASES))
    context.close()
    return times


def live_latency(stack, db, browser, base_url: str, events: int, spacing_ms: int) -> dict:
    org_id = f"bench-web-{uuid.uuid4().hex[:8]}"
    seed_org(db, org_id)
    user = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{user.uid}").set(
        {"uid": user.uid, "role": "viewer", "display_name": "Bench viewer"}
    )
    publisher = pubsub_v1.PublisherClient(batch_settings=pubsub_v1.types.BatchSettings(max_messages=1))
    topic = publisher.topic_path(stack.config.project_id, "financial-events")
    # A base line so that the KPI document and the chart exist before measuring.
    base = event(org_id, "bench-base", 1, period=KPI_PERIOD, amount="1000.00")
    publisher.publish(topic, json.dumps(base).encode(), org_id=org_id).result(timeout=30)
    wait_for_events(db, org_id, 1, timeout=120)
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    context.add_init_script(OBSERVER)
    page = context.new_page()
    sign_in(page, base_url, Credentials(user.email, user.password), org_id)
    page.wait_for_function("window.__bench.revenue.some((r) => r.text === '$1,000.00')", timeout=120_000)
    page.get_by_test_id("trend-chart").wait_for()
    page.evaluate("performance.clearMeasures('chart-render')")
    base_cents = 100_000
    published: list[float] = []
    futures = []
    for i in range(events):
        body = event(
            org_id, f"bench-{i}", 1, period=KPI_PERIOD, amount=f"{2**i / 100:.2f}", event_id=f"bench-{org_id}-{i}"
        )
        published.append(time.time() * 1000)
        futures.append(publisher.publish(topic, json.dumps(body).encode(), org_id=org_id))
        time.sleep(spacing_ms / 1000)
    for future in futures:
        future.result(timeout=60)
    final = f"${(base_cents + 2**events - 1) // 100:,}.{(base_cents + 2**events - 1) % 100:02d}"
    page.wait_for_function("(t) => window.__bench.revenue.some((r) => r.text === t)", arg=final, timeout=300_000)
    seen: dict[int, float] = {}
    for entry in page.evaluate("window.__bench.revenue"):
        delta = cents(entry["text"]) - base_cents
        for i in range(events):
            if delta >= 0 and delta >> i & 1 and i not in seen:
                seen[i] = entry["at"]
    latencies = [seen[i] - published[i] for i in range(events) if i in seen]
    renders = page.evaluate("performance.getEntriesByName('chart-render').map((m) => m.duration)")
    context.close()
    return {
        "org": org_id,
        "latencies": latencies,
        "missing": [i for i in range(events) if i not in seen],
        "chart_renders": renders,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40, help="published events (<= 50: 2^i cents stay exact)")
    parser.add_argument("--spacing-ms", type=int, default=300, help="time between two publishes")
    parser.add_argument("--loads", type=int, default=10, help="measured reloads of the demo dashboard")
    args = parser.parse_args()
    if not 30 <= args.events <= 50:
        parser.error("--events must be between 30 and 50")
    stack = LocalStack.running("./dev up --seed (the demo org is needed)")
    db = firestore_client(stack.config)
    if not db.document("organizations/northwind/kpis/current").get().exists:
        sys.exit("the demo org is not seeded: run ./dev seed")
    fill_demo_month(stack, db)
    build(progress=print)
    sizes = bundle_sizes()
    base_url = f"http://{stack.config.address('hosting')}/"
    with sync_playwright() as playwright:
        browser = launch(playwright, tuple(stack.config.ports.values()))
        loads = first_loads(browser, base_url, args.loads)
        live = live_latency(stack, db, browser, base_url, args.events, args.spacing_ms)
        browser.close()

    js = {k: v for k, v in sizes.items() if k.endswith(".js")}
    js_gzip = {k: v for k, v in sizes.items() if k.endswith(".js (gzip)")}
    print("Bundle (web/dist/assets):")
    for name, size in sizes.items():
        print(f"  {name:<40} {size / 1024:8.1f} KiB")
    print(f"  JavaScript total: {sum(js.values()) / 1024:.1f} KiB, gzip {sum(js_gzip.values()) / 1024:.1f} KiB")
    filled = [load["cards-filled"] for load in loads]
    print(
        f"First load of the demo org to all {CARDS} cards filled, {len(loads)} reloads: "
        f"p50 {statistics.median(filled):.0f} ms, max {max(filled):.0f} ms ({', '.join(f'{t:.0f}' for t in filled)})"
    )
    slowest = max(loads, key=lambda load: load["cards-filled"])
    print("  phases from navigation start, ms (median of the loads / the slowest load):")
    for phase in ("html", "scripts", "config-loaded", "auth-restored", "org-ready", "kpis-received", "cards-filled"):
        values = [load[phase] for load in loads if load.get(phase) is not None]
        if values:
            print(f"    {phase:<14} {statistics.median(values):7.0f} / {slowest.get(phase) or 0:7.0f}")
    lat = live["latencies"]
    print(
        f"Publish -> Revenue card text changed, {len(lat)} of {args.events} events ({args.spacing_ms} ms apart): "
        f"p50 {percentile(lat, 0.5):.0f} ms, p90 {percentile(lat, 0.9):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms, "
        f"max {max(lat):.0f} ms; missing {live['missing']}"
    )
    renders = live["chart_renders"]
    if renders:
        print(
            f"Chart re-render after a snapshot, {len(renders)} redraws: p50 {percentile(renders, 0.5):.1f} ms, "
            f"p99 {percentile(renders, 0.99):.1f} ms, max {max(renders):.1f} ms"
        )
    print(
        json.dumps(
            {
                "bundle_js_bytes": sum(js.values()),
                "bundle_js_gzip_bytes": sum(js_gzip.values()),
                "first_load_ms": {"p50": statistics.median(filled), "max": max(filled), "n": len(filled)},
                "publish_to_card_ms": {
                    "p50": percentile(lat, 0.5),
                    "p99": percentile(lat, 0.99),
                    "n": len(lat),
                    "missing": live["missing"],
                },
                "chart_render_ms": {
                    "p50": percentile(renders, 0.5),
                    "p99": percentile(renders, 0.99),
                    "n": len(renders),
                }
                if renders
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
