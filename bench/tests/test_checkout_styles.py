"""The checkout styles' page section and README line, on made-up figures (no shop)."""

import json
from pathlib import Path
from typing import Any

from bench.checkout import sustained
from bench.report import checkout_styles_line, checkout_styles_section, write_readme
from bench.tests.test_checkout_sweep import GROUPS, result, step


def crash(settled: float | None, **changes: Any) -> dict[str, Any]:
    return {
        "rate_per_second": 10,
        "seconds": 6,
        "killed_after_seconds": 2,
        "retry_seconds": 60,
        "offered": 60,
        "accepted": 60,
        "not_accepted": 0,
        "with_errors": 5,
        "error_answers": 9,
        "errors": ["POST /orders answered 500: orders is down"],
        "orders_ready_seconds": 3.2,
        "settled_seconds": settled,
        "paid": 60,
        "cancelled": 0,
        "unsettled": 0,
        "settle_deadline_seconds": 120,
    } | changes


def styles(workflow_steps: list[dict[str, Any]], workflow_crash: dict[str, Any]) -> dict[str, Any]:
    def sweep(steps: list[dict[str, Any]], stopped: str | None) -> dict[str, Any]:
        return {
            "rates": [10, 20, 30],
            "step_seconds": 15,
            "steps": steps,
            "stopped": stopped,
            "sustained_per_second": sustained(steps),
            "held_p99_ms": 1000,
            "groups": GROUPS,
        }

    stopped = None if len(workflow_steps) == 3 else "3 checkouts failed at 20/s: 503"
    return {
        "rates": [10, 20, 30],
        "step_seconds": 15,
        "styles": {
            "choreography": {
                "sweep": sweep([step(10, 100), step(20, 200), step(30, 300)], None),
                "crash": crash(8.4),
            },
            "workflow": {"sweep": sweep(workflow_steps, stopped), "crash": workflow_crash},
        },
    }


def test_both_styles_side_by_side_and_a_rate_one_did_not_reach() -> None:
    made = result("redis", [step(10, 100)], None)
    made["checkout_styles"] = styles([step(10, 400), step(20, 900, failed=3)], crash(5.0))
    page = checkout_styles_section(made)
    assert "## Checkout styles: choreography and workflow" in page
    row = "| 10 | workflow | 9.8 | 0 | 0 | 80 | 400 | 20 | 100 | **8.0** | 4.0 | 3.0 | 1.0 |"
    assert row in page
    assert "| 30 | choreography |" in page and "| 30 | workflow |" not in page
    assert "The workflow sweep stopped: 3 checkouts failed at 20/s" in page
    assert "| choreography | 60 | 60 | 0 | 5 | 9 | 3.2 | 8.4 | 60 | 0 | 0 |" in page
    assert "An error the buyers met: choreography: `POST /orders answered 500" in page

    line = checkout_styles_line(made)
    # At the highest rate both held: the workflow lost checkouts at 20/s.
    assert "at 10/s, end-to-end p99 and CPU per checkout: choreography 100 ms and 8 ms, " in line
    assert "until every accepted order settled: choreography 8.4 s, workflow 5.0 s" in line


def test_orders_left_unsettled_show_as_missing(tmp_path: Path) -> None:
    made = result("redis", [step(10, 100)], None)
    late = crash(None, paid=50, unsettled=10)
    made["checkout_styles"] = styles([step(r, 300) for r in (10, 20, 30)], late)
    row = "| workflow | 60 | 60 | 0 | 5 | 9 | 3.2 | **missing** (deadline 120 s) | 50 | 0 | 10 |"
    assert row in checkout_styles_section(made)
    assert "workflow **10 unsettled** after 120 s" in checkout_styles_line(made)

    # A result from before the styles were measured has neither.
    older = result("redis", [step(10, 100)], None)
    assert checkout_styles_section(older) == checkout_styles_line(older) == ""
    made |= {"date": "today", "commit": "abc", "smoke": True}
    made["machine"] = {"cpu": "test", "cores": 2, "memory_gib": 1}
    (tmp_path / "redis.json").write_text(json.dumps(made))
    write_readme(tmp_path)
    assert "Checkout styles ([tables](./redis.md)): at 30/s" in (tmp_path / "README.md").read_text()
