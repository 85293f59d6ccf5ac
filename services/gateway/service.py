"""Gateway use cases: read products from the catalog, through the sidecar, cached."""

from typing import Any

import httpx

from gateway.domain import TtlCache


class ProductNotFound(LookupError):
    pass


class UpstreamUnavailable(RuntimeError):
    pass


class ProductReader:
    def __init__(
        self, sidecar: httpx.AsyncClient, catalog_app_id: str, cache: TtlCache[Any]
    ) -> None:
        self._sidecar = sidecar
        self._catalog = catalog_app_id
        self._cache = cache

    async def get(self, product_id: str) -> tuple[dict[str, Any], bool]:
        """The product, and whether it came from the cache."""
        cached = self._cache.get(product_id)
        if cached is not None:
            return cached, True
        try:
            response = await self._sidecar.get(
                f"/products/{product_id}", headers={"dapr-app-id": self._catalog}
            )
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"catalog unreachable through the sidecar: {exc!r}") from exc
        if response.status_code == 404:
            raise ProductNotFound(product_id)
        if response.status_code != 200:
            raise UpstreamUnavailable(f"catalog answered {response.status_code}")
        product: dict[str, Any] = response.json()
        self._cache.put(product_id, product)
        return product, False

    def forget(self, product_id: str) -> None:
        self._cache.evict(product_id)
