"""One chaos run against a started shop: the run's products, the buyers, the kill
schedule and the forged events at the same time; then settlement, the figures and the
verdict (tests/chaos/report.py)."""

import json
import os
import secrets
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from orders.settings import Settings as OrdersSettings
from orders.settings import workflow_stall_seconds

from tests.chaos import kills
from tests.chaos.buyers import PAYING_SHARE, Crowd, make_buyers
from tests.chaos.clock import Clock
from tests.chaos.forgery import Forger
from tests.chaos.products import create_products, stock_per_product
from tests.chaos.report import stock_problems, summarise
from tests.chaos.settle import observe_orders, observe_products
from tests.system.launcher import ROOT, Sidecar

# What one kill takes besides its downtime and gap, roughly (a restart, the wait until
# ready): only used to spread the buyers over the schedule when no rate is given.
RECOVERY_ESTIMATE = 2.0


@dataclass(frozen=True)
class Plan:
    profile: str
    style: str = "choreography"  # the checkout's style (CHECKOUT_STYLE), set by the shop
    buyers: int = 200
    kills: str = "all"  # kills.SCHEDULES
    rate: float | None = None  # buyers a second; None: spread over the kill schedule
    in_flight: int = 8
    products: int = 4
    forgeries: int = 6  # orders targeted by forged events, half through each sidecar
    downtime: float = 4.0
    gap: float = 2.0
    warmup: float = 3.0  # from the first buyer to the first kill
    buyer_deadline: float = 90.0  # how long a buyer keeps retrying
    settle_deadline: float = 60.0  # after the last restart (or the last buyer)
    # Orders' PAYMENT_CONFIRMATION_TIMEOUT_SECONDS in the shop under test (its default).
    confirmation_timeout: float = 60.0
    seed: int = 0

    def settle_within(self) -> float:
        """The settle deadline, never shorter than the slowest recovery the shop is built
        for: in the workflow style, the sweeper takes over a workflow that stalled (its
        store died under it) only once it has been quiet for workflow_stall_seconds, and
        sees that at its next sweep."""
        if self.style != "workflow":
            return self.settle_deadline
        sweep = float(OrdersSettings.model_fields["sweep_interval_seconds"].default)
        takeover = workflow_stall_seconds(self.confirmation_timeout) + 2 * sweep
        return max(self.settle_deadline, takeover + 10.0)

    def arrival_rate(self, kill_count: int) -> float:
        if self.rate is not None:
            return self.rate
        schedule = kill_count * (self.downtime + self.gap + RECOVERY_ESTIMATE)
        return min(5.0, max(1.0, self.buyers / max(schedule, 1.0)))


def run_chaos(shop: dict[str, Sidecar], plan: Plan, admin_token: str) -> dict[str, Any]:
    """The report of one run (see report.summarise); every process is running and ready
    again when it returns, unless the report's `error` says otherwise."""
    clock = Clock()
    run_id = secrets.token_hex(4)
    kills.wait_shop_ready(shop)
    stock = stock_per_product(plan.buyers, plan.products, PAYING_SHARE)
    starting = create_products(shop["catalog"], admin_token, run_id, plan.products, stock)
    buyers = make_buyers(plan.buyers, list(starting), plan.seed)
    targets = kills.targets(shop, plan.profile, plan.kills)
    gateways = [sidecar.app_url for sidecar in shop.values() if sidecar.app_id == "gateway"]
    rate = plan.arrival_rate(len(targets))
    clock.say(
        f"run {run_id} on {plan.profile} ({plan.style}, {len(gateways)} instance(s) of "
        f"every service): {plan.buyers} buyers at {rate:.2f}/s, {len(targets)} kills, "
        f"{plan.products} products of {stock} units"
    )

    # The forgeries spread over the buyers' arrivals.
    spacing = plan.buyers / rate / max(plan.forgeries, 1)
    forger = Forger(shop, clock, plan.forgeries, spacing)
    crowd = Crowd(
        gateways, clock, rate, plan.in_flight, plan.buyer_deadline,
        on_accepted=forger.on_accepted,
    )  # fmt: skip
    errors: list[str] = []

    def shop_around() -> None:
        try:
            crowd.run(buyers)
        except Exception as exc:  # reported with the figures, not lost in a thread
            errors.append(f"buyers: {exc!r}")
            clock.say(f"the buyers stopped: {exc!r}")

    schedule = kills.Schedule(targets, clock, plan.downtime, plan.gap, plan.warmup)
    shoppers = threading.Thread(target=shop_around, name="crowd")
    shoppers.start()
    schedule.start()
    shoppers.join()
    schedule.join()
    buying_ended = clock.now()

    last_restart = max((k.restarted_at for k in schedule.kills), default=0.0)
    deadline = max(last_restart, buying_ended) + plan.settle_within()
    clock.say(f"buyers and kills done; waiting for the orders until {deadline:.0f}s")
    with httpx.Client(base_url=f"{shop['gateway'].app_url}/api/v1", timeout=30) as client:
        orders = observe_orders(
            client, buyers, shop["payments"], shop["shipping"], clock, deadline, forger.targets
        )
    # The catalog commits or releases stock when it gets the order's status event, which
    # may come later than the order's status (the workflow confirms a payment without the
    # broker, and announces it once the broker is back): read until it adds up.
    products = observe_products(shop["catalog"], starting)
    while stock_problems(products, orders) and clock.now() < deadline:
        time.sleep(1.0)
        products = observe_products(shop["catalog"], starting)

    outcomes: dict[str, int] = {}
    for buyer in buyers:
        kind = buyer.outcome.split(":")[0]
        outcomes[kind] = outcomes.get(kind, 0) + 1
    run = {
        "profile": plan.profile,
        "checkout_style": plan.style,
        "replicas": len(gateways),
        "run_id": run_id,
        "started_at": datetime.fromtimestamp(clock.started, UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "plan": asdict(plan),
        "buyers": plan.buyers,
        "arrival_rate_per_second": round(rate, 2),
        "buyer_outcomes": dict(sorted(outcomes.items())),
        "buyer_retries": sum(b.retries for b in buyers),
        "broken_answers": [answer for b in buyers for answer in b.broken_answers],
        "buying_seconds": round(buying_ended, 1),
        "duration_seconds": round(clock.now(), 1),
        "error": "; ".join([*filter(None, [schedule.error]), *errors]) or None,
    }
    return summarise(run, schedule.kills, orders, products, forger.published)


def _git_commit() -> str:
    """The checkout's commit (SHOP_GIT_COMMIT when run outside a git checkout)."""
    if given := os.environ.get("SHOP_GIT_COMMIT"):
        return given
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def print_verdict(report: dict[str, Any], path: Path) -> None:
    figures = (
        "accepted", "paid", "delivered", "cancelled", "stuck", "undelivered",
        "shipped_wrongly", "lost", "doubled_charges", "declined_paid", "stock_conserved",
        "forged_events_applied",
        "forged_publishes_refused", "seconds_to_settle", "duration_seconds",
    )  # fmt: skip
    print(", ".join(f"{name}={report[name]}" for name in figures))
    for answer in report.get("broken_answers", []):
        print(f"broken answer (asked again): {answer}")
    for failure in report["failures"]:
        print(f"FAILED: {failure}")
    print(f"{'passed' if report['passed'] else 'failed'}; the report is in {path}")
