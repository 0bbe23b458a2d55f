"""Predeploy step: build the pure core (shared/) into a wheel under functions/wheels/ for the functions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "shared"
WHEELS = ROOT / "functions" / "wheels"


def build_core_wheel(quiet: bool = True) -> Path:
    """Build shared/ into functions/wheels/ and return the wheel's path (replacing older builds)."""
    if WHEELS.exists():
        shutil.rmtree(WHEELS)
    WHEELS.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation" if _has_setuptools() else "",
               "--wheel-dir", str(WHEELS), str(CORE)]
    command = [part for part in command if part]
    if quiet:
        command.insert(4, "-q")
    subprocess.run(command, check=True, env=_pip_env())
    for leftover in (CORE / "build",):
        shutil.rmtree(leftover, ignore_errors=True)
    for egg_info in (CORE / "src").glob("*.egg-info"):
        shutil.rmtree(egg_info, ignore_errors=True)
    wheels = sorted(WHEELS.glob("finance_core-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one core wheel in {WHEELS}, found {[w.name for w in wheels]}")
    return wheels[0]


def _has_setuptools() -> bool:
    try:
        import setuptools  # noqa: F401
    except ImportError:
        return False
    return True


def _pip_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env


if __name__ == "__main__":
    wheel = build_core_wheel(quiet=False)
    print(f"core packaged for the functions: {wheel.relative_to(ROOT)}")
