"""The storefront's first page as a shopper's browser loads it from the shop's gateway:
Debian's chromium through Playwright (tests/browser.py), timed by the browser's own
navigation timing. "Usable" is the catalog's `shop:catalog-ready` mark
(storefront/src/pages/Catalog.tsx), set once the first page of products is on the page;
like every navigation-timing figure it counts from the start of the navigation.

- `cold`: a fresh browser context per load: an empty HTTP cache, no open connection;
- `warm`: a second page in that same context: the assets (named by their content,
  cached for a year) come from its cache; the page (no-cache) and the listing are asked
  again;
- `bare`, the baseline: the same page from the same gateway in a fresh context with
  JavaScript off: the HTML and the stylesheet only (the page says it needs JavaScript).
  The ratio usable / bare load is what the app's JavaScript costs above the page
  itself: fetching and running the script, its calls to the API, drawing the products.

Loads alternate bare and storefront so that the machine's noise falls on both; one load
of each is made first and not counted (chromium's first renderer, the gateway's cache).
Also the built JavaScript and CSS, raw and gzipped, against the page-weight budget.

    .venv/bin/python -m bench.storefront --profile redis [--loads 20]   # this scenario alone
"""

import argparse
import gzip
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.shop import BenchShop
from tests.browser import DIST, chromium, require_storefront
from tests.system.launcher import PROFILES

MARK = "shop:catalog-ready"
TARGET_MS = 1000  # the first page usable within 1 s
BUDGET_GZIP_KB = 150  # the built JavaScript and CSS, gzipped
DEADLINE_MS = 15_000  # for the mark: the app's own deadline for an API call
PHASES = ("response_start_ms", "dom_content_loaded_ms", "load_ms")

NAVIGATION = """() => {
  const [nav] = performance.getEntriesByType("navigation");
  const resources = performance.getEntriesByType("resource");
  return {
    response_start_ms: nav.responseStart,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    load_ms: nav.loadEventEnd,
    transfer_bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
    // Over the network: not from the cache, nor left unsent (a script with JavaScript off).
    fetched: [nav, ...resources].filter((r) => r.transferSize > 0).length,
  };
}"""
MARKED = f"() => performance.getEntriesByName({json.dumps(MARK)}).length > 0"
USABLE = f"() => performance.getEntriesByName({json.dumps(MARK)})[0].startTime"


def run_storefront(shop: BenchShop, loads: int) -> dict[str, Any]:
    """The scenario against the shop's own gateway (its cache as shipped)."""
    result = measure(shop.sidecars["gateway"].app_url, loads)
    cold, warm = result["cold"]["usable_ms"], result["warm"]["usable_ms"]
    print(
        f"  storefront usable: cold p50 {cold['p50']:.0f} ms p95 {cold['p95']:.0f} ms, "
        f"warm p50 {warm['p50']:.0f} ms; bare page {result['bare']['load_ms']['p50']:.0f} ms; "
        f"JS+CSS {result['assets']['total_gzip_kb']:.1f} kB gzipped",
        flush=True,
    )
    return result


def measure(base_url: str, loads: int, dist: Path = DIST) -> dict[str, Any]:
    """`loads` cold loads of the storefront at `base_url`, each followed by a warm one,
    alternating with bare loads; figures in milliseconds from the navigation's start."""
    require_storefront(dist)
    served = _served_page(base_url)
    if served != (dist / "index.html").read_text():
        raise RuntimeError(
            f"{base_url}/ does not serve {dist}/index.html: run `make storefront`, and "
            "check the gateway's STOREFRONT_DIR (relative to its working directory)"
        )
    samples: dict[str, list[dict[str, float]]] = {"cold": [], "warm": [], "bare": []}
    with chromium() as browser:
        _bare(browser, base_url)  # not counted: the first renderer, the cache's first miss
        _storefront(browser, base_url)
        for _ in range(loads):
            samples["bare"].append(_bare(browser, base_url))
            cold, warm = _storefront(browser, base_url)
            samples["cold"].append(cold)
            samples["warm"].append(warm)
    return summarise(samples, loads) | {"assets": asset_sizes(dist)}


def _served_page(base_url: str) -> str:
    try:
        answer = httpx.get(f"{base_url}/", timeout=10)
    except httpx.TransportError as exc:
        raise RuntimeError(f"the gateway at {base_url} does not answer: {exc!r}") from exc
    return answer.text if answer.status_code == 200 else f"HTTP {answer.status_code}"


def _storefront(browser: Browser, base_url: str) -> tuple[dict[str, float], dict[str, float]]:
    context = browser.new_context()
    try:
        cold = _load(context.new_page(), base_url)
        warm = _load(context.new_page(), base_url)
    finally:
        context.close()
    return cold, warm


def _load(page: Page, base_url: str) -> dict[str, float]:
    page.goto(f"{base_url}/", wait_until="load")
    try:
        page.wait_for_function(MARKED, timeout=DEADLINE_MS)
    except PlaywrightTimeout:
        shown = page.inner_text("body")[:300]
        raise RuntimeError(
            f"the catalog never marked {MARK} within {DEADLINE_MS / 1000:g}s at {base_url}/; "
            f"the page showed: {shown!r}"
        ) from None
    timing: dict[str, float] = page.evaluate(NAVIGATION)
    timing["usable_ms"] = page.evaluate(USABLE)
    page.close()
    return timing


def _bare(browser: Browser, base_url: str) -> dict[str, float]:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{base_url}/", wait_until="load")
        timing: dict[str, float] = page.evaluate(NAVIGATION)  # Playwright's own world
    finally:
        context.close()
    return timing


# --- figures --------------------------------------------------------------------------


def nearest_rank(values: list[float], p: float) -> float:
    """The p-th percentile by the nearest-rank method (bench/stats.py's)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: list[float]) -> dict[str, float]:
    if not values:
        raise ValueError("no values: nothing was measured")
    return {
        "p50": round(nearest_rank(values, 50), 1),
        "p95": round(nearest_rank(values, 95), 1),
        "max": round(max(values), 1),
    }


def summarise(samples: dict[str, list[dict[str, float]]], loads: int) -> dict[str, Any]:
    def kind(name: str, keys: tuple[str, ...]) -> dict[str, Any]:
        rows = samples[name]
        figures: dict[str, Any] = {key: spread([r[key] for r in rows]) for key in keys}
        figures["transfer_kb"] = round(
            statistics.median(r["transfer_bytes"] for r in rows) / 1000, 1
        )
        figures["fetched"] = round(statistics.median(r["fetched"] for r in rows))
        return figures

    cold = kind("cold", (*PHASES, "usable_ms"))
    warm = kind("warm", (*PHASES, "usable_ms"))
    bare = kind("bare", PHASES)
    bare_load = max(bare["load_ms"]["p50"], 1e-9)
    return {
        "loads": loads,
        "target_ms": TARGET_MS,
        "cold": cold,
        "warm": warm,
        "bare": bare,
        # Usable (the median load) over the median bare page's load.
        "ratio_to_bare": {
            "cold": round(cold["usable_ms"]["p50"] / bare_load, 2),
            "warm": round(warm["usable_ms"]["p50"] / bare_load, 2),
        },
        # Each load's phases, for the arithmetic of a miss: the loads at the median and
        # at the p95 rank of usable, cold.
        "cold_at": {
            "p50": _phases_of(samples["cold"], 50),
            "p95": _phases_of(samples["cold"], 95),
        },
        "usable_samples_ms": {
            "cold": [round(r["usable_ms"], 1) for r in samples["cold"]],
            "warm": [round(r["usable_ms"], 1) for r in samples["warm"]],
        },
    }


def _phases_of(rows: list[dict[str, float]], p: float) -> dict[str, float]:
    ordered = sorted(rows, key=lambda r: r["usable_ms"])
    row = ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
    return {key: round(row[key], 1) for key in (*PHASES, "usable_ms")}


def asset_sizes(dist: Path = DIST) -> dict[str, Any]:
    """The built JavaScript and CSS (storefront/dist/assets), raw and gzipped (level 9,
    Python's gzip; the gateway sends them uncompressed) in kB of 1000 bytes."""
    sizes: dict[str, Any] = {}
    for ext in ("js", "css"):
        files = sorted((dist / "assets").glob(f"*.{ext}"))
        raw = [f.read_bytes() for f in files]
        sizes[ext] = {
            "files": len(files),
            "raw_kb": round(sum(len(b) for b in raw) / 1000, 1),
            "gzip_kb": round(sum(len(gzip.compress(b)) for b in raw) / 1000, 1),
        }
    sizes["total_gzip_kb"] = round(sizes["js"]["gzip_kb"] + sizes["css"]["gzip_kb"], 1)
    sizes["budget_gzip_kb"] = BUDGET_GZIP_KB
    return sizes


def main() -> None:
    """This scenario alone, on a bench shop of its own; prints the figures (JSON) and
    writes nothing: `make bench` writes the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="redis")
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    require_storefront()
    shop = BenchShop(args.profile)
    shop.start()
    try:
        time.sleep(3)  # let start-up settle, as bench/run.py does
        result = run_storefront(shop, args.loads)
    finally:
        shop.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
