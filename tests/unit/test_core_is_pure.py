"""The core stays pure: only the standard library, pydantic, numpy and lark, never google/firebase/grpc/requests."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import finance_core

CORE = Path(finance_core.__file__).resolve().parent
SHARED = CORE.parents[1]
# lark parses the metric expression language (finance_core.metric_language).
ALLOWED_THIRD_PARTY = {"pydantic", "numpy", "lark"}
FORBIDDEN = ("google", "firebase", "firebase_admin", "firebase_functions", "grpc", "requests")


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def imported_roots(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the source, wherever it is written."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def dynamic_imports(source: str, filename: str = "<source>") -> list[int]:
    """Lines calling __import__ or importlib.import_module, which a static check cannot follow."""
    lines = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in {"__import__", "import_module"}:
                lines.append(node.lineno)
    return lines


def violations(source: str, filename: str = "<source>") -> list[str]:
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | {"finance_core", "__future__"}
    problems = []
    for line, root in imported_roots(source, filename):
        if root in FORBIDDEN:
            problems.append(f"{filename}:{line} imports {root} (cloud code belongs in functions/, not the core)")
        elif root not in allowed:
            problems.append(f"{filename}:{line} imports {root}, outside stdlib + pydantic + numpy")
    problems += [f"{filename}:{line} imports dynamically" for line in dynamic_imports(source, filename)]
    return problems


def test_the_checker_catches_forbidden_and_unknown_imports():
    source = (
        "import os\nimport numpy as np\nfrom pydantic import BaseModel\nfrom . import money\n"
        "import google.cloud.firestore\nfrom firebase_admin import firestore\nimport grpc\n"
        "def f():\n    import requests\n    from pandas import DataFrame\n    return __import__('x')\n"
    )
    found = violations(source)
    assert len(found) == 6, found
    assert any("imports google" in v for v in found) and any("imports firebase_admin" in v for v in found)
    assert any("imports grpc" in v for v in found) and any("imports requests" in v for v in found)
    assert any("imports pandas, outside" in v for v in found) and any("dynamically" in v for v in found)


def test_every_core_module_imports_only_stdlib_pydantic_and_numpy():
    modules = core_modules()
    assert len(modules) >= 15, f"expected the core's modules under {CORE}, found {len(modules)}"
    problems = [v for path in modules for v in violations(path.read_text(), str(path.relative_to(CORE)))]
    assert problems == [], "\n".join(problems)


def test_the_core_package_declares_only_pydantic_and_numpy():
    project = tomllib.loads((SHARED / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip() for dep in project["dependencies"]}
    assert names == ALLOWED_THIRD_PARTY


# The venv's *-nspkg.pth files create empty `google` / `google.cloud` namespace modules at
# interpreter start-up, before any import: what counts is what importing the core adds.
IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
import finance_core
names = [m.name for m in pkgutil.walk_packages(finance_core.__path__, "finance_core.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "added": sorted(set(sys.modules) - before)}))
"""


def test_importing_the_whole_core_loads_no_cloud_module():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORT_EVERYTHING],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=SHARED,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    expected = {f"finance_core.{p.stem}" for p in core_modules() if p.stem != "__init__"}
    assert expected <= set(report["imported"]), "every core module was imported"
    added = report["added"]
    assert "pydantic" in added and "numpy" in added, "the diff of sys.modules sees what the core loads"
    cloud = [m for m in added if m.split(".")[0] in FORBIDDEN]
    assert cloud == [], f"importing finance_core loaded {cloud}"
    # -X importtime lists every module actually imported, including ones a sys.modules cleanup hides.
    timed = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert any(name.startswith("finance_core") for name in timed), "the import-time trace was captured"
    assert not [name for name in timed if name.split(".")[0] in FORBIDDEN]
