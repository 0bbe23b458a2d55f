"""The web dashboard (web/): build it for the Hosting emulator, and where the local stack serves it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from tools.setup_env import ROOT, SetupError, digest

WEB = ROOT / "web"
DIST = WEB / "dist"
_STAMP = DIST / ".built-from"


def _inputs() -> str:
    files = [p for p in (WEB / "src").rglob("*") if p.is_file()]
    files += [WEB / name for name in ("index.html", "vite.config.ts", "package.json", "package-lock.json")]
    # Paths are part of the digest: a renamed file changes the build too.
    return digest(files, extra="|".join(sorted(str(p.relative_to(WEB)) for p in files)))


def build(progress: Callable[[str], None] = print, force: bool = False) -> bool:
    """Build web/dist unless it is already built from the current sources; True when it built.

    The build holds no address or port: the app reads its Firebase config and the emulators'
    addresses from the Hosting server at run time, so one build serves any stack.
    """
    vite = WEB / "node_modules" / ".bin" / "vite"
    if not vite.exists():
        raise SetupError("web/node_modules is missing: run ./dev setup")
    inputs = _inputs()
    if not force and (DIST / "index.html").exists() and _STAMP.exists() and _STAMP.read_text() == inputs:
        return False
    progress("building the web dashboard (web/dist)")
    shutil.rmtree(DIST, ignore_errors=True)
    result = subprocess.run([str(vite), "build", "--logLevel", "warn"], cwd=WEB, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise SetupError(f"the web dashboard did not build (cd web && npx vite build):\n{tail}")
    _STAMP.write_text(inputs)
    return True


def bundle_sizes() -> dict[str, int]:
    """Bytes of each built JavaScript and CSS file, raw and gzip-compressed."""
    import gzip

    sizes = {}
    for path in sorted((DIST / "assets").glob("*")):
        if path.suffix in (".js", ".css"):
            data = path.read_bytes()
            sizes[path.name] = len(data)
            sizes[f"{path.name} (gzip)"] = len(gzip.compress(data, 9))
    return sizes
