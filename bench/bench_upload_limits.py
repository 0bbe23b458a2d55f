"""Peak memory of the upload worker on hostile and large files: a zip bomb, a sheet reaching row 1,048,576, and
the largest valid files (20,000 rows, CSV and XLSX).

Two measurements per file:
  local   a fresh Python process reads the file as ingest_upload does (read_upload, then every row turned into
          its event) and prints its peak resident memory above the same process after its imports;
  stack   (with --stack and a stack up: `./dev up`) the file is POSTed to the Functions emulator's ingest_upload
          by an editor, and the peak resident memory (VmHWM, reset before each request) of the emulator's
          ingest_upload worker is printed with the answer's status and time.

    .venv/bin/python bench/bench_upload_limits.py [--stack] [--bomb-mib 1024]

Prints figures; asserts nothing. Timings on a shared 2-core machine are noisy; memory figures are not.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["record_id", "entity_id", "account_id", "period", "scenario", "amount", "currency", "memo"]
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def valid_rows(count: int) -> list[list[object]]:
    return [
        [f"bench-{i}", "us-east", "4100", "2026-10", "actual", f"{i % 997}.{i % 100:02d}", "USD", f"line {i} " * 6]
        for i in range(count)
    ]


def valid_xlsx(count: int) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in valid_rows(count):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def valid_csv(count: int) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(valid_rows(count))
    return buffer.getvalue().encode()


def _with_sheet(write_sheet) -> bytes:
    """A valid workbook whose first worksheet part is written by `write_sheet(file)` (streamed into the zip)."""
    template = zipfile.ZipFile(io.BytesIO(valid_xlsx(1)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in template.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                part = zipfile.ZipInfo(item.filename)
                part.compress_type = zipfile.ZIP_DEFLATED
                with target.open(part, "w", force_zip64=True) as sheet:
                    write_sheet(sheet)
            else:
                target.writestr(item, template.read(item.filename))
    return buffer.getvalue()


def zip_bomb(expanded_mib: int) -> bytes:
    """Rows whose memo cell is 100,000 characters, until the sheet expands to `expanded_mib` MiB."""
    memo = "A" * 100_000

    def write(sheet) -> None:
        sheet.write(f'<?xml version="1.0"?><worksheet {NS}><sheetData>'.encode())
        header = "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for name in HEADER)
        sheet.write(f'<row r="1">{header}</row>'.encode())
        written, number = 0, 2
        while written < expanded_mib * 2**20:
            cells = "".join(
                f'<c t="inlineStr"><is><t>{value}</t></is></c>'
                for value in [f"b-{number}", "us-east", "4100", "2026-10", "actual", "1.00", "USD", memo]
            )
            row = f'<row r="{number}">{cells}</row>'.encode()
            sheet.write(row)
            written += len(row)
            number += 1
        sheet.write(b"</sheetData></worksheet>")

    return _with_sheet(write)


def last_row_sheet() -> bytes:
    """1,048,576 rows of one small cell each (the issue's 1.57 MB workbook read for 40 s)."""

    def write(sheet) -> None:
        sheet.write(f'<?xml version="1.0"?><worksheet {NS}><sheetData>'.encode())
        header = "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for name in HEADER)
        sheet.write(f'<row r="1">{header}</row>'.encode())
        chunk = []
        for number in range(2, 1_048_577):
            chunk.append(f'<row r="{number}"><c r="A{number}"><v>1</v></c></row>')
            if len(chunk) == 10_000:
                sheet.write("".join(chunk).encode())
                chunk = []
        sheet.write("".join(chunk).encode())
        sheet.write(b"</sheetData></worksheet>")

    return _with_sheet(write)


def widest_within_limits() -> bytes:
    """Near the most cells the limits let through: 20,000 rows of 30 filled columns, just under 5 MB."""
    import csv

    extra = ["source", "version", "type"] + [f"dimension.d{i}" for i in range(19)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER + extra)
    for i in range(20_000):
        base = [f"w-{i:09d}", "us-east", "4100", "2026-10", "actual", "1.00", "USD", f"{i:013d}"]
        writer.writerow(base + ["source-" + f"{i:06d}", "1", "upserted"] + [f"v{i % 10000:04d}" for _ in range(19)])
    return buffer.getvalue().encode()


def _chunks(total: int):
    """A request body of `total` bytes, produced 1 MiB at a time (requests sends it chunked)."""
    chunk = b"x" * 2**20
    for _ in range(total // len(chunk)):
        yield chunk


def expanded_size(body: bytes) -> int:
    try:
        return sum(item.file_size for item in zipfile.ZipFile(io.BytesIO(body)).infolist())
    except zipfile.BadZipFile:
        return len(body)


# --- local: a fresh process reads the file -----------------------------------------------------

_READER = """
import json, resource, sys, time
sys.path[:0] = {paths!r}
from ingestion.uploads import UploadRejected, read_upload, row_events
import openpyxl, xlsxwriter  # noqa: F401  (the worker has them loaded too)
body = open({path!r}, "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    table = read_upload(body, {content_type!r})
    events = row_events(table, "bench-org", "2026-10-05T12:00:00Z")
    outcome = f"read: {{len(events):,}} rows"
except UploadRejected as exc:
    outcome = f"{{exc.status}}: {{exc.message[:90]}}"
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"base_mib": base / 1024, "peak_mib": peak / 1024, "seconds": seconds, "outcome": outcome}}))
"""


def measure_locally(body: bytes, content_type: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".upload") as file:
        file.write(body)
        file.flush()
        program = _READER.format(paths=[str(ROOT), str(ROOT / "functions")], path=file.name, content_type=content_type)
        result = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT, timeout=900
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- stack: the emulator's ingest_upload worker --------------------------------------------------


def _upload_workers() -> list[int]:
    """Python processes of this checkout's Functions emulator that serve ingest_upload (and their children)."""
    venv = str(ROOT / "functions" / "venv")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if venv in command and "python" in command and b"FUNCTION_TARGET=ingest_upload" in environment:
            found.append(int(entry.name))
    return found


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    return 0


def measure_on_stack(stack, token: str, org_id: str, body: bytes, content_type: str) -> dict:
    import requests

    url = f"http://{stack.config.address('functions')}/{stack.config.project_id}/us-central1/ingest_upload"
    before = {}
    for pid in _upload_workers():
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
        before[pid] = _status(pid, "VmRSS")
    started = time.perf_counter()
    response = requests.post(
        url,
        params={"org_id": org_id},
        data=body,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"},
        timeout=1800,
    )
    seconds = time.perf_counter() - started
    workers = _upload_workers()
    peaks = {pid: _status(pid, "VmHWM") for pid in workers}
    pid = max(peaks, key=lambda p: peaks[p] - before.get(p, peaks[p])) if peaks else None
    body_json = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    outcome = body_json.get("message") or f"counts {body_json.get('counts')}"
    return {
        "status": response.status_code,
        "seconds": seconds,
        "rss_before_mib": before.get(pid, 0) / 1024 if pid else 0,
        "peak_mib": peaks[pid] / 1024 if pid else 0,
        "outcome": str(outcome)[:90],
        "workers": len(workers),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", action="store_true", help="also POST each file to the running stack")
    parser.add_argument("--bomb-mib", type=int, default=1024, help="decompressed size of the zip bomb (MiB)")
    args = parser.parse_args()

    print("building the files ...", flush=True)
    files = [
        (f"zip bomb ({args.bomb_mib} MiB of 100,000-char memos)", zip_bomb(args.bomb_mib), XLSX),
        ("sheet reaching row 1,048,576", last_row_sheet(), XLSX),
        ("valid XLSX, 20,000 rows", valid_xlsx(20_000), XLSX),
        ("valid CSV, 20,000 rows", valid_csv(20_000), CSV),
    ]
    widest = ("CSV of 20,000 rows x 30 columns (local only)", widest_within_limits(), CSV)
    print(f"\n{'file':<44} {'bytes':>11} {'expands to':>14}")
    for name, body, _ in files:
        print(f"{name:<44} {len(body):>11,} {expanded_size(body):>14,}")

    print("\nlocal: a fresh process reads each file as ingest_upload does (read_upload + row_events)")
    print(f"{'file':<44} {'after imports':>14} {'peak':>10} {'above':>9} {'seconds':>8}  outcome")
    for name, body, content_type in [*files, widest]:
        m = measure_locally(body, content_type)
        print(
            f"{name:<44} {m['base_mib']:>10.0f} MiB {m['peak_mib']:>6.0f} MiB {m['peak_mib'] - m['base_mib']:>5.0f} MiB"
            f" {m['seconds']:>8.2f}  {m['outcome']}"
        )

    if args.stack:
        from tests.auth_emulator import sign_up
        from tests.support import seed_org
        from tools.stack.emulators import LocalStack
        from tools.stack.seed import firestore_client

        stack = LocalStack.running()
        db = firestore_client(stack.config)
        org_id = f"bench-limits-{uuid.uuid4().hex[:8]}"
        seed_org(db, org_id, all_periods_open=True)
        editor = sign_up(stack)
        db.document(f"organizations/{org_id}/members/{editor.uid}").set({"uid": editor.uid, "role": "editor"})
        oversized = ("1 GiB body, chunked (no Content-Length)", _chunks(2**30), CSV)
        # A first small upload starts the worker, so the figures below are of a warm worker.
        measure_on_stack(stack, editor.id_token, org_id, valid_csv(1), CSV)
        print(f"\nstack: POST to ingest_upload; peak RSS (VmHWM) of the emulator's worker (pid {_upload_workers()})")
        print(f"{'file':<44} {'RSS before':>11} {'peak':>10} {'status':>7} {'seconds':>8}  answer")
        for name, body, content_type in [*files, oversized]:
            m = measure_on_stack(stack, editor.id_token, org_id, body, content_type)
            print(
                f"{name:<44} {m['rss_before_mib']:>7.0f} MiB {m['peak_mib']:>6.0f} MiB {m['status']:>7}"
                f" {m['seconds']:>8.2f}  {m['outcome']}"
            )
    print(
        f"\n(python {sys.version.split()[0]}, pid {os.getpid()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
