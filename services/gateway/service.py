"""Calling the services behind the gateway, through its sidecar."""

import asyncio
from typing import Any

import httpx

from gateway.domain import TtlCache


class UpstreamUnavailable(RuntimeError):
    pass


class Upstream:
    """Service invocation: the sidecar finds the app by its id (`dapr-app-id`). Apps in
    `direct` are called at their own address instead (benchmarks only: Settings)."""

    def __init__(
        self, sidecar: httpx.AsyncClient, direct: dict[str, httpx.AsyncClient] | None = None
    ) -> None:
        self._sidecar = sidecar
        self._direct = direct or {}

    async def aclose(self) -> None:
        """Close the direct clients (the sidecar client belongs to the lifespan)."""
        for client in self._direct.values():
            await client.aclose()

    async def call(
        self,
        app_id: str,
        method: str,
        path: str,
        *,
        json: object | None = None,
        content: bytes | None = None,
        params: httpx.QueryParams | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The app's answer; a 5xx or no answer at all raises UpstreamUnavailable."""
        client = self._direct.get(app_id, self._sidecar)
        try:
            response = await client.request(
                method,
                path,
                json=json,
                content=content,
                params=params,
                headers={**(headers or {}), "dapr-app-id": app_id},
            )
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{app_id} unreachable: {exc!r}") from exc
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"{app_id} failed ({response.status_code})")
        return response


class ProductReader:
    """Product pages by id, cached until catalog.product-changed says otherwise."""

    def __init__(
        self, upstream: Upstream, catalog_app_id: str, cache: TtlCache[httpx.Response]
    ) -> None:
        self._upstream = upstream
        self._catalog = catalog_app_id
        self._cache = cache

    async def get(self, product_id: str) -> tuple[httpx.Response, bool]:
        """The catalog's answer (a 404 too), and whether it came from the cache."""
        cached = self._cache.get(product_id)
        if cached is not None:
            return cached, True
        response = await self._upstream.call(self._catalog, "GET", f"/products/{product_id}")
        if response.status_code == 200:
            self._cache.put(product_id, response)
        return response, False

    def forget(self, product_id: str) -> None:
        self._cache.evict(product_id)


async def order_with_payment(
    upstream: Upstream,
    orders_app_id: str,
    payments_app_id: str,
    order_id: str,
    headers: dict[str, str],
) -> tuple[int, dict[str, Any]]:
    """One page, two services: the order, and what payments knows of it, fetched at once."""
    order, payment = await asyncio.gather(
        upstream.call(orders_app_id, "GET", f"/orders/{order_id}", headers=headers),
        upstream.call(payments_app_id, "GET", f"/payments/{order_id}"),
    )
    if order.status_code != 200:
        return order.status_code, order.json()
    return 200, {**order.json(), "payment": payment.json() if payment.status_code == 200 else None}
