"""Catalog use cases: browsing, admin writes, and stock reservations for orders."""

import asyncio
import json
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, TypeAdapter
from shop_contracts.catalog import (
    PRODUCT_CHANGED_TOPIC,
    PRODUCT_CHANGED_TYPE,
    PricedProduct,
    ProductChanged,
    ProductQuery,
    ReservationItem,
)
from shop_dapr import Publisher
from shop_dapr.app import Dapr
from shop_dapr.metrics import STOCK_RESERVATIONS
from shop_dapr.usecase import use_case

from catalog import domain
from catalog.domain import IndexEntry, Product, ProductFields, ProductView
from catalog.readmodel import (
    ALL_SHELVES,
    PRODUCT_PREFIX,
    SHELF_PREFIX,
    Listing,
    Shelf,
    shelf_of,
)


class ProductNotFound(LookupError):
    pass


# Before the shelves, the whole index was this one record; read once at start, moved to
# the shelves and deleted (catalog.readmodel).
LEGACY_INDEX_ID = "all"


class Reservation(BaseModel):
    """Which units an order holds, and what became of them."""

    items: list[ReservationItem]
    state: Literal["held", "committed", "released"] = "held"


class ReservationConflict(Exception):
    pass


_RELEASED_UNHELD = Reservation(items=[], state="released")


class CatalogService:
    def __init__(self, dapr: Dapr) -> None:
        self._products = dapr.repository(Product, PRODUCT_PREFIX)
        self._reservations = dapr.repository(Reservation, "reservation")
        self._shelves = dapr.repository(Shelf, SHELF_PREFIX)
        self._listing = Listing()
        # Every catalog and gateway instance applies a product change (docs/scaling.md).
        self._broadcaster: Publisher = dapr.broadcaster

    async def load_listing(self) -> int:
        """Build the in-memory read model from the shelves (at start). Returns its size."""
        legacy = await self._shelves.get(LEGACY_INDEX_ID)
        if legacy is not None:
            for product_id, entry in legacy.entries.items():
                await self._shelve(product_id, entry)
            await self._shelves.delete(LEGACY_INDEX_ID)
        shelves = await self._shelves.get_many(ALL_SHELVES)
        self._listing.load(
            (product_id, entry)
            for shelf in shelves.values()
            for product_id, entry in shelf.entries.items()
        )
        return len(self._listing)

    # --- browsing --------------------------------------------------------------------

    async def get(self, product_id: str) -> tuple[Product, str]:
        """The product and its ETag."""
        found = await self._products.read(product_id)
        if found is None:
            raise ProductNotFound(product_id)
        return found.value, found.etag

    async def browse(self, query: ProductQuery) -> tuple[list[ProductView], int]:
        ids, total = self._listing.search(query)
        # The page's products themselves, for what the summaries lack (what is available).
        products = await self._products.get_many(ids)
        return [ProductView.of(products[i]) for i in ids if i in products], total

    def categories(self) -> dict[str, int]:
        return self._listing.categories()

    async def lookup(self, ids: Sequence[str]) -> tuple[list[PricedProduct], list[str]]:
        products = await self._products.get_many(ids)
        found = [
            PricedProduct(
                id=p.id, name=p.name, price_cents=p.price_cents, available=max(p.available, 0)
            )
            for p in (products[i] for i in dict.fromkeys(ids) if i in products)
        ]
        return found, [i for i in dict.fromkeys(ids) if i not in products]

    async def apply_change(self, product_id: str) -> None:
        """A product changed, perhaps through another catalog instance: this instance's
        listing takes the product as the store has it now. Idempotent, and in any order:
        it reads the product, not the event."""
        product = await self._products.get(product_id)
        if product is None:
            self._listing.remove(product_id)
        else:
            self._listing.put(product_id, IndexEntry.of(product))

    # --- admin writes ----------------------------------------------------------------

    async def put(
        self, product_id: str, fields: ProductFields, if_match: str | None
    ) -> tuple[Product, str]:
        """Create or replace; with `if_match`, only over the version the caller read
        (raises ETagMismatch otherwise). Pending orders keep their reservations."""
        if if_match is None:
            product = await self._products.update(
                product_id, lambda p: domain.replace_fields(p, product_id, fields)
            )
        else:
            current = await self._products.get(product_id)
            product = domain.replace_fields(current, product_id, fields)
            await self._products.save(product_id, product, etag=if_match)
        await self._index_put(product)
        await self._announce(product_id, "upserted")
        return await self.get(product_id)

    async def delete(self, product_id: str, if_match: str | None) -> None:
        await self._products.delete(product_id, etag=if_match)
        await self._shelve(product_id, None)
        self._listing.remove(product_id)
        await self._announce(product_id, "deleted")

    async def seed(self, path: Path) -> int:
        """Load the seed products that are not there yet; safe to run at every start and
        from several instances at once (create-only writes). Returns how many were new."""
        text = await asyncio.to_thread(path.read_text)
        products = TypeAdapter(list[Product]).validate_python(json.loads(text))
        # Read all at once: at every start but the first they are all there, and `create`
        # would read them one by one.
        existing = await self._products.get_many([p.id for p in products])
        created = 0
        for product in products:
            if product.id not in existing and await self._products.create(product.id, product):
                created += 1
            # Also for existing ones: heals a shelf write lost by an earlier crash.
            if product.id not in self._listing:
                await self._index_put(product)
        return created

    # --- reservations ----------------------------------------------------------------

    async def reserve(self, order_id: str, items: Sequence[ReservationItem]) -> None:
        """Hold every item for the order, or none (raises InsufficientStock after
        releasing what it held). Idempotent per order id."""
        with use_case("catalog.reserve", order_id):
            try:
                await self._reserve(order_id, items)
            except domain.InsufficientStock:
                STOCK_RESERVATIONS.labels("refused").inc()
                raise
        STOCK_RESERVATIONS.labels("reserved").inc()

    async def _reserve(self, order_id: str, items: Sequence[ReservationItem]) -> None:
        wanted = Reservation(items=sorted(items, key=lambda i: i.product_id))
        held = await self._reservations.update(order_id, lambda r: r or wanted)
        if held.state == "released":
            raise ReservationConflict(f"order '{order_id}' was already released")
        if held.items != wanted.items:
            raise ReservationConflict(f"order '{order_id}' already holds other items")
        if held.state == "committed":
            # Already sold: a late repeat of the checkout's reservation (a workflow
            # checkout started twice for one Idempotency-Key, its reserve step run again
            # after the first one's paid) holds nothing more; held again, the next
            # announcement of `paid` would take the units out of the stock a second time.
            return
        try:
            # In product-id order, so that concurrent orders contend in the same order.
            for item in held.items:
                await self._change_product(
                    item.product_id,
                    partial(domain.reserve, order_id=order_id, quantity=item.quantity),
                )
        except (domain.InsufficientStock, ProductNotFound):
            await self.release(order_id)
            raise

    async def release(self, order_id: str) -> None:
        """Give the order's units back (payment failed, or checkout abandoned)."""
        await self._settle(order_id, "released", domain.release)

    async def commit(self, order_id: str) -> None:
        """The order is paid: its units are sold."""
        await self._settle(order_id, "committed", domain.commit)

    async def _settle(
        self,
        order_id: str,
        outcome: Literal["committed", "released"],
        rule: Callable[[Product, str], Product],
    ) -> None:
        reservation = await self._reservations.get(order_id)
        if reservation is None:
            if outcome != "released":
                return
            # Released before it was made (the order's checkout was given up while its
            # reservation was still on the way): remember, so that it is refused.
            reservation = await self._reservations.update(order_id, lambda r: r or _RELEASED_UNHELD)
        for item in reservation.items:
            try:
                await self._change_product(item.product_id, lambda p: rule(p, order_id))
            except ProductNotFound:
                continue  # deleted since: nothing left to give back

        def mark(current: Reservation | None) -> Reservation:
            held = current or reservation
            return held if held.state == outcome else held.model_copy(update={"state": outcome})

        await self._reservations.update(order_id, mark)

    # --- helpers ---------------------------------------------------------------------

    async def _change_product(self, product_id: str, rule: Callable[[Product], Product]) -> None:
        def change(current: Product | None) -> Product:
            if current is None:
                raise ProductNotFound(product_id)
            return rule(current)

        await self._products.update(product_id, change)

    async def _index_put(self, product: Product) -> None:
        summary = IndexEntry.of(product)
        await self._shelve(product.id, summary)
        self._listing.put(product.id, summary)

    async def _shelve(self, product_id: str, summary: IndexEntry | None) -> None:
        """Write (or, with None, remove) a product's summary on its shelf."""

        def change(shelf: Shelf | None) -> Shelf | None:
            entries = shelf.entries if shelf else {}
            if entries.get(product_id) == summary:
                return shelf
            if summary is None:
                rest = {k: v for k, v in entries.items() if k != product_id}
                return Shelf(entries=rest) if rest else None
            return Shelf(entries={**entries, product_id: summary})

        await self._shelves.update(shelf_of(product_id), change)

    # Published after the write, not atomically with it: a lost notice leaves a gateway's
    # cache stale until its TTL, and another catalog instance's listing until it restarts.
    async def _announce(self, product_id: str, change: Literal["upserted", "deleted"]) -> None:
        await self._broadcaster.publish(
            PRODUCT_CHANGED_TOPIC,
            PRODUCT_CHANGED_TYPE,
            ProductChanged(product_id=product_id, change=change),
        )
