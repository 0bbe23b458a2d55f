"""The firebase-tools preload refuses to run on anything but the firebase-tools it was checked against.

tools/stack/worker_connections.cjs changes how firebase-tools talks to its Python workers. Node runs it
here against a fake project (package.json, package-lock.json, a node_modules with a firebase-tools
whose sources hold, or no longer hold, what the preload relies on): it loads and does its work on
the pinned layout, and stops with a message naming each change otherwise. The last test loads it on
the project's real node_modules.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRELOAD = ROOT / "tools" / "stack" / "worker_connections.cjs"
PINNED = "15.34.2"

EMULATOR = """\
const http = require("http");
const portfinder = require("portfinder");
class TCPConn {
    constructor(host, port) { this.host = host; this.port = port; }
    httpReqOpts() {
        return { host: this.host, port: this.port };
    }
}
exports.TCPConn = TCPConn;
class FunctionsEmulator {
    async startPython(backend, envs) {
        const port = await portfinder.getPortPromise({ port: 8081 });
        return port;
    }
    async startDart(backend, envs) {}
}
"""
WORKER = """\
const http = require("http");
function send(reqOpts) { return http.request(reqOpts, () => {}); }
"""
# A portfinder that always offers the port asked for: the preload must still never hand one out twice.
PORTFINDER = "exports.getPortPromise = async (options) => options.port;\n"

# Loads the preload, then asks twice for the same start port.
PROBE = """
require("./tools/stack/worker_connections.cjs");
const tools = require("path").dirname(require.resolve("firebase-tools/package.json"));
const portfinder = require(require.resolve("portfinder", {paths: [tools]}));
(async () => {
  const ports = [await portfinder.getPortPromise({port: 9000}), await portfinder.getPortPromise({port: 9000})];
  console.log(JSON.stringify({ports, keepAlive: require("http").globalAgent.keepAlive}));
})();
"""


def _project(
    tmp_path: Path,
    *,
    installed: str = PINNED,
    locked: str = PINNED,
    emulator: str = EMULATOR,
    worker: str = WORKER,
    portfinder: str | None = PORTFINDER,
) -> Path:
    (tmp_path / "tools" / "stack").mkdir(parents=True)
    shutil.copy(PRELOAD, tmp_path / "tools" / "stack" / PRELOAD.name)
    (tmp_path / "package.json").write_text(json.dumps({"devDependencies": {"firebase-tools": PINNED}}))
    lock = {"packages": {"node_modules/firebase-tools": {"version": locked}}}
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    tools = tmp_path / "node_modules" / "firebase-tools"
    (tools / "lib" / "emulator").mkdir(parents=True)
    (tools / "package.json").write_text(json.dumps({"name": "firebase-tools", "version": installed}))
    (tools / "lib" / "emulator" / "functionsEmulator.js").write_text(emulator)
    (tools / "lib" / "emulator" / "functionsRuntimeWorker.js").write_text(worker)
    if portfinder is not None:
        (tmp_path / "node_modules" / "portfinder").mkdir(parents=True)
        (tmp_path / "node_modules" / "portfinder" / "index.js").write_text(portfinder)
    return tmp_path


def _load(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", "-e", PROBE], cwd=project, capture_output=True, text=True, timeout=60)


def test_on_the_pinned_layout_it_loads_and_never_hands_out_a_port_twice(tmp_path):
    result = _load(_project(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ports": [9000, 9001], "keepAlive": False}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"installed": "15.35.0"},
            "firebase-tools 15.35.0 is installed, but this preload was checked against the pinned 15.34.2",
        ),
        (
            {"locked": "15.35.0", "installed": "15.35.0"},
            "package.json pins firebase-tools 15.34.2 but package-lock.json locks 15.35.0",
        ),
        ({"portfinder": "exports.getPort = async () => 1;\n"}, "portfinder.getPortPromise is not a function"),
        ({"portfinder": None}, "portfinder cannot be resolved from firebase-tools"),
        (
            {"emulator": EMULATOR.replace("portfinder.getPortPromise({ port: 8081 })", "pickPort()")},
            "startPython (lib/emulator/functionsEmulator.js) no longer takes its port from portfinder.getPortPromise",
        ),
        ({"emulator": EMULATOR.replace("async startPython(", "async launchPython(")}, "has no startPython method"),
        (
            {"emulator": EMULATOR.replace("{ host: this.host, port: this.port }", "{ host: this.host, agent: pool }")},
            "TCPConn.httpReqOpts (lib/emulator/functionsEmulator.js) now sets an HTTP agent of its own",
        ),
        (
            {"worker": WORKER.replace("http.request(", "fetch(")},
            "lib/emulator/functionsRuntimeWorker.js no longer sends worker requests with http.request",
        ),
    ],
)
def test_a_changed_firebase_tools_stops_the_emulators_with_a_message_naming_what_changed(tmp_path, change, message):
    result = _load(_project(tmp_path, **change))
    assert result.returncode == 1 and not result.stdout
    assert message in result.stderr
    assert "tools/stack/worker_connections.cjs: firebase-tools is not the version" in result.stderr
    assert "Run ./dev setup to install the pinned version" in result.stderr


def test_every_change_is_named_at_once(tmp_path):
    result = _load(_project(tmp_path, installed="16.0.0", portfinder=None))
    assert result.returncode == 1
    assert "firebase-tools 16.0.0 is installed" in result.stderr and "portfinder cannot be resolved" in result.stderr


def test_the_projects_own_firebase_tools_passes_the_checks():
    result = subprocess.run(
        ["node", "-e", 'require("./tools/stack/worker_connections.cjs")'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["firebase-tools"]
    assert json.loads((ROOT / "node_modules" / "firebase-tools" / "package.json").read_text())["version"] == pinned
