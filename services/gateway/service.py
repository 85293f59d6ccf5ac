"""Calling the services behind the gateway, by app id (shop_dapr.invoke.Invoker)."""

import asyncio
from typing import Any

import httpx
from shop_dapr.invoke import Invoker

from gateway.domain import TtlCache


class ProductReader:
    """Product pages by id, cached until catalog.product-changed says otherwise."""

    def __init__(
        self, invoker: Invoker, catalog_app_id: str, cache: TtlCache[httpx.Response]
    ) -> None:
        self._invoker = invoker
        self._catalog = catalog_app_id
        self._cache = cache

    async def get(self, product_id: str) -> tuple[httpx.Response, bool]:
        """The catalog's answer (a 404 too), and whether it came from the cache."""
        cached = self._cache.get(product_id)
        if cached is not None:
            return cached, True
        response = await self._invoker.request(self._catalog, "GET", f"/products/{product_id}")
        if response.status_code == 200:
            self._cache.put(product_id, response)
        return response, False

    def forget(self, product_id: str) -> None:
        self._cache.evict(product_id)


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
