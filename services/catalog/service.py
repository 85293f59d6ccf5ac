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
    ReservationItem,
)
from shop_dapr import Publisher, StateStore, update
from shop_dapr.metrics import STOCK_RESERVATIONS
from shop_dapr.usecase import use_case

from catalog import domain
from catalog.domain import IndexEntry, Product, ProductFields, ProductQuery, ProductView


class ProductNotFound(LookupError):
    pass


class Index(BaseModel):
    entries: dict[str, IndexEntry] = {}


class Reservation(BaseModel):
    """Which units an order holds, and what became of them."""

    items: list[ReservationItem]
    state: Literal["held", "committed", "released"] = "held"


class ReservationConflict(Exception):
    pass


_RELEASED_UNHELD = Reservation(items=[], state="released")


class CatalogService:
    def __init__(self, state: StateStore, publisher: Publisher) -> None:
        self._state = state
        self._publisher = publisher

    # --- browsing --------------------------------------------------------------------

    async def get(self, product_id: str) -> tuple[Product, str]:
        """The product and its ETag."""
        entry = await self._state.get(domain.state_key(product_id))
        if entry is None:
            raise ProductNotFound(product_id)
        return Product.model_validate_json(entry.value), entry.etag

    async def browse(self, query: ProductQuery) -> tuple[list[ProductView], int]:
        index = await self._index()
        ids, total = domain.search(index.entries, query)
        products = await self._products(ids)
        return [ProductView.of(products[i]) for i in ids if i in products], total

    async def categories(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in (await self._index()).entries.values():
            counts[entry.category] = counts.get(entry.category, 0) + 1
        return dict(sorted(counts.items()))

    async def lookup(self, ids: Sequence[str]) -> tuple[list[PricedProduct], list[str]]:
        products = await self._products(ids)
        found = [
            PricedProduct(
                id=p.id, name=p.name, price_cents=p.price_cents, available=max(p.available, 0)
            )
            for p in (products[i] for i in dict.fromkeys(ids) if i in products)
        ]
        return found, [i for i in dict.fromkeys(ids) if i not in products]

    # --- admin writes ----------------------------------------------------------------

    async def put(
        self, product_id: str, fields: ProductFields, if_match: str | None
    ) -> tuple[Product, str]:
        """Create or replace; with `if_match`, only over the version the caller read
        (raises ETagMismatch otherwise). Pending orders keep their reservations."""
        key = domain.state_key(product_id)
        if if_match is None:
            product = await update(
                self._state, key, Product, lambda p: domain.replace_fields(p, product_id, fields)
            )
        else:
            entry = await self._state.get(key)
            current = Product.model_validate_json(entry.value) if entry else None
            product = domain.replace_fields(current, product_id, fields)
            await self._state.save(key, product.model_dump_json().encode(), if_match)
        await self._index_put(product)
        await self._announce(product_id, "upserted")
        return await self.get(product_id)

    async def delete(self, product_id: str, if_match: str | None) -> None:
        await self._state.delete(domain.state_key(product_id), if_match)
        await update(self._state, domain.INDEX_KEY, Index, lambda i: _without(i, product_id))
        await self._announce(product_id, "deleted")

    async def seed(self, path: Path) -> int:
        """Load the seed products that are not there yet; safe to run at every start and
        from several instances at once (create-only writes). Returns how many were new."""
        text = await asyncio.to_thread(path.read_text)
        products = TypeAdapter(list[Product]).validate_python(json.loads(text))
        # Read first: a create-only write of an existing key is an error the sidecar
        # retries with backoff, which made every start wait seconds a product.
        existing = await self._state.get_many([domain.state_key(p.id) for p in products])
        created = 0
        for product in products:
            key = domain.state_key(product.id)
            if key not in existing and await self._state.create(
                key, product.model_dump_json().encode()
            ):
                created += 1
            # Also for existing ones: heals an index write lost by an earlier crash.
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
        held = await update(
            self._state, domain.reservation_key(order_id), Reservation, lambda r: r or wanted
        )
        if held.state == "released":
            raise ReservationConflict(f"order '{order_id}' was already released")
        if held.items != wanted.items:
            raise ReservationConflict(f"order '{order_id}' already holds other items")
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
        key = domain.reservation_key(order_id)
        entry = await self._state.get(key)
        if entry is None:
            if outcome == "released":
                # Released before it was made (the order's checkout was given up while its
                # reservation was still on the way): remember, so that it is refused.
                await update(self._state, key, Reservation, lambda r: r or _RELEASED_UNHELD)
                entry = await self._state.get(key)
            if entry is None:
                return
        reservation = Reservation.model_validate_json(entry.value)
        for item in reservation.items:
            try:
                await self._change_product(item.product_id, lambda p: rule(p, order_id))
            except ProductNotFound:
                continue  # deleted since: nothing left to give back

        def mark(current: Reservation | None) -> Reservation:
            held = current or reservation
            return held if held.state == outcome else held.model_copy(update={"state": outcome})

        await update(self._state, domain.reservation_key(order_id), Reservation, mark)

    # --- helpers ---------------------------------------------------------------------

    async def _change_product(self, product_id: str, rule: Callable[[Product], Product]) -> None:
        def change(current: Product | None) -> Product:
            if current is None:
                raise ProductNotFound(product_id)
            return rule(current)

        await update(self._state, domain.state_key(product_id), Product, change)

    async def _products(self, ids: Sequence[str]) -> dict[str, Product]:
        entries = await self._state.get_many([domain.state_key(i) for i in dict.fromkeys(ids)])
        products = (Product.model_validate_json(e.value) for e in entries.values())
        return {p.id: p for p in products}

    async def _index(self) -> Index:
        entry = await self._state.get(domain.INDEX_KEY)
        return Index.model_validate_json(entry.value) if entry else Index()

    async def _index_put(self, product: Product) -> None:
        summary = IndexEntry.of(product)

        def change(index: Index | None) -> Index:
            index = index or Index()
            if index.entries.get(product.id) == summary:
                return index
            return Index(entries={**index.entries, product.id: summary})

        await update(self._state, domain.INDEX_KEY, Index, change)

    # Published after the write, not atomically with it: a lost event only leaves a
    # reader's cache stale until its TTL.
    async def _announce(self, product_id: str, change: Literal["upserted", "deleted"]) -> None:
        await self._publisher.publish(
            PRODUCT_CHANGED_TOPIC,
            PRODUCT_CHANGED_TYPE,
            ProductChanged(product_id=product_id, change=change),
        )


def _without(index: Index | None, product_id: str) -> Index:
    if index is None or product_id not in index.entries:
        return index or Index()
    return Index(entries={k: v for k, v in index.entries.items() if k != product_id})
