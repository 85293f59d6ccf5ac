"""Cart use cases: edit a user's cart safely under concurrency, price it from the catalog."""

import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx
from pydantic import ValidationError
from shop_contracts.cart import Cart
from shop_contracts.catalog import LookupRequest, LookupResponse, PricedProduct
from shop_dapr import ETagMismatch, StateStore

from cart.domain import CartContents, ensure_available, price, state_key

log = logging.getLogger(__name__)

# An ETag conflict means someone else changed the cart: the change must be recomputed on
# a fresh read, which a Dapr resiliency retry (resending the same stale write) cannot do.
MAX_ATTEMPTS = 5


class ProductNotFound(LookupError):
    pass


class CatalogUnavailable(RuntimeError):
    pass


class CartChangedConcurrently(RuntimeError):
    pass


class CatalogPrices:
    """`POST /products:lookup` on the catalog, invoked through our sidecar."""

    def __init__(self, sidecar: httpx.AsyncClient, catalog_app_id: str) -> None:
        self._sidecar = sidecar
        self._catalog = catalog_app_id

    async def lookup(self, ids: Sequence[str]) -> dict[str, PricedProduct]:
        """The products the catalog still has, by id."""
        if not ids:
            return {}
        body = LookupRequest(ids=list(ids)).model_dump(mode="json")
        try:
            response = await self._sidecar.post(
                "/products:lookup", json=body, headers={"dapr-app-id": self._catalog}
            )
        except httpx.TransportError as exc:
            raise CatalogUnavailable(f"catalog unreachable through the sidecar: {exc!r}") from exc
        if response.status_code != 200:
            raise CatalogUnavailable(f"catalog answered {response.status_code} to a price lookup")
        try:
            found = LookupResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise CatalogUnavailable(
                "catalog answered a price lookup with an invalid body"
            ) from exc
        return {product.id: product for product in found.products}


# A change to a cart: the current contents in, the new contents out, or None when there
# is nothing to write.
Change = Callable[[CartContents], Awaitable[CartContents | None]]


class CartService:
    def __init__(
        self,
        state: StateStore,
        catalog: CatalogPrices,
        ttl_seconds: int,
        handled_event_ttl_seconds: int,
    ) -> None:
        self._state = state
        self._catalog = catalog
        self._ttl = ttl_seconds
        self._handled_ttl = handled_event_ttl_seconds

    async def get(self, user_id: str) -> Cart:
        entry = await self._state.get(state_key(user_id))
        contents = CartContents.model_validate_json(entry.value) if entry else CartContents()
        products = await self._catalog.lookup(list(contents.quantities))
        return price(user_id, contents, products)

    async def set_quantity(self, user_id: str, product_id: str, quantity: int) -> Cart:
        """Set (not add to) one line, if the catalog has the product and enough of it."""
        priced: Cart | None = None

        async def change(current: CartContents) -> CartContents:
            nonlocal priced
            new = current.with_quantity(product_id, quantity)
            # One lookup both checks the product and prices the whole cart we return.
            products = await self._catalog.lookup(list(new.quantities))
            if product_id not in products:
                raise ProductNotFound(product_id)
            ensure_available(products[product_id], quantity)
            priced = price(user_id, new, products)
            return new

        await self._modify(user_id, change)
        assert priced is not None  # set by the attempt whose write succeeded
        return priced

    async def remove(self, user_id: str, product_id: str) -> None:
        async def change(current: CartContents) -> CartContents | None:
            return current.without(product_id) if product_id in current.quantities else None

        await self._modify(user_id, change)

    async def clear(self, user_id: str) -> None:
        # Emptying needs no read: whatever the cart held goes, so no ETag either.
        await self._state.delete(state_key(user_id))

    async def on_order_created(self, event_id: str, user_id: str) -> None:
        """The user checked out: empty the cart, once per event.

        Deleting twice is harmless, but a redelivery arriving after the user has started a
        new cart would empty that one too; hence the handled-event marker. A cart edited
        between checkout and this event loses those edits: accepted, since the order took
        its lines from the cart at checkout and the user sees that order.
        """
        marker = f"cart-order-created:{event_id}"
        if await self._state.get(marker) is not None:
            log.info("order-created event %s already handled", event_id)
            return
        await self.clear(user_id)
        # Marked only after the delete, so a crash in between means a second delete, not a
        # cart that stays full. No first-write-wins needed: two racing copies both clear.
        await self._state.save(marker, b"1", ttl_seconds=self._handled_ttl)

    async def _modify(self, user_id: str, change: Change) -> CartContents:
        key = state_key(user_id)
        for _ in range(MAX_ATTEMPTS):
            entry = await self._state.get(key)
            current = CartContents.model_validate_json(entry.value) if entry else CartContents()
            new = await change(current)
            if new is None:
                return current
            etag = entry.etag if entry else None
            try:
                if new.quantities:
                    # The TTL goes with every write, so each edit extends the cart's life.
                    data = new.model_dump_json().encode()
                    await self._state.save(key, data, etag, ttl_seconds=self._ttl)
                elif entry is not None:
                    await self._state.delete(key, etag)
            except ETagMismatch:
                continue
            return new
        log.warning("cart of %s: %d writes in a row lost their race", user_id, MAX_ATTEMPTS)
        raise CartChangedConcurrently("cart changed concurrently, retry")
