"""The benchmark harness, run for seconds on the redis profile: it must start the shop,
drive every scenario and write well-formed results. Its figures are not asserted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.browse import ENDPOINTS, MODES
from bench.catalog_scale import QUERIES
from bench.run import SMOKE
from tests.system.launcher import ROOT, SERVICES

pytestmark = pytest.mark.system


def test_a_smoke_run_writes_well_formed_results(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--profile",
            "redis",
            "--smoke",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads((tmp_path / "redis.json").read_text())
    assert result["smoke"] is True and result["profile"] == "redis"

    browse = result["browse"]
    assert {(r["endpoint"], r["mode"], r["concurrency"]) for r in browse} == {
        (e, m, c) for e in ENDPOINTS for m in MODES for c in SMOKE.concurrency
    }
    for row in browse:
        assert row["requests"] > 0 and row["rps"] > 0, row
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"], row
        assert row["sidecar_cpu_ms_per_request"] >= 0 and row["app_cpu_ms_per_request"] > 0
    assert len(result["sidecar_tax"]) == len(ENDPOINTS) * len(SMOKE.concurrency)

    sweep = result["checkout"]
    assert [s["offered_per_second"] for s in sweep["steps"]] == SMOKE.checkout_rates, sweep
    for step in sweep["steps"]:
        assert step["offered"] == round(step["offered_per_second"] * SMOKE.checkout_seconds)
        assert step["paid"] == step["offered"] and step["failed"] == 0, step
        assert 0 < step["end_to_end_ms"]["p50"] <= step["end_to_end_ms"]["p99"], step
        assert 0 < step["post_ms"]["p50"] <= step["end_to_end_ms"]["p50"], step
        cpu = step["cpu_ms_per_checkout"]["by_group"]
        assert set(cpu) == {"apps", "sidecars", "broker + store"} and cpu["apps"] > 0, cpu
    styles = result["checkout_styles"]["styles"]
    assert set(styles) == {"choreography", "workflow"}, styles
    for style, measured in styles.items():
        steps = measured["sweep"]["steps"]
        assert [s["offered_per_second"] for s in steps] == SMOKE.style_rates, (style, steps)
        for step in steps:
            assert step["paid"] == step["offered"] and step["failed"] == 0, (style, step)
            assert 0 < step["post_ms"]["p50"] <= step["end_to_end_ms"]["p50"], (style, step)
            assert step["cpu_ms_per_checkout"]["by_group"]["apps"] > 0, (style, step)
        crash = measured["crash"]
        assert crash["offered"] == round(SMOKE.crash_rate * SMOKE.crash_seconds), (style, crash)
        assert crash["accepted"] + crash["not_accepted"] == crash["offered"], (style, crash)
        assert crash["accepted"] > 0 and crash["orders_ready_seconds"] > 0, (style, crash)
        # Settled or not, every accepted order is counted once.
        assert crash["paid"] + crash["cancelled"] + crash["unsettled"] == crash["accepted"]
        assert (crash["settled_seconds"] is None) == (crash["unsettled"] > 0), (style, crash)
    for case in ("direct", "one_subscriber", "fanout_to_three"):
        events = result["events"][case]
        assert events["messages"] == SMOKE.events and 0 < events["p50"] <= events["p99"], case

    seen = result["price_change"]
    assert seen["changes"] == SMOKE.price_changes and set(seen["seen_ms"]) == {"product", "listing"}
    scale = result["catalog_scale"]
    assert scale["large"]["products"] >= SMOKE.catalog_products > scale["small"]["products"]
    for size in ("small", "large"):
        rows = scale[size]["browse"]
        assert {(r["endpoint"], r["mode"]) for r in rows} == {
            (q, m) for q in QUERIES for m in ("sidecars", "catalog")
        }
        assert all(r["rps"] > 0 and r["errors"] == 0 for r in rows), rows

    services = set(SERVICES)
    idle = result["memory_mb"]["idle"]
    extra_gateways = {"gateway-uncached", "gateway-direct"}
    assert set(idle) == services | {f"{s}-sidecar" for s in services} | extra_gateways
    assert all(mb > 1 for mb in idle.values())

    page = (tmp_path / "redis.md").read_text()
    assert "## A catalog that scales" in page and "## Price change through the cache" in page
    assert "## Browse" in page and "## Checkout, open loop" in page and "## Events" in page
    assert "## Checkout styles: choreography and workflow" in page
    readme = (tmp_path / "README.md").read_text()
    assert "| target | goal | measured | met |" in readme and "Checkout styles (" in readme
    for plot in ("browse", "checkout"):
        assert (tmp_path / f"redis-{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
