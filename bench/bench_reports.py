"""The monthly pack of the demo org on the local stack: seconds per phase, and a member's request end to end.

Run with the stack up and the demo org seeded (`./dev up --seed`, or `./dev up` then `./dev seed`):

    .venv/bin/python bench/bench_reports.py [--org northwind] [--period 2026-10] [--runs 5]

(a) In this process, the code the function runs, phase by phase: reading the documents (one batched
    read and one query on the Firestore emulator), building the pack, the trend chart (matplotlib),
    the PDF (ReportLab), the XLSX (XlsxWriter), the CSV tables, and storing every file in the Cloud
    Storage emulator; then ReportService.run as a whole (with its progress writes). The first run
    (imports, font cache) is shown apart from the median of the others.
(b) Through the Functions emulator: a report_requests document written -> reports/{id} 'succeeded'
    seen by this process (polling every 50 ms), and the duration the function itself recorded.
It prints figures and the ratio to the 5 s target; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from google.cloud import firestore  # noqa: E402

from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.seed import firestore_client  # noqa: E402

TARGET_SECONDS = 5.0


def phases(db, org: str, period: str) -> dict[str, float]:
    """Seconds of each phase of one pack, in the order the service runs them."""
    from adapters.clients import storage_client
    from adapters.firestore_codec import utc_now
    from adapters.settings import reports_bucket
    from reports.charts import trend_chart_png
    from reports.pack import build_pack
    from reports.pdf import render_pdf
    from reports.service import ReportFiles
    from reports.source import PackSource
    from reports.tables import render_csv, table_builders
    from reports.xlsx import render_xlsx

    times: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name] = now - mark
        mark = now

    inputs = PackSource(db).read(org, period, utc_now())
    lap("read documents")
    pack = build_pack(inputs)
    lap("build pack")
    chart = trend_chart_png(pack)
    lap("trend chart")
    pdf = render_pdf(pack, chart)
    lap("PDF")
    xlsx = render_xlsx(pack)
    lap("XLSX")
    csvs = {table_id: render_csv(rows()) for table_id, (_, rows) in table_builders(pack).items()}
    lap("CSV tables")
    files = ReportFiles(storage_client, reports_bucket)
    prefix = f"reports/{org}/bench-{uuid.uuid4().hex[:8]}/"
    files.upload(prefix + "pack.pdf", pdf, "application/pdf")
    files.upload(prefix + "pack.xlsx", xlsx, "application/octet-stream")
    for table_id, data in csvs.items():
        files.upload(prefix + f"{table_id}.csv", data, "text/csv")
    lap(f"store {2 + len(csvs)} files")
    times["sizes"] = (len(pdf), len(xlsx), len(chart))  # type: ignore[assignment]
    return times


def service_run(db, org: str, period: str) -> float:
    from adapters.clients import storage_client
    from adapters.settings import reports_bucket, reports_download_url
    from reports.service import ReportFiles, ReportService

    service = ReportService(db, ReportFiles(storage_client, reports_bucket), reports_download_url)
    started = time.perf_counter()
    outcome = service.run(org, f"bench-{uuid.uuid4().hex[:10]}", period, {"source": "bench"})
    assert outcome.status == "succeeded", outcome.error
    return time.perf_counter() - started


def end_to_end(db, org: str, period: str) -> tuple[float, int]:
    request_id = f"bench-{uuid.uuid4().hex[:10]}"
    ref = db.document(f"organizations/{org}/reports/{request_id}")
    started = time.perf_counter()
    db.document(f"organizations/{org}/report_requests/{request_id}").set(
        {"period": period, "requested_by": "bench", "requested_at": firestore.SERVER_TIMESTAMP}
    )
    while True:
        snap = ref.get()
        body = snap.to_dict() if snap.exists else {}
        if body.get("status") in ("succeeded", "failed"):
            break
        if time.perf_counter() - started > 300:
            raise SystemExit(f"report {request_id} did not finish in 300 s: see .stack/logs/firebase.log")
        time.sleep(0.05)
    if body["status"] != "succeeded":
        raise SystemExit(f"the report failed: {body.get('error')}")
    return time.perf_counter() - started, int(body.get("duration_ms", 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--org", default="northwind")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    stack = LocalStack.running("./dev up, then ./dev seed")
    db = firestore_client(stack.config)
    agg = db.document(f"organizations/{args.org}/aggregates/_all__{args.period}__actual").get()
    if not agg.exists:
        print(f"{args.org} has no actuals for {args.period}: seed the demo org with ./dev seed", file=sys.stderr)
        return 1

    print(
        f"monthly pack of {args.org} for {args.period} ({agg.to_dict().get('record_count')} consolidated actual "
        f"records), {args.runs} runs after a first one"
    )
    first = phases(db, args.org, args.period)
    runs = [phases(db, args.org, args.period) for _ in range(args.runs)]
    names = [n for n in first if n != "sizes"]
    print(f"\n(a) in process, seconds{'':<14}first   median    max")
    for name in names:
        values = [r[name] for r in runs]
        print(f"    {name:<28}{first[name]:7.3f}  {statistics.median(values):7.3f}  {max(values):6.3f}")
    totals = [sum(r[n] for n in names) for r in runs]
    print(
        f"    {'total of the phases':<28}{sum(first[n] for n in names):7.3f}  {statistics.median(totals):7.3f}  "
        f"{max(totals):6.3f}"
    )
    pdf_size, xlsx_size, png_size = first["sizes"]  # type: ignore[misc]
    print(
        f"    sizes: PDF {pdf_size / 1024:.0f} KiB, XLSX {xlsx_size / 1024:.0f} KiB, "
        f"chart PNG {png_size / 1024:.0f} KiB"
    )
    whole = [service_run(db, args.org, args.period) for _ in range(args.runs)]
    print(
        f"    ReportService.run (claim, progress, files, links): median {statistics.median(whole):.3f} s, "
        f"max {max(whole):.3f} s -> {statistics.median(whole) / TARGET_SECONDS:.0%} of the 5 s target"
    )

    print("\n(b) request document -> report succeeded, through the Functions emulator")
    first_e2e = end_to_end(db, args.org, args.period)
    e2e = [end_to_end(db, args.org, args.period) for _ in range(args.runs)]
    walls = [w for w, _ in e2e]
    inside = [d / 1000 for _, d in e2e]
    print(f"    first (worker start): {first_e2e[0]:.3f} s wall, {first_e2e[1] / 1000:.3f} s in the function")
    print(
        f"    median {statistics.median(walls):.3f} s wall (max {max(walls):.3f}), "
        f"{statistics.median(inside):.3f} s in the function -> {statistics.median(walls) / TARGET_SECONDS:.0%} "
        "of the 5 s target"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
