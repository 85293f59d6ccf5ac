"""`make bench PROFILE=...`: the whole benchmark, unattended, on one profile.

    .venv/bin/python -m bench.run --profile redis [--out docs/benchmarks] [--smoke]

Starts the backing services, times `make run` until ready, then starts the shop as
bench/shop.py describes and runs browse, the checkout sweep (open loop, bench/checkout.py),
price changes through the gateway's cache (bench/freshness.py), the storefront's first
page in Debian's chromium (bench/storefront.py), events, the checkout in
both of orders' styles with a crash of orders in each (bench/checkout_styles.py), and the
catalog at 100,000 products (bench/catalog_scale.py), sampling every process's memory
during browse and the checkout sweep.
Writes <out>/<profile>.json, .md, -browse.png and -checkout.png, and regenerates
<out>/README.md from every profile's JSON there. --smoke runs each part for a moment (the
test suite uses it to keep the harness working); its figures mean nothing.
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.browse import run_browse, sidecar_tax
from bench.catalog_scale import run_catalog_scale
from bench.checkout import run_checkout
from bench.checkout_styles import run_checkout_styles
from bench.events import run_events
from bench.footprint import PeakMemory, resident_mb, time_make_run
from bench.freshness import run_freshness
from bench.shop import BenchShop
from bench.storefront import run_storefront
from bench.wrk import wrk_binary
from tests.browser import chromium_path, require_storefront
from tests.system.launcher import DAPRD, PROFILES, ROOT


@dataclass(frozen=True)
class Plan:
    concurrency: list[int]
    browse_seconds: float
    # Checkout, open loop: arrival rates (per second) swept in order, each for this long.
    checkout_rates: list[float]
    checkout_seconds: float
    events: int
    events_rate: float
    time_make_run: bool
    # Price changes timed through the gateway's cache; the large catalog's size.
    price_changes: int
    catalog_products: int
    # Both checkout styles: the same open-loop rates for each, each for this long; then
    # checkouts at crash_rate for crash_seconds, the orders app killed kill_after in.
    style_rates: list[float]
    style_seconds: float
    crash_rate: float
    crash_seconds: float
    kill_after: float
    # The storefront's first page: cold loads (each with a warm one) and bare ones.
    storefront_loads: int


FULL = Plan(
    [1, 8, 32, 64], 6, [10, 20, 30, 40, 60, 80], 15, 1000, 100, True, 20, 100_000,
    [10, 20, 30], 15, 10, 6, 2, 20,
)  # fmt: skip
SMOKE = Plan([1, 4], 1, [2, 4], 2, 10, 20, False, 2, 300, [2], 2, 2, 2, 1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="redis")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    parser.add_argument("--smoke", action="store_true", help="seconds, not minutes")
    args = parser.parse_args()
    # Stopped from outside (a timeout, `kill`): stop the shop it started on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = SMOKE if args.smoke else FULL
    wrk_binary()
    # Before minutes of measuring: the storefront scenario needs both.
    require_storefront()
    chromium_path()
    subprocess.run([ROOT / "tools" / "infra.sh", "up", args.profile], check=True)
    started = time.monotonic()
    result = measure(args.profile, plan)
    result["run_seconds"] = round(time.monotonic() - started)
    args.out.mkdir(parents=True, exist_ok=True)
    report.write(args.out, result)
    print(f"benchmark of '{args.profile}' written to {args.out} in {result['run_seconds']}s")


def measure(profile: str, plan: Plan) -> dict[str, Any]:
    startup = time_make_run(profile) if plan.time_make_run else None
    if startup:
        print(f"  make run: every service ready in {startup['all_ready_seconds']}s", flush=True)
        time.sleep(6)  # the name resolver forgets the stopped apps after 5 s
    shop = BenchShop(profile)
    shop.start()
    try:
        processes = shop.processes()
        time.sleep(3)  # let start-up settle before calling it idle
        idle = resident_mb(processes)
        with PeakMemory(processes) as peak:
            browse = run_browse(shop, plan.concurrency, plan.browse_seconds, processes)
            checkout = run_checkout(shop, plan.checkout_rates, plan.checkout_seconds)
        admin_token = json.loads((ROOT / ".data" / "secrets.json").read_text())[
            "catalog-admin-token"
        ]
        freshness = run_freshness(shop, admin_token, plan.price_changes)
        storefront = run_storefront(shop, plan.storefront_loads)
        events = run_events(shop, plan.events, plan.events_rate)
        # It restarts orders (into each style, and back to the default at the end).
        styles = run_checkout_styles(
            shop, plan.style_rates, plan.style_seconds,
            plan.crash_rate, plan.crash_seconds, plan.kill_after,
        )  # fmt: skip
        # Last: it restarts the catalog (twice), which would disturb what follows.
        catalog = run_catalog_scale(shop, admin_token, plan.catalog_products, plan.browse_seconds)
    finally:
        shop.stop()
    return {
        "profile": profile,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        # A run from an export of the tree (no .git) is told its commit.
        "commit": os.environ.get("SHOP_GIT_COMMIT") or _git("rev-parse", "--short", "HEAD"),
        "smoke": plan is SMOKE,
        "machine": machine(),
        "plan": plan.__dict__,
        "browse": browse,
        "sidecar_tax": sidecar_tax(browse),
        "checkout": checkout,
        "checkout_styles": styles,
        "price_change": freshness,
        "storefront": storefront,
        "catalog_scale": catalog,
        "events": events,
        "memory_mb": {"idle": idle, "peak_under_load": peak.peak},
        "startup": startup,
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    meminfo = Path("/proc/meminfo").read_text().split()
    daprd = subprocess.run([DAPRD, "--version"], capture_output=True, text=True, check=False)
    return {
        "cpu": model,
        "cores": len([line for line in cpuinfo.splitlines() if line.startswith("processor")]),
        "memory_gib": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "daprd": daprd.stdout.strip(),
    }


def _git(*args: str) -> str:
    answer = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return answer.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
