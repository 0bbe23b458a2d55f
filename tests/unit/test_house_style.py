"""The house style, enforced: ruff (lint and format), mypy on the core and the functions, import-linter's layers."""

from __future__ import annotations

import os
import subprocess
import sys

from tools.house_style import ROOT, STYLE_SCOPE, TYPED

BIN = ROOT / ".venv" / "bin"


def _run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )


def test_ruff_lint_passes_on_the_enforced_scope():
    result = _run(str(BIN / "ruff"), "check", *STYLE_SCOPE)
    assert result.returncode == 0, (
        f"ruff check (fix: .venv/bin/ruff check --fix FILES):\n{result.stdout}{result.stderr}"
    )


def test_ruff_format_leaves_the_enforced_scope_unchanged():
    result = _run(str(BIN / "ruff"), "format", "--check", *STYLE_SCOPE)
    assert result.returncode == 0, f"run: .venv/bin/ruff format FILES\n{result.stdout}{result.stderr}"


def test_the_core_and_the_functions_type_check():
    result = _run(sys.executable, "-m", "mypy", *TYPED)
    assert result.returncode == 0, f"mypy (pyproject.toml [tool.mypy]):\n{result.stdout[-6000:]}{result.stderr}"


def test_the_import_layers_hold():
    result = _run(str(BIN / "lint-imports"), env={"PYTHONPATH": f"{ROOT / 'functions'}:{ROOT / 'shared' / 'src'}"})
    assert result.returncode == 0, f"lint-imports (pyproject.toml [tool.importlinter]):\n{result.stdout[-6000:]}"
    assert "3 kept, 0 broken" in result.stdout, result.stdout[-2000:]
