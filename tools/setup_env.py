"""Installs everything the project needs from pinned files, skipping steps whose inputs did not change.

Standard library only: it runs before the project's own dependencies exist.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
FUNCTIONS = ROOT / "functions"
FUNCTIONS_VENV = FUNCTIONS / "venv"
TOOLS = ROOT / ".tools"
BQ_VENV = TOOLS / "bqemulator"
STORAGE_VENV = TOOLS / "storage-emulator"
CHECKOV_VENV = TOOLS / "checkov"
CHECKOV_REQUIREMENTS = ROOT / "infra" / "terraform" / "requirements-checkov.txt"
FIRESTORE_LAUNCHER = TOOLS / "firestore-emulator-launcher.jar"
FIRESTORE_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
DEFAULT_SDK_ROOT = Path("/usr/lib/google-cloud-sdk")
# What a step prints when it had nothing to do.
UP_TO_DATE = "up to date"


class SetupError(RuntimeError):
    """A setup step failed; the message says what to do."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The machine-wide pip config points at local mirrors that may not exist on every machine;
    # the project's pins are complete, so use PyPI directly.
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.setdefault("npm_config_update_notifier", "false")
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    return env


def run(command: list[str], cwd: Path = ROOT, what: str = "") -> None:
    """Run a command; on failure show its output tail and stop."""
    result = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise SetupError(f"{what or ' '.join(command)} failed (exit {result.returncode}):\n{tail}")


def digest(paths: Iterable[Path], extra: str = "") -> str:
    """Hash of files' contents (and an extra string): the inputs of a step."""
    sha = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        if path.is_file():
            sha.update(path.name.encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


def _stamp_ok(stamp: Path, value: str) -> bool:
    return stamp.exists() and stamp.read_text() == value


UV = VENV / "bin" / "uv"


def uv_pin() -> str:
    """The uv version requirements-dev.txt pins (the installer of every Python environment)."""
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.strip().startswith("uv=="):
            return line.strip().split("==", 1)[1]
    raise SetupError("requirements-dev.txt does not pin uv (a line uv==X.Y.Z)")


def setup_uv() -> str:
    """uv in .venv at its pinned version: it installs every environment (parallel downloads, fast unpacking).

    pip installed the same pinned files four to five times slower here, mostly in unpacking and
    compiling on two cores.
    """
    pin = uv_pin()
    if UV.exists():
        found = subprocess.run([str(UV), "--version"], capture_output=True, text=True).stdout.split()
        if len(found) > 1 and found[1] == pin:
            return UP_TO_DATE
    run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", f"uv=={pin}"], what=f"installing uv {pin}")
    return f"installed uv {pin}"


def uv_install(python: Path, *arguments: str) -> list[str]:
    """A uv pip install into the environment of `python`, byte-compiled (workers start faster)."""
    return [str(UV), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), *arguments]


def python_venv(path: Path) -> Path:
    """Create a virtual environment (with pip, for tools that call it) if missing; return its python."""
    python = path / "bin" / "python"
    if not python.exists():
        run(
            [str(UV), "venv", "--quiet", "--seed", "--python", sys.executable, str(path)],
            what=f"creating {path.relative_to(ROOT)}",
        )
    return python


def locked_install(python: Path) -> list[str]:
    """Install the functions' lock, every hash checked (functions/requirements.txt, tools/lock_functions.py)."""
    return uv_install(python, "--require-hashes", "--no-deps", "-r", str(FUNCTIONS / "requirements.txt"))


def core_sources() -> list[Path]:
    """Files that make up the core package."""
    return [
        p
        for p in (ROOT / "shared").rglob("*")
        if p.is_file() and "egg-info" not in str(p) and "__pycache__" not in str(p)
    ]


def setup_dev_venv() -> str:
    python = VENV / "bin" / "python"  # created by ./dev itself, with pip (which installed uv)
    inputs = digest([ROOT / "requirements-dev.txt", FUNCTIONS / "requirements.txt", ROOT / "shared" / "pyproject.toml"])
    stamp = VENV / ".installed"
    if _stamp_ok(stamp, inputs):
        return UP_TO_DATE
    # The functions' locked dependencies first (hash-checked), then the tools around them.
    run(locked_install(python), what="installing the functions' locked dependencies into .venv")
    run(uv_install(python, "-r", "requirements-dev.txt", "-e", "shared"), what="installing .venv")
    stamp.write_text(inputs)
    return "installed"


WHEELS = FUNCTIONS / "wheels"


def package_core() -> str:
    """functions/wheels/finance_core-*.whl, rebuilt only when the core's sources changed."""
    stamp = WHEELS / ".built-from"
    inputs = digest(core_sources())
    if _stamp_ok(stamp, inputs) and any(WHEELS.glob("finance_core-*.whl")):
        return UP_TO_DATE
    run(
        [str(VENV / "bin" / "python"), "tools/package_core.py", "--wheel"],
        what="packaging the core into functions/wheels",
    )
    stamp.write_text(inputs)
    wheel = next(WHEELS.glob("finance_core-*.whl"))
    return f"built {wheel.relative_to(ROOT)}"


def setup_functions_venv() -> str:
    """functions/venv with the functions' locked requirements (the core follows in its own step)."""
    python = python_venv(FUNCTIONS_VENV)
    inputs = digest([FUNCTIONS / "requirements.txt"])
    stamp = FUNCTIONS_VENV / ".installed"
    if _stamp_ok(stamp, inputs):
        return UP_TO_DATE
    run(locked_install(python), cwd=FUNCTIONS, what="installing functions/venv (locked, hash-checked)")
    stamp.write_text(inputs)
    return "requirements installed"


def install_core_into_functions() -> str:
    """The core wheel in functions/venv, reinstalled when the core's sources changed."""
    core_stamp = FUNCTIONS_VENV / ".core"
    core_hash = digest(core_sources())
    if _stamp_ok(core_stamp, core_hash):
        return UP_TO_DATE
    wheel = next(WHEELS.glob("finance_core-*.whl"))
    run(
        uv_install(FUNCTIONS_VENV / "bin" / "python", "--reinstall", "--no-deps", str(wheel)),
        cwd=FUNCTIONS,
        what="installing the core wheel into functions/venv",
    )
    core_stamp.write_text(core_hash)
    return "core reinstalled"


def setup_node() -> str:
    if shutil.which("npm") is None:
        raise SetupError("npm is not installed: install Node.js 20+ (it ships npm), then run ./dev setup again")
    lock = ROOT / "package-lock.json"
    stamp = ROOT / "node_modules" / ".installed"
    inputs = digest([lock, ROOT / "package.json"])
    if _stamp_ok(stamp, inputs):
        return UP_TO_DATE
    # --omit=optional: firebase-tools' only optional native module is re2 (through superstatic, the
    # Hosting emulator), which has no prebuilt binary reachable here and would be compiled from
    # source with node-gyp (minutes on two cores); superstatic uses JavaScript's RegExp without it.
    run(
        ["npm", "ci", "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"],
        what="npm ci (firebase-tools, firebase, rules-unit-testing)",
    )
    stamp.write_text(inputs)
    return "installed node_modules"


def setup_web() -> str:
    """web/node_modules: the dashboard's own pinned packages (React, the Firebase SDK, Vite, Vitest, axe-core)."""
    lock = ROOT / "web" / "package-lock.json"
    stamp = ROOT / "web" / "node_modules" / ".installed"
    inputs = digest([lock, ROOT / "web" / "package.json"])
    if _stamp_ok(stamp, inputs):
        return UP_TO_DATE
    # Optional packages stay: they are esbuild's and rollup's prebuilt binaries for this platform.
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT / "web", what="npm ci in web/")
    stamp.write_text(inputs)
    return "installed web/node_modules"


def setup_debian_packages() -> str:
    """Debian's Chromium for the browser tests (Playwright cannot download its own browser builds here), and
    poppler-utils (pdftoppm, pdftotext): the report tests render PDF pages to PNG and read the PDF's text."""
    return debian_packages({"chromium": "chromium", "pdftoppm": "poppler-utils", "pdftotext": "poppler-utils"})


def setup_bigquery_emulator() -> str:
    """The BigQuery emulator in its own environment (its DuckDB pins conflict with nothing else then)."""
    return setup_tool_venv(BQ_VENV, ROOT / "tools" / "stack" / "requirements-bqemulator.txt", _preload_spatial)


def setup_storage_emulator() -> str:
    """The Cloud Storage emulator for report files (the Firebase Storage emulator cannot start offline)."""
    return setup_tool_venv(STORAGE_VENV, ROOT / "tools" / "stack" / "requirements-storage-emulator.txt")


def setup_tool_venv(path: Path, requirements: Path, after: Callable[[Path], None] | None = None) -> str:
    python = python_venv(path)
    inputs = digest([requirements])
    stamp = path / ".installed"
    if _stamp_ok(stamp, inputs):
        return UP_TO_DATE
    run(
        uv_install(python, "-r", str(requirements)),
        what=f"installing {path.relative_to(ROOT)}",
    )
    if after:
        after(python)
    stamp.write_text(inputs)
    return "installed"


def _preload_spatial(python: Path) -> None:
    # bqemulator loads DuckDB's spatial extension at start; importing it once avoids a download.
    code = "import duckdb, duckdb_extensions; duckdb_extensions.import_extension('spatial', con=duckdb.connect())"
    run([str(python), "-c", code], what="pre-loading the DuckDB spatial extension")


def debian_packages(commands: dict[str, str]) -> str:
    """Install the Debian packages providing `commands` (command -> package) when a command is missing."""
    missing = sorted({package for command, package in commands.items() if shutil.which(command) is None})
    if not missing:
        return UP_TO_DATE
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise SetupError(
            f"missing Debian packages: install them as root (apt-get update && apt-get install -y "
            f"{' '.join(missing)}), then run ./dev setup again"
        )
    env = {**_env(), "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", *missing]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
            raise SetupError(f"{' '.join(command)} failed (exit {result.returncode}):\n{tail}")
    return f"installed {', '.join(missing)} with apt"


def sdk_root() -> Path:
    """Install folder of the preinstalled google-cloud-cli."""
    gcloud = shutil.which("gcloud")
    # bin/gcloud sits in the install folder: asking gcloud itself costs a second at every setup.
    if gcloud and (Path(gcloud).resolve().parents[1] / "platform").is_dir():
        return Path(gcloud).resolve().parents[1]
    if gcloud:
        result = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"], capture_output=True, text=True
        )
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    return DEFAULT_SDK_ROOT


def gcloud_emulators() -> tuple[Path, Path]:
    """Paths of the gcloud Firestore emulator jar and Pub/Sub emulator launcher; explain if missing."""
    root = sdk_root()
    firestore_jar = root / "platform" / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
    pubsub = root / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
    missing = [str(p) for p in (firestore_jar, pubsub) if not p.exists()]
    if missing:
        raise SetupError(
            "the google-cloud-cli emulators are missing: " + ", ".join(missing) + ". Install google-cloud-cli with its "
            "components cloud-firestore-emulator and pubsub-emulator (this project does not download them)."
        )
    return firestore_jar, pubsub


def firestore_launcher() -> str:
    firestore_jar, _ = gcloud_emulators()
    manifest = f"Manifest-Version: 1.0\nMain-Class: {FIRESTORE_MAIN_CLASS}\nClass-Path: {firestore_jar.as_uri()}\n\n"
    if FIRESTORE_LAUNCHER.exists():
        with zipfile.ZipFile(FIRESTORE_LAUNCHER) as jar:
            if jar.read("META-INF/MANIFEST.MF").decode() == manifest:
                return UP_TO_DATE
    FIRESTORE_LAUNCHER.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(FIRESTORE_LAUNCHER, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
    return f"wrote {FIRESTORE_LAUNCHER.relative_to(ROOT)} (runs the gcloud Firestore emulator for firebase-tools)"


def check_emulators() -> str:
    gcloud_emulators()
    return UP_TO_DATE


@dataclass(frozen=True)
class Step:
    """One setup step: what it installs, what it does, and the steps whose results it needs."""

    name: str
    title: str
    action: Callable[[], str | None]
    needs: tuple[str, ...] = ()


def steps(include_checkov: bool = True) -> list[Step]:
    """Every setup step. Steps without a dependency between them run at the same time."""
    found = [
        Step("emulators", "google-cloud-cli emulators", check_emulators),
        Step("uv", "uv, the installer of the Python environments", setup_uv),
        Step("venv", "Python environment .venv (tests, tools, demo)", setup_dev_venv, needs=("uv",)),
        Step("core", "core packaged for the functions", package_core, needs=("venv",)),
        Step(
            "functions",
            "Python environment functions/venv (what the Functions emulator runs)",
            setup_functions_venv,
            needs=("uv",),
        ),
        Step(
            "functions-core", "core installed into functions/venv", install_core_into_functions, ("core", "functions")
        ),
        Step("node", "Node packages (firebase-tools, web SDK)", setup_node),
        Step("web", "web dashboard packages (web/node_modules)", setup_web),
        # One apt step: apt-get holds a lock, two at once would fail.
        Step("debian", "Debian packages (Chromium, poppler-utils)", setup_debian_packages),
        Step("bigquery", "BigQuery emulator environment", setup_bigquery_emulator, needs=("uv",)),
        Step("storage", "Cloud Storage emulator environment", setup_storage_emulator, needs=("uv",)),
        Step("launcher", "Firestore emulator launcher", firestore_launcher, needs=("emulators",)),
    ]
    if include_checkov and CHECKOV_REQUIREMENTS.exists():
        found.append(
            Step(
                "checkov",
                "checkov environment",
                lambda: setup_tool_venv(CHECKOV_VENV, CHECKOV_REQUIREMENTS),
                needs=("uv",),
            )
        )
    return found


# Independent installs overlap: most of their time is downloads and unpacking, not CPU.
PARALLEL_STEPS = 4
HEARTBEAT_SECONDS = 15.0


def setup(include_checkov: bool = True) -> set[str]:
    """Run every step (independent ones concurrently); returns the names of the steps that changed something.

    A step that is still running after a second is announced, every step that did something says
    what and how long it took, and every 15 s a line says what is still running; a step with
    nothing to do stays silent, so a warm setup prints one line. On failure the running steps
    finish, then every failure is reported together.
    """
    started = time.monotonic()
    pending = {step.name: step for step in steps(include_checkov)}
    done: dict[str, str] = {}
    failed: dict[str, str] = {}
    running: dict[Future[str | None], tuple[Step, float]] = {}
    announced: set[str] = set()
    last_heartbeat = started
    with ThreadPoolExecutor(max_workers=PARALLEL_STEPS, thread_name_prefix="setup") as pool:
        while pending or running:
            if not failed:
                for step in [s for s in pending.values() if all(n in done for n in s.needs)]:
                    if len(running) >= PARALLEL_STEPS:
                        break
                    del pending[step.name]
                    running[pool.submit(step.action)] = (step, time.monotonic())
            elif not running:
                break
            finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
            now = time.monotonic()
            for future in finished:
                step, step_started = running.pop(future)
                try:
                    outcome = future.result() or "done"
                except SetupError as exc:
                    failed[step.name] = f"{step.title}: {exc}"
                    outcome = "FAILED"
                done[step.name] = outcome
                if outcome != UP_TO_DATE or step.name in announced:
                    print(f"    {step.title}: {outcome} ({now - step_started:.1f}s)", flush=True)
            for step, step_started in running.values():
                if step.name not in announced and now - step_started >= 1.0:
                    announced.add(step.name)
                    print(f"==> {step.title} ...", flush=True)
            if running and now - last_heartbeat >= HEARTBEAT_SECONDS:
                last_heartbeat = now
                busy = ", ".join(f"{s.title.split(' (')[0]} {now - t:.0f}s" for s, t in running.values())
                print(f"    ... still working: {busy}", flush=True)
    if failed:
        skipped = [step.title for step in pending.values()]
        tail = f"\n(not started because of it: {', '.join(skipped)})" if skipped else ""
        raise SetupError("\n".join(failed.values()) + tail)
    changed = {name for name, outcome in done.items() if outcome != UP_TO_DATE}
    summary = "" if changed else ": everything up to date"
    print(f"setup complete in {time.monotonic() - started:.1f}s{summary}", flush=True)
    return changed


if __name__ == "__main__":
    try:
        setup()
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        sys.exit(1)
