"""Runs the Firestore security-rules and index tests (Node, tests/rules/) against the session's emulator."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.emulators


def test_security_rules_and_indexes(firestore_emulator) -> None:
    """`node --test tests/rules/` passes: the rules matrix and the documented dashboard queries.

    The Node tests use their own random org ids and never clear the database, so they can share
    the emulator with the rest of the session.
    """
    node = shutil.which("node")
    assert node, "node (>= 20) is not on PATH: it runs the rules tests (tests/rules/)"
    assert (ROOT / "node_modules" / "@firebase" / "rules-unit-testing").is_dir(), (
        "node_modules is missing @firebase/rules-unit-testing: run `python3 tools/setup_env.py` (npm ci)"
    )
    env = {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
        "GCLOUD_PROJECT": firestore_emulator.project_id,
    }
    result = subprocess.run(
        [node, "--test", "tests/rules/"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"node --test tests/rules/ failed (exit {result.returncode}) against {firestore_emulator.host}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
