"""The dashboard's component logic (Vitest: minor-unit formatting, favourability, the month in progress,
emulator config, loading/denied states) and its TypeScript types (tsc), run from pytest so CI runs them."""

from __future__ import annotations

import os
import subprocess

from tests.web.browser import ROOT

WEB = ROOT / "web"


def _run(*command: str) -> subprocess.CompletedProcess:
    binary = WEB / "node_modules" / ".bin" / command[0]
    assert binary.exists(), f"{binary.relative_to(ROOT)} is missing: run ./dev setup (it installs web/node_modules)"
    return subprocess.run(
        [str(binary), *command[1:]],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )


def test_vitest_unit_tests_pass():
    result = _run("vitest", "run", "--reporter=verbose")
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_typescript_types_check():
    result = _run("tsc", "--noEmit", "-p", "tsconfig.json")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
