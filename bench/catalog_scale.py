"""A catalog that scales: listing, filter and search at the shop's size (about a hundred
products) and at 100,000, and what a product write costs at each.

The large catalog is the benchmark's, not the shop's: synthetic products (a fixed random
vocabulary, so every run builds the same catalog) written in bulk through the catalog's
own sidecar (the state API, as the catalog itself stores them: `product:<id>` records and
their summaries on the shelves of catalog.readmodel), then the catalog app is restarted
so that it loads its read model from the shelves, as after any restart; that load is
timed. Afterwards the synthetic products are deleted and the catalog restarted again, so
the shop's store is left as it was.

Each size is measured the same way: wrk at 32 connections on the uncached gateway
(through both sidecars, as a shopper's uncached request goes) and on the catalog alone
(where the catalog's own cost is not hidden by the rest), and 40 admin writes in a row.
"""

import random
import time
from collections.abc import Iterator
from typing import Any

from catalog.domain import IndexEntry, Product
from catalog.readmodel import ALL_SHELVES, PRODUCT_PREFIX, SHELF_PREFIX, Shelf, shelf_of

from bench.shop import BenchShop, Process, wait_for
from bench.stats import percentiles
from bench.wrk import run_wrk
from tests.system.launcher import Sidecar

# (path at the gateway and at the catalog, after /api/v1 or /)
QUERIES = {
    "listing": "products",
    "filter": "products?category=kitchen&min_price_cents=500&sort=price",
    "search": "products?q=tea",
}
PREFIX = "bench-scale-"
CATEGORIES = ["kitchen", "home", "garden", "outdoor", "stationery", "toys", "books", "tools"]
# Records a state API call: one outbound state operation, under resiliency.yaml's 2 s.
BATCH = 200


def vocabulary(rng: random.Random) -> list[str]:
    """Made-up words of two to four syllables, and a few real ones."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "pe", "do", "ga", "hu", "te"]
    made_up = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(4000)}
    return [*sorted(made_up), "tea", "teapot", "mug", "kettle", "lamp", "candle", "pen"]


def synthetic(count: int, start: int = 0) -> Iterator[Product]:
    rng = random.Random(20261129)
    words = vocabulary(rng)
    for n in range(start + count):
        name = " ".join(rng.choices(words, k=rng.randint(2, 3))).capitalize()
        description = " ".join(rng.choices(words, k=10))
        category = rng.choice(CATEGORIES)
        price = rng.randint(100, 20_000)
        if n < start:
            continue  # the same products whatever the batches: the generator is replayed
        yield Product(
            id=f"{PREFIX}{n}",
            name=name,
            description=description,
            category=category,
            price_cents=price,
            stock=100,
        )


def _product_key(product_id: str) -> str:
    return f"{PRODUCT_PREFIX}:{product_id}"


def _shelf_key(shelf: str) -> str:
    return f"{SHELF_PREFIX}:{shelf}"


def catalog_size(catalog: Sidecar) -> int:
    answer = catalog.api.get("/v1.0/invoke/catalog/method/products?page_size=1")
    answer.raise_for_status()
    return int(answer.json()["total"])


def _save(catalog: Sidecar, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), BATCH):
        saved = catalog.api.post(
            "/v1.0/state/statestore", json=records[start : start + BATCH], timeout=120
        )
        if saved.status_code != 204:
            raise RuntimeError(f"bulk save refused: {saved.status_code} {saved.text}")


def _shelves(catalog: Sidecar) -> dict[str, tuple[Shelf, str | None]]:
    """Every shelf there is, with its ETag."""
    found = catalog.api.post(
        "/v1.0/state/statestore/bulk",
        json={"keys": [_shelf_key(n) for n in ALL_SHELVES]},
        timeout=120,
    )
    found.raise_for_status()
    return {
        item["key"].removeprefix(_shelf_key("")): (
            Shelf.model_validate(item["data"]),
            item.get("etag"),
        )
        for item in found.json()
        if item.get("data")
    }


def _save_shelves(catalog: Sidecar, shelves: dict[str, tuple[Shelf, str | None]]) -> None:
    # Over the version read: the catalog writes its records first-write (ETag-guarded),
    # and such a record refuses a write without its ETag.
    _save(
        catalog,
        [
            {"key": _shelf_key(n), "value": shelf.model_dump()} | ({"etag": etag} if etag else {})
            for n, (shelf, etag) in shelves.items()
        ],
    )


def add_products(catalog: Sidecar, products: list[Product]) -> None:
    """Write the products and their summaries as the catalog writes them."""
    _save(catalog, [{"key": _product_key(p.id), "value": p.model_dump()} for p in products])
    shelves = _shelves(catalog)
    for product in products:
        shelf, _ = shelves.setdefault(shelf_of(product.id), (Shelf(), None))
        shelf.entries[product.id] = IndexEntry.of(product)
    _save_shelves(catalog, shelves)


def remove_synthetic(catalog: Sidecar, count: int) -> None:
    """Delete the synthetic products and take them off their shelves."""
    keys = [_product_key(f"{PREFIX}{n}") for n in range(count)]
    for start in range(0, len(keys), BATCH):
        operations = [
            {"operation": "delete", "request": {"key": key}} for key in keys[start : start + BATCH]
        ]
        done = catalog.api.post(
            "/v1.0/state/statestore/transaction", json={"operations": operations}, timeout=120
        )
        if done.status_code != 204:
            raise RuntimeError(f"bulk delete refused: {done.status_code} {done.text}")
    shelves = _shelves(catalog)
    for shelf, _ in shelves.values():
        shelf.entries = {k: v for k, v in shelf.entries.items() if not k.startswith(PREFIX)}
    _save_shelves(catalog, shelves)


def restart_catalog(catalog: Sidecar) -> float:
    """Seconds from the catalog app's restart until its sidecar says it is ready."""
    catalog.kill("app")
    started = time.monotonic()
    catalog.restart("app")
    catalog.wait_ready(timeout=300)
    wait_for(f"{catalog.app_url}/readyz", "the restarted catalog", timeout=300)
    return time.monotonic() - started


def write_latency(catalog: Sidecar, admin_token: str, products: list[Product]) -> dict[str, float]:
    """Admin writes in a row, each changing a price (product, shelf, event)."""
    took = []
    for n, product in enumerate(products):
        fields = product.model_dump(exclude={"id", "reservations"})
        fields["price_cents"] = 100 + n
        sent = time.monotonic()
        answer = catalog.api.put(
            f"/v1.0/invoke/catalog/method/products/{product.id}",
            json=fields,
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        took.append(1000 * (time.monotonic() - sent))
        answer.raise_for_status()
    return percentiles(took)


def measure_size(
    shop: BenchShop, admin_token: str, seconds: float, connections: int, writes: list[Product]
) -> dict[str, Any]:
    assert shop.uncached_gateway is not None
    catalog = shop.sidecars["catalog"]
    size: dict[str, Any] = {"products": catalog_size(catalog), "browse": []}
    for endpoint, path in QUERIES.items():
        targets = {
            "sidecars": (f"{shop.uncached_gateway.app_url}/api/v1/{path}", {}),
            "catalog": (f"{catalog.app_url}/{path}", {"dapr-api-token": catalog.app_token}),
        }
        for mode, (url, headers) in targets.items():
            result = run_wrk(url, connections, seconds, headers)
            size["browse"].append(
                {
                    "endpoint": endpoint,
                    "mode": mode,
                    "rps": result.rps,
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "errors": result.errors,
                }
            )
            print(
                f"  catalog at {size['products']:>6}: {endpoint:7} {mode:8} "
                f"{result.rps:6.0f} req/s p99 {result.p99_ms:6.1f} ms errors {result.errors}",
                flush=True,
            )
    size["write_ms"] = write_latency(catalog, admin_token, writes)
    size["catalog_rss_mb"] = round(Process("catalog", catalog.processes["app"].pid).rss_mb(), 1)
    print(f"  catalog at {size['products']:>6}: write p99 {size['write_ms']['p99']:.1f} ms")
    return size


def run_catalog_scale(
    shop: BenchShop, admin_token: str, large: int, seconds: float, connections: int = 32
) -> dict[str, Any]:
    catalog = shop.sidecars["catalog"]
    # The shop's own products count too; 40 synthetic ones at least, to be written.
    small = max(40, 100 - catalog_size(catalog))
    try:
        add_products(catalog, list(synthetic(small)))
        sizes: dict[str, Any] = {"small_load_seconds": restart_catalog(catalog)}
        writes = list(synthetic(40))
        sizes["small"] = measure_size(shop, admin_token, seconds, connections, writes)
        add_products(catalog, list(synthetic(large - small, start=small)))
        sizes["large_load_seconds"] = restart_catalog(catalog)
        sizes["large"] = measure_size(shop, admin_token, seconds, connections, writes)
        return sizes
    finally:
        remove_synthetic(catalog, large)
        restart_catalog(catalog)
