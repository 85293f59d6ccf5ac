"""Catalog use cases: product reads and admin writes, each write announced as an event."""

from collections.abc import Sequence
from typing import Literal

from shop_contracts.catalog import PRODUCT_CHANGED_TOPIC, PRODUCT_CHANGED_TYPE, ProductChanged
from shop_dapr import Publisher, Save, StateStore

from catalog.domain import Product, state_key


class ProductNotFound(LookupError):
    pass


class CatalogService:
    def __init__(self, state: StateStore, publisher: Publisher) -> None:
        self._state = state
        self._publisher = publisher

    async def get(self, product_id: str) -> tuple[Product, str]:
        """The product and its ETag."""
        entry = await self._state.get(state_key(product_id))
        if entry is None:
            raise ProductNotFound(product_id)
        return Product.model_validate_json(entry.value), entry.etag

    async def put(self, product: Product, if_match: str | None) -> tuple[Product, str]:
        """Create or replace; with `if_match`, only over the version the caller read
        (raises ETagMismatch otherwise)."""
        await self._state.save(state_key(product.id), product.model_dump_json().encode(), if_match)
        await self._announce(product.id, "upserted")
        return await self.get(product.id)

    async def put_many(self, products: Sequence[Product]) -> None:
        """Create or replace several products in one state transaction."""
        await self._state.transact(
            [Save(state_key(p.id), p.model_dump_json().encode()) for p in products]
        )
        for product in products:
            await self._announce(product.id, "upserted")

    async def delete(self, product_id: str, if_match: str | None) -> None:
        await self._state.delete(state_key(product_id), if_match)
        await self._announce(product_id, "deleted")

    # Published after the write, not atomically with it: a lost event only leaves a
    # reader's cache stale until its TTL. Writes that must not lose their event (orders)
    # go through the Dapr outbox instead.
    async def _announce(self, product_id: str, change: Literal["upserted", "deleted"]) -> None:
        await self._publisher.publish(
            PRODUCT_CHANGED_TOPIC,
            PRODUCT_CHANGED_TYPE,
            ProductChanged(product_id=product_id, change=change),
        )
