"""Checkout: buyers (registered, cart filled, beforehand) check out at a fixed
concurrency through the gateway; a checkout is complete when its order is paid. The
order's own `updated_at` (set when it became paid) ends its latency, so the driver does
not poll while the load runs. Checkouts go through the whole choreography: cart and
catalog by invocation, order-created, payments, the payment events, notifications.

The driver is Python (each checkout needs its own buyer's token), so its CPU time is
reported beside the result: a saturated driver would show there.
"""

import asyncio
import json
import resource
import time
import uuid
from datetime import datetime
from typing import Any

import httpx

from bench.shop import BenchShop
from bench.stats import percentiles
from tests.system.launcher import ROOT
from tests.system.shopper import PAYS, admin_put_product

PASSWORD = "bench password 123"
# Buyers spread over this many products, as over a catalog: every reservation is an
# ETag write to its product's record, and one hot product would measure only that.
PRODUCTS = 16
STOCK = 100_000


async def _buyer(client: httpx.AsyncClient, product_id: str) -> dict[str, str]:
    """A registered, logged-in buyer with one unit in the cart."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Bench"}
    )
    registered.raise_for_status()
    token = await client.post(
        "/api/v1/auth/token",
        data={"username": email, "password": PASSWORD, "grant_type": "password"},
    )
    token.raise_for_status()
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    added = await client.put(f"/api/v1/cart/items/{product_id}", json={"quantity": 1}, headers=auth)
    added.raise_for_status()
    return auth


async def _bounded(limit: int, jobs: list[Any]) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with semaphore:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


async def _run(gateway: str, products: list[str], buyers: int, concurrency: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency + 8)
    async with httpx.AsyncClient(base_url=gateway, timeout=60, limits=limits) as client:
        auths = await _bounded(
            8, [_buyer(client, products[n % len(products)]) for n in range(buyers)]
        )

        async def check_out(auth: dict[str, str]) -> tuple[str, float, float]:
            headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
            sent = time.time()
            placed = await client.post(
                "/api/v1/orders", json={"payment_token": PAYS}, headers=headers
            )
            if placed.status_code != 201:
                raise RuntimeError(f"checkout refused: {placed.status_code} {placed.text}")
            return placed.json()["order_id"], sent, time.time()

        cpu_before = _own_cpu()
        placed = await _bounded(concurrency, [check_out(auth) for auth in auths])
        driver_cpu = _own_cpu() - cpu_before

        async def paid_at(order_id: str, auth: dict[str, str]) -> float:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                order = (await client.get(f"/api/v1/orders/{order_id}", headers=auth)).json()
                if order.get("status") == "paid":
                    return datetime.fromisoformat(order["updated_at"]).timestamp()
                if order.get("status") == "cancelled":
                    raise RuntimeError(f"order {order_id} was cancelled: {order.get('reason')}")
                await asyncio.sleep(0.5)
            raise RuntimeError(f"order {order_id} not paid within 120s: see .data/logs/bench-*")

        order_ids = [order_id for order_id, _, _ in placed]
        paid = await _bounded(
            16, [paid_at(order_id, auth) for order_id, auth in zip(order_ids, auths, strict=True)]
        )
    sent = [s for _, s, _ in placed]
    end_to_end = [1000 * (p - s) for p, (_, s, _) in zip(paid, placed, strict=True)]
    post = [1000 * (answered - s) for _, s, answered in placed]
    span = max(paid) - min(sent)
    return {
        "checkouts": buyers,
        "concurrency": concurrency,
        "seconds": span,
        "completed_per_second": buyers / span,
        "end_to_end_ms": percentiles(end_to_end),
        "post_ms": percentiles(post),
        "driver_cpu_share": driver_cpu / max(max(s for _, _, s in placed) - min(sent), 1e-9),
    }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_checkout(shop: BenchShop, buyers: int, concurrency: int) -> dict[str, Any]:
    admin_token = json.loads((ROOT / ".data" / "secrets.json").read_text())["catalog-admin-token"]
    run = uuid.uuid4().hex[:8]
    products = [f"bench-{run}-{n}" for n in range(PRODUCTS)]
    for product_id in products:
        admin_put_product(
            shop.sidecars["catalog"], admin_token, product_id, price_cents=500, stock=STOCK
        )
    gateway = shop.sidecars["gateway"].app_url
    result = asyncio.run(_run(gateway, products, buyers, concurrency))
    print(
        f"  checkout c={concurrency}: {result['completed_per_second']:.1f}/s, "
        f"end to end p50 {result['end_to_end_ms']['p50']:.0f} ms "
        f"p99 {result['end_to_end_ms']['p99']:.0f} ms",
        flush=True,
    )
    return result
