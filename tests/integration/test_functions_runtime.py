"""The functions run the core from the packaged wheel (the predeploy step), never from a copy of its source."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_functions_venv_imports_the_core_from_the_installed_wheel_and_loads_every_trigger():
    python = ROOT / "functions" / "venv" / "bin" / "python"
    assert python.exists(), "functions/venv is missing: run ./dev setup"
    code = "import finance_core, main, sys;print(finance_core.__file__);print(','.join(sorted(main.__all__)))"
    result = subprocess.run(
        [str(python), "-c", code],
        cwd=ROOT / "functions",
        capture_output=True,
        text=True,
        env={"GCLOUD_PROJECT": "demo-finance-live", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    core_file, triggers = result.stdout.strip().splitlines()
    assert "/functions/venv/lib/" in core_file and "site-packages/finance_core/" in core_file, core_file
    assert not (ROOT / "functions" / "finance_core").exists(), "no hand copy of the core inside functions/"
    assert {
        "ingest_financial_event",
        "ingest_financial_event_batch",
        "apply_record_changes",
        "refresh_aggregate_views",
    } <= set(triggers.split(","))
