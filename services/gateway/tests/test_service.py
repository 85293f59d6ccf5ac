"""CatalogReader's cache (cachebox keeps the time: the expiry test polls, briefly)."""

import asyncio
import time

import httpx
from shop_dapr.invoke import Invoker

from gateway.service import CatalogReader


class Catalog:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        product_id = request.url.path.removeprefix("/products/")
        self.asked.append(f"?{request.url.params}" if request.url.params else product_id)
        if product_id == "gone":
            return httpx.Response(404, json={"detail": "not found"})
        return httpx.Response(200, json={"id": product_id})


def reader(catalog: Catalog, ttl_seconds: float, max_entries: int = 10_000) -> CatalogReader:
    sidecar = httpx.AsyncClient(transport=httpx.MockTransport(catalog.handle), base_url="http://d")
    return CatalogReader(Invoker(sidecar), "catalog", ttl_seconds, max_entries)


async def hits(products: CatalogReader, *product_ids: str) -> list[bool]:
    return [(await products.product(product_id))[1] for product_id in product_ids]


async def page_hits(products: CatalogReader, *queries: str) -> list[bool]:
    return [(await products.page("/products", query))[1] for query in queries]


async def test_pages_expire_after_the_ttl() -> None:
    catalog = Catalog()
    products = reader(catalog, ttl_seconds=0.3)
    started = time.monotonic()
    assert await hits(products, "mug", "mug") == [False, True]
    # A hit until the TTL is up, then a miss that asks the catalog again.
    while await hits(products, "mug") == [True]:
        assert time.monotonic() - started < 5, "the page never expired"
        await asyncio.sleep(0.02)
    assert time.monotonic() - started >= 0.3
    assert catalog.asked == ["mug", "mug"]


async def test_the_oldest_page_is_dropped_when_full() -> None:
    catalog = Catalog()
    products = reader(catalog, ttl_seconds=60, max_entries=2)
    assert await hits(products, "a", "b", "c") == [False, False, False]
    assert await hits(products, "c", "b", "a") == [True, True, False]
    assert catalog.asked == ["a", "b", "c", "a"]


async def test_forget_evicts_and_404s_are_not_cached() -> None:
    catalog = Catalog()
    products = reader(catalog, ttl_seconds=60)
    assert await hits(products, "mug", "gone", "gone") == [False, False, False]
    products.forget("mug")
    products.forget("never-cached")
    assert await hits(products, "mug", "mug") == [False, True]


async def test_a_ttl_of_0_caches_nothing() -> None:
    catalog = Catalog()
    products = reader(catalog, ttl_seconds=0)
    assert await hits(products, "mug", "mug") == [False, False]
    products.forget("mug")
    assert catalog.asked == ["mug", "mug"]


async def test_listing_pages_are_cached_by_query_and_dropped_at_any_change() -> None:
    catalog = Catalog()
    products = reader(catalog, ttl_seconds=60)
    assert await page_hits(products, "q=tea&page=2", "page=2&q=tea", "q=tea") == [
        False,
        True,
        False,
    ]
    assert await hits(products, "mug", "cup") == [False, False]

    products.forget("mug")  # any product may be on any listing page

    assert await page_hits(products, "page=2&q=tea", "q=tea") == [False, False]
    assert await hits(products, "cup", "mug") == [True, False]
    assert catalog.asked == [
        "?page=2&q=tea",
        "?q=tea",
        "mug",
        "cup",
        "?page=2&q=tea",
        "?q=tea",
        "mug",
    ]


async def test_fresh_reads_ask_the_catalog_and_cache_the_answer() -> None:
    catalog = Catalog()
    products = reader(catalog, ttl_seconds=60)
    assert await hits(products, "mug") == [False]
    assert (await products.product("mug", fresh=True))[1] is False
    assert (await products.page("/products", "q=tea", fresh=True))[1] is False
    assert await hits(products, "mug") == [True]
    assert await page_hits(products, "q=tea") == [True]
    assert catalog.asked == ["mug", "mug", "?q=tea"]
