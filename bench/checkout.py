"""Checkout, open loop: checkouts offered at fixed arrival rates, one rate a step, each
step for a fixed time. The k-th checkout of a step is sent at t0 + k/rate whether or not
earlier ones have returned, so a slow shop meets a growing queue, as it would from real
buyers; a closed loop (N buyers, each waiting for its answer) would slow down with the
shop and hide that queue. The HTTP client's pool is unbounded for the same reason.

A checkout is complete when its order is paid: end to end runs from the moment its POST
was due (the driver's lag behind that is reported, and is near zero) to the order's own
`updated_at` as it became paid, so the driver does not poll while the load runs. The
POST's own latency is reported beside it.

Buyers are prepared before each step, outside its measurement: registered and logged in
(once; argon2id makes that the slow part), and one unit put in the cart. A buyer is used
again in later steps once cart has emptied its cart for the earlier order.

Between steps the shop drains: the step's orders are polled, with a deadline, until all
are paid. The sweep stops at the first step that fails a checkout, leaves orders unpaid
past that deadline, or whose p99 is past STOP_P99_MS: higher rates would only queue more.
The highest sustained rate is the highest rate at which that step and every slower one
kept p99 under HELD_P99_MS, completed what was offered and failed nothing.

CPU per checkout (bench/cpu.py) is taken over the arrivals of a step only, divided by
the checkouts paid in that time: the drain's status polls are reads a checkout does not
need, and would be charged to it otherwise. The driver is Python (each checkout needs
its own buyer's token), so its CPU share is reported too: a saturated driver shows there.
"""

import asyncio
import json
import resource
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bench.cpu import CpuWindow, meters
from bench.shop import BenchShop
from bench.stats import percentiles
from tests.system.launcher import ROOT
from tests.system.shopper import PAYS, admin_put_product

PASSWORD = "bench password 123"
# Buyers spread over this many products, as over a catalog: every reservation is an
# ETag write to its product's record, and one hot product would measure only that.
PRODUCTS = 16
STOCK = 100_000
HELD_P99_MS = 1000  # the bound for a sustained rate
STOP_P99_MS = 5000
# At least this share of the offered rate completed: a step that fell behind did not hold.
HELD_SHARE = 0.9
DRAIN_SECONDS = 120
# Identity's tokens live 15 min: a buyer kept longer than this logs in again.
TOKEN_SECONDS = 600


@dataclass
class Buyer:
    email: str
    product_id: str
    auth: dict[str, str]
    logged_in: float  # time.monotonic()
    used: bool = False


@dataclass
class Sent:
    due: float  # wall clock, when the open loop scheduled this checkout
    lag: float  # seconds the driver sent it after `due`
    answered: float = 0.0
    order_id: str | None = None
    error: str | None = None
    paid: float | None = None  # wall clock, the order's `updated_at` as paid


async def bounded(limit: int, jobs: list[Any]) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with semaphore:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


async def _log_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    token = await client.post(
        "/api/v1/auth/token",
        data={"username": email, "password": PASSWORD, "grant_type": "password"},
    )
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _fill_cart(client: httpx.AsyncClient, buyer: Buyer) -> None:
    added = await client.put(
        f"/api/v1/cart/items/{buyer.product_id}", json={"quantity": 1}, headers=buyer.auth
    )
    added.raise_for_status()


async def _new_buyer(client: httpx.AsyncClient, product_id: str) -> Buyer:
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Bench"}
    )
    registered.raise_for_status()
    buyer = Buyer(email, product_id, await _log_in(client, email), time.monotonic())
    await _fill_cart(client, buyer)
    return buyer


async def _refill(client: httpx.AsyncClient, buyer: Buyer) -> None:
    """One unit in the cart again. Cart empties a cart on its own consumer of the earlier
    order's `order-created`, in its own time: a unit put back before that would be
    emptied with it, so wait for the empty cart first."""
    if time.monotonic() - buyer.logged_in > TOKEN_SECONDS:
        buyer.auth, buyer.logged_in = await _log_in(client, buyer.email), time.monotonic()
    deadline = time.monotonic() + 60
    while True:
        cart = await client.get("/api/v1/cart", headers=buyer.auth)
        cart.raise_for_status()
        if not cart.json()["lines"]:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the cart of {buyer.email} was not emptied within 60 s of its paid order: "
                "see .data/logs/bench-cart-*.log"
            )
        await asyncio.sleep(0.2)
    await _fill_cart(client, buyer)
    buyer.used = False


async def prepare(
    client: httpx.AsyncClient, pool: list[Buyer], products: list[str], count: int
) -> list[Buyer]:
    """`count` buyers, each with one unit in the cart: the pool grown to that size, and
    its used buyers refilled."""
    refills = [_refill(client, b) for b in pool[:count] if b.used]
    new = [_new_buyer(client, products[n % len(products)]) for n in range(len(pool), count)]
    pool += [b for b in await bounded(8, [*refills, *new]) if isinstance(b, Buyer)]
    return pool[:count]


async def _check_out(client: httpx.AsyncClient, buyer: Buyer, sent: Sent) -> None:
    headers = {**buyer.auth, "Idempotency-Key": uuid.uuid4().hex}
    try:
        placed = await client.post("/api/v1/orders", json={"payment_token": PAYS}, headers=headers)
    except httpx.HTTPError as error:
        sent.error = f"{type(error).__name__}: {error}"
        return
    finally:
        sent.answered = time.time()
    if placed.status_code == 201:
        sent.order_id = placed.json()["order_id"]
    else:
        sent.error = f"POST /orders answered {placed.status_code}: {placed.text[:200]}"


async def _offer(
    client: httpx.AsyncClient, buyers: list[Buyer], rate: float
) -> tuple[list[Sent], list[asyncio.Task[None]]]:
    """The open loop: the k-th checkout sent at t0 + k/rate, by the clock. Returns once
    the last one is sent, with the checkouts still in flight."""
    loop = asyncio.get_running_loop()
    t0, wall0 = loop.time(), time.time()
    sent, tasks = [], []
    for k, buyer in enumerate(buyers):
        due = t0 + k / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        one = Sent(due=wall0 + k / rate, lag=max(0.0, loop.time() - due))
        buyer.used = True
        sent.append(one)
        tasks.append(asyncio.create_task(_check_out(client, buyer, one)))
    return sent, tasks


async def _await_paid(client: httpx.AsyncClient, sent: list[Sent], buyers: list[Buyer]) -> None:
    """Poll every accepted order until it is paid or cancelled, or DRAIN_SECONDS pass."""
    deadline = time.monotonic() + DRAIN_SECONDS

    async def one(checkout: Sent, buyer: Buyer) -> None:
        while time.monotonic() < deadline:
            got = await client.get(f"/api/v1/orders/{checkout.order_id}", headers=buyer.auth)
            order = got.json() if got.status_code == 200 else {}
            if order.get("status") == "paid":
                checkout.paid = datetime.fromisoformat(order["updated_at"]).timestamp()
                return
            if order.get("status") == "cancelled":
                checkout.error = f"order cancelled: {order.get('reason')}"
                return
            await asyncio.sleep(0.5)

    pairs = [(s, b) for s, b in zip(sent, buyers, strict=True) if s.order_id and not s.error]
    await bounded(16, [one(s, b) for s, b in pairs])


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _step(
    client: httpx.AsyncClient, buyers: list[Buyer], rate: float, cpu: CpuWindow
) -> dict[str, Any]:
    cpu.start()
    driver_before = _own_cpu()
    sent, in_flight = await _offer(client, buyers, rate)
    # The window closes with the last arrival, not with the last answer: a saturated
    # shop would otherwise stretch it over its backlog.
    cpu.stop()
    driver_cpu, window_end = _own_cpu() - driver_before, time.time()
    await asyncio.gather(*in_flight)
    await _await_paid(client, sent, buyers)
    return _summary(rate, sent, window_end, driver_cpu, cpu)


def _summary(
    rate: float, sent: list[Sent], window_end: float, driver_cpu: float, cpu: CpuWindow
) -> dict[str, Any]:
    paid_at = [s.paid for s in sent if s.paid is not None]
    failed = [s for s in sent if s.error]
    answered = [s for s in sent if s.order_id]
    end_to_end = [1000 * (s.paid - s.due) for s in sent if s.paid is not None]
    post = [1000 * (s.answered - s.due) for s in answered]
    window = max(window_end - sent[0].due, 1e-9)
    paid_in_window = sum(1 for p in paid_at if p <= window_end)
    return {
        "offered_per_second": rate,
        "offered": len(sent),
        "seconds": window,
        "paid": len(paid_at),
        "failed": len(failed),
        "unfinished": len(sent) - len(paid_at) - len(failed),
        "errors": sorted({s.error for s in failed if s.error})[:3],
        "completed_per_second": len(paid_at) / (max(paid_at, default=window_end) - sent[0].due),
        "end_to_end_ms": percentiles(end_to_end) if end_to_end else None,
        "post_ms": percentiles(post) if post else None,
        "driver_lag_ms_max": 1000 * max(s.lag for s in sent),
        "driver_cpu_share": driver_cpu / window,
        "paid_in_window": paid_in_window,
        "cpu_ms_per_checkout": cpu.ms_per(paid_in_window),
    }


def held(step: dict[str, Any]) -> bool:
    """Whether a step sustained its rate: p99 under HELD_P99_MS, nothing failed or left
    unpaid, and completions kept up with arrivals."""
    e2e = step["end_to_end_ms"]
    return (
        e2e is not None
        and e2e["p99"] < HELD_P99_MS
        and step["failed"] == step["unfinished"] == 0
        and step["completed_per_second"] >= HELD_SHARE * step["offered_per_second"]
    )


def sustained(steps: list[dict[str, Any]]) -> float:
    """The highest rate held, with every slower step held too (0 when none was)."""
    best = 0.0
    for step in sorted(steps, key=lambda s: s["offered_per_second"]):
        if not held(step):
            break
        best = step["offered_per_second"]
    return best


def stop_reason(step: dict[str, Any]) -> str | None:
    rate = f"{step['offered_per_second']:g}/s"
    if step["failed"]:
        return f"{step['failed']} checkouts failed at {rate}: {step['errors'][0]}"
    if step["unfinished"]:
        return (
            f"{step['unfinished']} orders still unpaid {DRAIN_SECONDS} s after the last "
            f"arrival at {rate}: the queue grows without bound"
        )
    if step["end_to_end_ms"]["p99"] > STOP_P99_MS:
        return f"end-to-end p99 {step['end_to_end_ms']['p99']:.0f} ms at {rate}: saturated"
    return None


async def _sweep(
    shop: BenchShop, products: list[str], rates: list[float], seconds: float, label: str
) -> dict[str, Any]:
    cpu = CpuWindow(meters(shop))
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    gateway = shop.sidecars["gateway"].app_url
    steps: list[dict[str, Any]] = []
    stopped = None
    pool: list[Buyer] = []
    async with httpx.AsyncClient(base_url=gateway, timeout=60, limits=limits) as client:
        for rate in rates:
            buyers = await prepare(client, pool, products, round(rate * seconds))
            step = await _step(client, buyers, rate, cpu)
            steps.append(step)
            _print(label, step)
            stopped = stop_reason(step)
            if stopped:
                print(f"  {label} sweep stopped: {stopped}", flush=True)
                break
    return {
        "rates": rates,
        "step_seconds": seconds,
        "steps": steps,
        "stopped": stopped,
        "sustained_per_second": sustained(steps),
        "held_p99_ms": HELD_P99_MS,
        "groups": {m.name: m.group for m in cpu.meters},
    }


def _print(label: str, step: dict[str, Any]) -> None:
    e2e = step["end_to_end_ms"] or {"p50": float("nan"), "p99": float("nan")}
    groups = ", ".join(f"{g} {ms:.1f}" for g, ms in step["cpu_ms_per_checkout"]["by_group"].items())
    print(
        f"  {label} {step['offered_per_second']:g}/s offered: "
        f"{step['completed_per_second']:.1f}/s paid, end to end p50 {e2e['p50']:.0f} ms "
        f"p99 {e2e['p99']:.0f} ms, failed {step['failed']}, unpaid {step['unfinished']}; "
        f"CPU ms/checkout: {groups}",
        flush=True,
    )


def new_products(shop: BenchShop) -> list[str]:
    """PRODUCTS products of this run, STOCK units each, for the buyers to spread over."""
    admin_token = json.loads((ROOT / ".data" / "secrets.json").read_text())["catalog-admin-token"]
    run = uuid.uuid4().hex[:8]
    products = [f"bench-{run}-{n}" for n in range(PRODUCTS)]
    for product_id in products:
        admin_put_product(
            shop.sidecars["catalog"], admin_token, product_id, price_cents=500, stock=STOCK
        )
    return products


def run_checkout(
    shop: BenchShop,
    rates: list[float],
    seconds: float,
    label: str = "checkout",
    products: list[str] | None = None,
) -> dict[str, Any]:
    """The sweep over `rates`, on `products` (new ones when not given); `label` names it
    in the progress lines."""
    return asyncio.run(_sweep(shop, products or new_products(shop), rates, seconds, label))
