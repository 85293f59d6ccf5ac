"""Calling the services behind the gateway, by app id (shop_dapr.invoke.Invoker)."""

import asyncio
from typing import Any

import httpx
from cachebox import TTLCache
from shop_dapr.invoke import Invoker


class CatalogReader:
    """What shoppers browse, cached until catalog.product-changed says otherwise, and for
    `ttl_seconds` at most should that event be lost (0: nothing is cached):

    - product pages by id, evicted one by one (at most `max_products`);
    - listing, search and category pages by their query, all dropped at any product's
      change, as any of them may show it (at most `max_pages`).

    Stock changes (reservations) announce nothing: the `available` of a cached page may
    be up to the TTL old. The checkout, which reserves, is what decides; a client that
    must see the stock now asks with `Cache-Control: no-cache` (`fresh`), as HTTP has it."""

    def __init__(
        self,
        invoker: Invoker,
        catalog_app_id: str,
        ttl_seconds: float,
        max_products: int = 10_000,
        max_pages: int = 1_000,
    ) -> None:
        self._invoker = invoker
        self._catalog = catalog_app_id
        # cachebox's TTL cache (Rust; FIFO when full; expiry on the wall clock) reads in
        # half the time of a dict-based one; it refuses a TTL of 0.
        self._products: TTLCache[str, httpx.Response] | None = None
        self._pages: TTLCache[str, httpx.Response] | None = None
        if ttl_seconds > 0:
            self._products = TTLCache(max_products, ttl_seconds)
            self._pages = TTLCache(max_pages, ttl_seconds)

    async def product(self, product_id: str, fresh: bool = False) -> tuple[httpx.Response, bool]:
        """The catalog's answer (a 404 too), and whether it came from the cache; `fresh`:
        from the catalog whatever the cache holds (and cached again)."""
        return await self._read(self._products, fresh, _product_path(product_id))

    async def page(
        self, path: str, query: str = "", fresh: bool = False
    ) -> tuple[httpx.Response, bool]:
        """A listing (`/products` and its query) or `/categories`, as `product` does."""
        # Same parameters in another order, same page: one entry.
        params = httpx.QueryParams(sorted(httpx.QueryParams(query).multi_items()))
        return await self._read(self._pages, fresh, path, params)

    async def _read(
        self,
        cache: TTLCache[str, httpx.Response] | None,
        fresh: bool,
        path: str,
        params: httpx.QueryParams | None = None,
    ) -> tuple[httpx.Response, bool]:
        key = f"{path}?{params}" if params else path
        cached = cache.get(key, None) if cache is not None and not fresh else None
        if cached is not None:
            return cached, True
        response = await self._invoker.request(self._catalog, "GET", path, params=params)
        if response.status_code == 200 and cache is not None:
            cache.insert(key, response)
        return response, False

    def forget(self, product_id: str) -> None:
        if self._products is not None and self._pages is not None:
            self._products.pop(_product_path(product_id), None)
            self._pages.clear()


def _product_path(product_id: str) -> str:
    """The catalog's path for a product page, which is also its key in the cache."""
    return f"/products/{product_id}"


async def order_with_payment(
    invoker: Invoker,
    orders_app_id: str,
    payments_app_id: str,
    order_id: str,
    headers: dict[str, str],
) -> dict[str, Any] | httpx.Response:
    """One page, two services: the order, and what payments knows of it, fetched at once;
    or orders' answer when it has no such order to show."""
    order, payment = await asyncio.gather(
        invoker.request(orders_app_id, "GET", f"/orders/{order_id}", headers=headers),
        invoker.request(payments_app_id, "GET", f"/payments/{order_id}"),
    )
    if order.status_code != 200:
        return order
    return {**order.json(), "payment": payment.json() if payment.status_code == 200 else None}
