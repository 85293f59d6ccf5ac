"""Calling the services behind the gateway, by app id (shop_dapr.invoke.Invoker)."""

import asyncio
from typing import Any

import httpx
from cachebox import TTLCache
from shop_dapr.invoke import Invoker


class ProductReader:
    """Product pages by id, cached until catalog.product-changed says otherwise, and for
    `ttl_seconds` at most should that event be lost (0: nothing is cached). Past
    `max_entries` pages the oldest one cached is dropped."""

    def __init__(
        self,
        invoker: Invoker,
        catalog_app_id: str,
        ttl_seconds: float,
        max_entries: int = 10_000,
    ) -> None:
        self._invoker = invoker
        self._catalog = catalog_app_id
        # cachebox's TTL cache (Rust; FIFO when full; expiry on the wall clock) reads in
        # half the time of a dict-based one; it refuses a TTL of 0.
        self._cache: TTLCache[str, httpx.Response] | None = (
            TTLCache(max_entries, ttl_seconds) if ttl_seconds > 0 else None
        )

    async def get(self, product_id: str) -> tuple[httpx.Response, bool]:
        """The catalog's answer (a 404 too), and whether it came from the cache."""
        cached = self._cache.get(product_id, None) if self._cache is not None else None
        if cached is not None:
            return cached, True
        response = await self._invoker.request(self._catalog, "GET", f"/products/{product_id}")
        if response.status_code == 200 and self._cache is not None:
            self._cache.insert(product_id, response)
        return response, False

    def forget(self, product_id: str) -> None:
        if self._cache is not None:
            self._cache.pop(product_id, None)


async def order_with_payment(
    invoker: Invoker,
    orders_app_id: str,
    payments_app_id: str,
    order_id: str,
    headers: dict[str, str],
) -> tuple[int, dict[str, Any]]:
    """One page, two services: the order, and what payments knows of it, fetched at once."""
    order, payment = await asyncio.gather(
        invoker.request(orders_app_id, "GET", f"/orders/{order_id}", headers=headers),
        invoker.request(payments_app_id, "GET", f"/payments/{order_id}"),
    )
    if order.status_code != 200:
        return order.status_code, order.json()
    return 200, {**order.json(), "payment": payment.json() if payment.status_code == 200 else None}
