"""Debian's Chromium driven by Playwright, and the dashboard's pages as a signed-in user sees them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "web"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"

# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses; --no-sandbox because tests run as root. Playwright gives each
# launch a fresh, empty profile (--user-data-dir).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright, ports: tuple[int, ...] = ()):
    """Headless Debian Chromium; a clear message when it is missing (Playwright's own builds are never used).

    `ports`: the stack's ports the page talks to. Chromium refuses a few ports outright
    (ERR_UNSAFE_PORT, e.g. 6000 for X11); an overridden stack may use one, so they are allowed.
    """
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run ./dev setup (it installs Debian's chromium with apt)")
    args = [*CHROMIUM_ARGS]
    if ports:
        args.append("--explicitly-allowed-ports=" + ",".join(str(p) for p in ports))
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


def sign_in(page, base_url: str, user: Credentials, org_id: str, timeout_ms: float = 30_000) -> None:
    """Open the app, sign in with e-mail and password, and open `org_id`'s dashboard."""
    page.goto(f"{base_url}#/org/{org_id}")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.locator(f"main[data-org='{org_id}'], [data-testid='access-refused']").first.wait_for(timeout=timeout_ms)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/web/ (CI keeps the folder as an artifact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2 A/AA violations of the page with one of `impacts`."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE.relative_to(ROOT)} is missing: run ./dev setup")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => await axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })""")
    return [v for v in result["violations"] if v.get("impact") in impacts]
