"""Lock the functions' dependencies: functions/requirements.in -> functions/requirements.txt, every transitive
dependency pinned with its hashes (uv pip compile), for Linux x86_64 and Python 3.11 as Cloud Functions runs them.

    .venv/bin/python tools/lock_functions.py          # after editing functions/requirements.in

Cloud Build installs requirements.txt with pip, which checks every hash (a lock with one hash
checks them all), so what is deployed is byte for byte what was locked. The project's core is not
in it: the predeploy step copies its source into the deployed folder (tools/package_core.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "functions" / "requirements.in"
LOCK = ROOT / "functions" / "requirements.txt"
COMMAND = [
    "pip",
    "compile",
    "--generate-hashes",
    "--python-version",
    "3.11",
    "--python-platform",
    "x86_64-unknown-linux-gnu",
    "--no-header",
    "--annotation-style",
    "line",
    "--quiet",
]
HEADER = (
    "# Locked runtime dependencies of the deployed functions, with hashes: generated from requirements.in by\n"
    "# tools/lock_functions.py (do not edit). Installed into functions/venv locally and by Cloud Build on deploy.\n"
)


def main() -> int:
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        print("uv is not installed in .venv: run ./dev setup", file=sys.stderr)
        return 1
    # PyPI itself (not a local mirror), trusting the system's certificates.
    env = {**os.environ, "UV_INDEX_URL": "https://pypi.org/simple", "UV_NO_CONFIG": "1", "UV_NATIVE_TLS": "1"}
    result = subprocess.run(
        [str(uv), *COMMAND, str(SOURCE.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return result.returncode
    LOCK.write_text(HEADER + result.stdout)
    print(f"wrote {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
