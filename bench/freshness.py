"""How soon a shopper sees a price change through the gateway's cache: the product page
and the first listing page are cached (read until `X-Cache: hit`), the price is changed
by the catalog's admin API, and both pages are read every 5 ms until they show it. The
time runs from sending the change; the cache's TTL (a minute) is far longer, so what is
measured is the eviction by `catalog.product-changed`."""

import time
import uuid
from typing import Any

import httpx

from bench.shop import BenchShop
from bench.stats import percentiles
from tests.system.shopper import admin_put_product

DEADLINE_SECONDS = 30


def _price(answer: httpx.Response, product_id: str) -> int | None:
    body = answer.json()
    if "items" in body:  # the listing: the product's line, if it is on the page
        body = next((item for item in body["items"] if item["id"] == product_id), None)
    return None if body is None else int(body["price_cents"])


def _poll(client: httpx.Client, url: str, until: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not until(client.get(url)):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} within {DEADLINE_SECONDS}s at {url}: is the gateway subscribed to "
                "catalog.product-changed? see .data/logs/bench-gateway-*.log"
            )
        time.sleep(0.005)


def run_freshness(shop: BenchShop, admin_token: str, changes: int) -> dict[str, Any]:
    catalog = shop.sidecars["catalog"]
    product_id = f"bench-fresh-{uuid.uuid4().hex[:8]}"
    gateway = shop.sidecars["gateway"].app_url
    pages = {
        "product": f"{gateway}/api/v1/products/{product_id}",
        "listing": f"{gateway}/api/v1/products?q={product_id}",
    }
    seen: dict[str, list[float]] = {page: [] for page in pages}
    admin_put_product(catalog, admin_token, product_id, price_cents=100)
    with httpx.Client(timeout=10) as client:
        for change in range(1, changes + 1):
            for page, url in pages.items():
                _poll(client, url, lambda a: a.headers["X-Cache"] == "hit", f"no cached {page}")
            price = 100 + change
            sent = time.monotonic()
            admin_put_product(catalog, admin_token, product_id, price_cents=price)
            for page, url in pages.items():
                _poll(
                    client,
                    url,
                    lambda a: _price(a, product_id) == price,  # noqa: B023 (used at once)
                    f"the new price never showed on the {page}",
                )
                seen[page].append(1000 * (time.monotonic() - sent))
    result = {page: percentiles(took) for page, took in seen.items()}
    print(
        "  price change seen: "
        + ", ".join(f"{page} p99 {r['p99']:.0f} ms" for page, r in result.items()),
        flush=True,
    )
    return {"changes": changes, "seen_ms": result}
