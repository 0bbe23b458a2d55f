"""Packaging the pure core (shared/) for the functions.

- Predeploy step (firebase.json): `python3 tools/package_core.py` copies the core's source into
  functions/finance_core/, so the deployed folder carries it as a plain package and
  functions/requirements.txt stays a lock of PyPI packages with hashes only (a local wheel in it
  could not be hash-checked). The postdeploy step (`--clean`) removes the copy again, so the local
  emulator keeps using the core installed in functions/venv.
- `--wheel`: builds the core into functions/wheels/ (./dev setup installs it into functions/venv).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "shared"
WHEELS = ROOT / "functions" / "wheels"
VENDORED = ROOT / "functions" / "finance_core"


def build_core_wheel(quiet: bool = True) -> Path:
    """Build shared/ into functions/wheels/ and return the wheel's path (replacing older builds)."""
    if WHEELS.exists():
        shutil.rmtree(WHEELS)
    WHEELS.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation" if _has_setuptools() else "",
        "--wheel-dir",
        str(WHEELS),
        str(CORE),
    ]
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


def vendor_core(target: Path = VENDORED) -> Path:
    """Copy the core's source (with its data files, without caches) to `target` for deployment."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(CORE / "src" / "finance_core", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def clean_vendored(target: Path = VENDORED) -> None:
    """Remove the deployment copy (after the deploy)."""
    shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    if "--wheel" in sys.argv[1:]:
        wheel = build_core_wheel(quiet=False)
        print(f"core packaged for the functions' local venv: {wheel.relative_to(ROOT)}")
    elif "--clean" in sys.argv[1:]:
        clean_vendored()
        print(f"removed {VENDORED.relative_to(ROOT)}")
    else:
        print(f"core copied into the deployed folder: {vendor_core().relative_to(ROOT)}")
