"""Debian's chromium driven by Playwright, for the browser tests and the storefront
benchmark. Never a browser Playwright downloads: `make browser` installs this one."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "storefront" / "dist"
AXE = ROOT / "storefront" / "node_modules" / "axe-core" / "axe.min.js"


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("chromium is not installed: run `make browser` (apt install chromium)")
    return found


def require_storefront(dist: Path = DIST) -> None:
    """The storefront built into `dist` (its page and script), and axe-core installed."""
    built = (dist / "index.html").is_file() and any((dist / "assets").glob("*.js"))
    if not built or not AXE.is_file():
        raise RuntimeError(f"the storefront is not built in {dist}: run `make storefront`")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless chromium; --no-sandbox because the tests may run as root, which
    chromium's sandbox refuses."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each.
    The page's context must load axe first: `context.add_init_script(path=AXE)` (a script
    tag would break the pages' Content-Security-Policy, an init script does not)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        raise RuntimeError("axe-core is not loaded: context.add_init_script(path=str(AXE))")
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
