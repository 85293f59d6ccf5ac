"""The checkout sweep's verdicts and report, on made-up steps (no shop needed)."""

from pathlib import Path
from typing import Any

from bench.checkout import stop_reason, sustained
from bench.report import checkout_section, plot_checkout, targets
from tests.system.launcher import SERVICES

GROUPS = {"orders": "apps", "orders-sidecar": "sidecars", "redis": "broker + store"}


def step(rate: float, p99: float, **changes: Any) -> dict[str, Any]:
    figures = {"p50": p99 / 5, "p90": p99 / 2, "p99": p99, "max": p99 * 1.2}
    cpu = {"orders": 4.0, "orders-sidecar": 3.0, "redis": 1.0}
    return {
        "offered_per_second": rate,
        "offered": round(rate * 15),
        "seconds": 15,
        "paid": round(rate * 15),
        "failed": 0,
        "unfinished": 0,
        "errors": [],
        "completed_per_second": rate * 0.98,
        "end_to_end_ms": figures,
        "post_ms": {k: v / 4 for k, v in figures.items()},
        "driver_lag_ms_max": 2.0,
        "driver_cpu_share": 0.1,
        "paid_in_window": round(rate * 15),
        "cpu_ms_per_checkout": {
            "by_process": cpu,
            "by_group": {"apps": 4.0, "sidecars": 3.0, "broker + store": 1.0},
        },
    } | changes


def test_the_sustained_rate_is_the_last_one_held_from_the_bottom() -> None:
    steps = [step(10, 200), step(20, 400), step(30, 1500), step(40, 800)]
    assert sustained(steps) == 20  # 40/s held, but 30/s did not: noise, not capacity
    assert sustained([step(10, 200), step(20, 300, failed=1)]) == 10
    assert sustained([step(10, 200), step(20, 300, completed_per_second=12)]) == 10
    assert sustained([step(10, 1200)]) == 0


def test_the_sweep_stops_on_failures_a_growing_queue_or_a_saturated_p99() -> None:
    assert stop_reason(step(20, 900)) is None
    assert "failed" in str(stop_reason(step(20, 900, failed=2, errors=["POST /orders 503"])))
    assert "without bound" in str(stop_reason(step(20, 900, unfinished=5)))
    assert "saturated" in str(stop_reason(step(60, 7000)))


def result(profile: str, steps: list[dict[str, Any]], stopped: str | None) -> dict[str, Any]:
    sweep = {
        "rates": [10, 20, 30],
        "step_seconds": 15,
        "steps": steps,
        "stopped": stopped,
        "sustained_per_second": sustained(steps),
        "held_p99_ms": 1000,
        "groups": GROUPS,
    }
    events = {"p99": 10.0}
    return {
        "profile": profile,
        "browse": [],
        "sidecar_tax": [],
        "checkout": sweep,
        "events": {"one_subscriber": events, "fanout_to_three": events},
        "memory_mb": {"idle": {s: 50 for s in SERVICES}},
    }


def test_targets_read_the_20_per_second_step_and_the_sustained_rate() -> None:
    rows = {r["target"]: r for r in targets(result("redis", [step(10, 300), step(20, 600)], None))}
    assert rows["checkout at 20/s: end-to-end p50"]["met"]  # 120 ms
    assert not rows["checkout at 20/s: end-to-end p99"]["met"]  # 600 > 500 on redis
    assert not rows["checkout: highest rate with p99 < 1 s"]["met"]  # 20 < 60
    kafka = targets(result("kafka-postgres", [step(10, 300), step(20, 600)], None))
    assert {r["target"]: r["met"] for r in kafka}["checkout at 20/s: end-to-end p99"]

    stopped = targets(result("redis", [step(10, 300, failed=1)], "1 checkouts failed"))
    [missed] = [r for r in stopped if r["target"] == "checkout at 20/s: end to end"]
    assert not missed["met"] and missed["miss"] == "1 checkouts failed"


def test_the_page_and_plot_show_every_step(tmp_path: Path) -> None:
    made = result("redis", [step(10, 300), step(20, 600, end_to_end_ms=None)], "saturated")
    page = checkout_section(made)
    assert "| 10/s | 20/s |" in page and "broker + store" in page and "counted once" in page
    assert "| 20 | 19.6 | 300 | 0 | 0 | n/a |" in page
    plot_checkout(made, tmp_path / "redis-checkout.png")
    assert (tmp_path / "redis-checkout.png").read_bytes()[:4] == b"\x89PNG"
