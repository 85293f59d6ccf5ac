"""The checkout in both styles of orders, side by side on the same shop in the same run
(CHECKOUT_STYLE: "choreography", the services reacting to events; "workflow", a Dapr
Workflow in orders driving reserve, place, charge, then confirm or compensate):

- the same offered load for each: the open-loop sweep of bench/checkout.py over the
  same arrival rates (paid/s, end to end and POST latency, CPU per checkout across the
  whole shop), stopping where that sweep stops;
- what a crash of orders in the middle of checkouts costs: buyers arrive at a steady
  rate, the orders app is SIGKILLed a moment in and started again at once. Each buyer
  retries a failed POST with the same Idempotency-Key, as a real client does, so an
  accepted order is one whose buyer got a 201 (or the 200 of a retry) in the end.
  Recorded: checkouts accepted and those that met an error on the way, how long orders
  took to answer again, and how long from the kill until every accepted order was
  settled (paid or cancelled, by the order's own `updated_at`). Past SETTLE_SECONDS the
  orders still open are counted as unsettled and the time is missing: the bench goes on.

Each style is measured on an orders app freshly restarted into it, and the orders app
is left in the default style, choreography, for whatever runs next.
"""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bench.checkout import Buyer, bounded, new_products, prepare, run_checkout
from bench.shop import BenchShop
from tests.chaos.kills import wait_service_ready
from tests.system.launcher import Sidecar
from tests.system.shopper import PAYS

STYLES = ("choreography", "workflow")
DEFAULT_STYLE = "choreography"
# How long a buyer keeps retrying its POST (about what tests/chaos/buyers.py allows).
RETRY_SECONDS = 60
# From the kill: how long the accepted orders may take to settle.
SETTLE_SECONDS = 120
# Paid or cancelled; a paid order goes on to be shipped and delivered (services/shipping).
SETTLED = ("paid", "shipped", "delivered", "cancelled")


@dataclass
class Attempt:
    """One buyer's checkout in the crash run."""

    buyer: Buyer
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # the Idempotency-Key
    order_id: str | None = None  # once a POST was answered 201 or 200
    error_answers: int = 0  # transport errors and error statuses on the way
    last_error: str | None = None
    status: str | None = None  # paid or cancelled, once settled
    settled_at: float | None = None  # wall clock: the order's `updated_at` as settled


async def _place(client: httpx.AsyncClient, attempt: Attempt, until: float) -> None:
    """POST /orders with the attempt's key until accepted: a transport error, a 5xx or
    a 429 is retried with backoff until `until` (monotonic); any other answer is final."""
    headers = {**attempt.buyer.auth, "Idempotency-Key": attempt.key}
    delay = 0.25
    while True:
        try:
            placed = await client.post(
                "/api/v1/orders", json={"payment_token": PAYS}, headers=headers
            )
            if placed.status_code in (200, 201):
                attempt.order_id = placed.json()["order_id"]
                return
            attempt.last_error = f"POST /orders answered {placed.status_code}: {placed.text[:200]}"
            final = placed.status_code < 500 and placed.status_code != 429
        except httpx.HTTPError as error:
            attempt.last_error = f"{type(error).__name__}: {error}"
            final = False
        attempt.error_answers += 1
        if final or time.monotonic() + delay > until:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 4.0)


async def _kill_and_restart(orders: Sidecar, after: float) -> tuple[float, float]:
    """SIGKILL the orders app `after` seconds from now and start it again at once, with
    the same command and environment (so in the same style). Returns the wall clock of
    the kill and the seconds from it until orders answered again."""
    await asyncio.sleep(after)
    killed = time.time()
    # In threads: the open loop keeps sending meanwhile.
    await asyncio.to_thread(orders.kill, "app")
    await asyncio.to_thread(orders.restart, "app")
    await asyncio.to_thread(wait_service_ready, orders)
    return killed, time.time() - killed


async def _settle(client: httpx.AsyncClient, attempts: list[Attempt], deadline: float) -> None:
    """Poll each accepted order until it is paid or cancelled, or the wall clock passes
    `deadline`."""

    async def one(attempt: Attempt) -> None:
        while time.time() < deadline:
            try:
                got = await client.get(
                    f"/api/v1/orders/{attempt.order_id}", headers=attempt.buyer.auth
                )
                order = got.json() if got.status_code == 200 else {}
            except httpx.HTTPError:
                order = {}
            if order.get("status") in SETTLED:
                attempt.status = order["status"]
                attempt.settled_at = datetime.fromisoformat(order["updated_at"]).timestamp()
                return
            await asyncio.sleep(0.5)

    await bounded(16, [one(a) for a in attempts])


async def _crash(
    shop: BenchShop, products: list[str], rate: float, seconds: float, kill_after: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    gateway = shop.sidecars["gateway"].app_url
    async with httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits) as client:
        buyers = await prepare(client, [], products, round(rate * seconds))
        attempts = [Attempt(b) for b in buyers]
        crash = asyncio.create_task(_kill_and_restart(shop.sidecars["orders"], kill_after))
        loop = asyncio.get_running_loop()
        t0, placing = loop.time(), []
        for k, attempt in enumerate(attempts):  # the open loop, as bench/checkout.py's
            await asyncio.sleep(max(0.0, t0 + k / rate - loop.time()))
            until = time.monotonic() + RETRY_SECONDS
            placing.append(asyncio.create_task(_place(client, attempt, until)))
        killed, ready_seconds = await crash
        await asyncio.gather(*placing)
        accepted = [a for a in attempts if a.order_id]
        await _settle(client, accepted, killed + SETTLE_SECONDS)
    settled = [a.settled_at for a in accepted if a.settled_at is not None]
    unsettled = len(accepted) - len(settled)
    return {
        "rate_per_second": rate,
        "seconds": seconds,
        "killed_after_seconds": kill_after,
        "retry_seconds": RETRY_SECONDS,
        "offered": len(attempts),
        "accepted": len(accepted),
        "not_accepted": len(attempts) - len(accepted),
        "with_errors": sum(1 for a in attempts if a.error_answers),
        "error_answers": sum(a.error_answers for a in attempts),
        "errors": sorted({a.last_error for a in attempts if a.last_error})[:3],
        "orders_ready_seconds": ready_seconds,
        # Missing when some order was still open at the deadline (or none was accepted).
        "settled_seconds": max(0.0, max(settled) - killed) if settled and not unsettled else None,
        "paid": sum(1 for a in accepted if a.status == "paid"),
        "cancelled": sum(1 for a in accepted if a.status == "cancelled"),
        "unsettled": unsettled,
        "settle_deadline_seconds": SETTLE_SECONDS,
    }


def _print(style: str, crash: dict[str, Any]) -> None:
    settled = crash["settled_seconds"]
    print(
        f"  checkout ({style}), orders killed {crash['killed_after_seconds']:g} s in: "
        f"{crash['accepted']}/{crash['offered']} accepted, {crash['with_errors']} met an "
        f"error; orders up again after {crash['orders_ready_seconds']:.1f} s; "
        + (
            f"all settled {settled:.1f} s after the kill"
            if settled is not None
            else f"{crash['unsettled']} unsettled {SETTLE_SECONDS} s after the kill"
        ),
        flush=True,
    )


def run_checkout_styles(
    shop: BenchShop,
    rates: list[float],
    seconds: float,
    crash_rate: float,
    crash_seconds: float,
    kill_after: float,
) -> dict[str, Any]:
    orders = shop.sidecars["orders"]
    # One set of products for every part: the catalog grows by as few as it can (its
    # size is measured afterwards by catalog_scale).
    products = new_products(shop)
    styles: dict[str, Any] = {}
    try:
        for style in STYLES:
            orders.restart_app({"CHECKOUT_STYLE": style})
            sweep = run_checkout(shop, rates, seconds, f"checkout ({style})", products)
            crash = asyncio.run(_crash(shop, products, crash_rate, crash_seconds, kill_after))
            _print(style, crash)
            styles[style] = {"sweep": sweep, "crash": crash}
    finally:
        orders.restart_app({"CHECKOUT_STYLE": DEFAULT_STYLE})
    return {"rates": rates, "step_seconds": seconds, "styles": styles}
