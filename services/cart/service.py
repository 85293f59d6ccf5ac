"""Cart use cases: edit a user's cart safely under concurrency, price it from the catalog."""

import logging
from collections.abc import Sequence

from pydantic import BaseModel
from shop_contracts.cart import Cart
from shop_contracts.catalog import LookupRequest, LookupResponse, PricedProduct
from shop_dapr.app import Dapr
from shop_dapr.invoke import Invoker

from cart.domain import CartContents, ensure_available, price

log = logging.getLogger(__name__)


class ProductNotFound(LookupError):
    pass


class HandledEvent(BaseModel):
    """An order-created event whose cart was emptied."""


class CatalogPrices:
    """`POST /products:lookup` on the catalog."""

    def __init__(self, invoker: Invoker, catalog_app_id: str) -> None:
        self._invoker = invoker
        self._catalog = catalog_app_id

    async def lookup(self, ids: Sequence[str]) -> dict[str, PricedProduct]:
        """The products the catalog still has, by id."""
        if not ids:
            return {}
        request = LookupRequest(ids=list(ids)).model_dump(mode="json")
        found = await self._invoker.call(
            self._catalog, "POST", "/products:lookup", LookupResponse, json=request
        )
        return {product.id: product for product in found.products}


class CartService:
    def __init__(
        self,
        dapr: Dapr,
        catalog: CatalogPrices,
        ttl_seconds: int,
        handled_event_ttl_seconds: int,
    ) -> None:
        self._carts = dapr.repository(CartContents, "cart")
        self._handled = dapr.repository(HandledEvent, "cart-order-created")
        self._catalog = catalog
        self._ttl = ttl_seconds
        self._handled_ttl = handled_event_ttl_seconds

    async def get(self, user_id: str) -> Cart:
        contents = await self._carts.get(user_id) or CartContents()
        products = await self._catalog.lookup(list(contents.quantities))
        return price(user_id, contents, products)

    async def set_quantity(self, user_id: str, product_id: str, quantity: int) -> Cart:
        """Set (not add to) one line, if the catalog has the product and enough of it."""
        current = await self._carts.get(user_id) or CartContents()
        # One lookup both checks the product and prices the whole cart we return. It is
        # made before the write: a change must not call out, as it may run several times.
        priced_ids = set(current.with_quantity(product_id, quantity).quantities)
        products = await self._catalog.lookup(list(priced_ids))
        if product_id not in products:
            raise ProductNotFound(product_id)
        ensure_available(products[product_id], quantity)

        def change(cart: CartContents | None) -> CartContents:
            new = (cart or CartContents()).with_quantity(product_id, quantity)
            price(user_id, new, products)  # a total beyond the contract is never stored
            return new

        # The TTL goes with every write, so each edit extends the cart's life.
        new = await self._carts.update(user_id, change, ttl_seconds=self._ttl)
        if not priced_ids.issuperset(new.quantities):
            # Another writer added products since the lookup: price them too.
            products = await self._catalog.lookup(list(new.quantities))
        return price(user_id, new, products)

    async def remove(self, user_id: str, product_id: str) -> None:
        def change(cart: CartContents | None) -> CartContents | None:
            if cart is None or product_id not in cart.quantities:
                return cart  # nothing to write
            left = cart.without(product_id)
            return left if left.quantities else None  # an emptied cart is deleted

        await self._carts.update(user_id, change, ttl_seconds=self._ttl)

    async def clear(self, user_id: str) -> None:
        # Emptying needs no read: whatever the cart held goes, so no ETag either.
        await self._carts.delete(user_id)

    async def on_order_created(self, event_id: str, user_id: str) -> None:
        """The user checked out: empty the cart, once per event.

        Deleting twice is harmless, but a redelivery arriving after the user has started a
        new cart would empty that one too; hence the handled-event marker. A cart edited
        between checkout and this event loses those edits: accepted, since the order took
        its lines from the cart at checkout and the user sees that order.
        """
        if await self._handled.get(event_id) is not None:
            log.info("order-created event %s already handled", event_id)
            return
        await self.clear(user_id)
        # Marked only after the delete, so a crash in between means a second delete, not a
        # cart that stays full. No first-write-wins needed: two racing copies both clear.
        await self._handled.save(event_id, HandledEvent(), ttl_seconds=self._handled_ttl)
