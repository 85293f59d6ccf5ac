"""Checkout and the order life cycle, as the choreography in shared/DESIGN.md:
cart and catalog by invocation, the order and its order.created event in one outbox
transaction, then payment events move the order on."""

import logging
from collections.abc import Callable

import httpx
from pydantic import BaseModel
from shop_contracts.cart import Cart
from shop_contracts.catalog import LookupResponse, ReservationItem, ReserveRequest
from shop_contracts.common import CURRENCY
from shop_contracts.orders import (
    ORDER_CREATED_TYPE,
    ORDER_STATUS_TOPIC,
    ORDER_STATUS_TYPE,
    OrderCreated,
    OrderLine,
    OrderStatusChanged,
)
from shop_dapr import Publisher, StateStore, update
from shop_dapr.metrics import CHECKOUTS, ORDERS_FINALISED
from shop_dapr.usecase import use_case

from orders import domain
from orders.domain import Order

log = logging.getLogger(__name__)


class CheckoutRefused(Exception):
    """The checkout cannot go ahead as asked (the caller can fix it): a 4xx."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class UpstreamUnavailable(RuntimeError):
    pass


class OrderNotFound(LookupError):
    pass


class History(BaseModel):
    order_ids: list[str] = []


class OrdersService:
    def __init__(
        self,
        state: StateStore,
        publisher: Publisher,
        sidecar: httpx.AsyncClient,
        cart_app_id: str,
        catalog_app_id: str,
    ) -> None:
        self._state = state
        self._publisher = publisher
        self._sidecar = sidecar
        self._cart = cart_app_id
        self._catalog = catalog_app_id

    # --- checkout --------------------------------------------------------------------

    async def checkout(
        self, user_id: str, email: str, payment_token: str, idempotency_key: str | None
    ) -> tuple[Order, bool]:
        """The order, and whether this call created it (False: an earlier call with the
        same Idempotency-Key did)."""
        order_id = domain.order_id_for(user_id, idempotency_key)
        with use_case("orders.checkout", order_id):
            try:
                order, created = await self._checkout(order_id, user_id, email, payment_token)
            except CheckoutRefused as exc:
                CHECKOUTS.labels("out_of_stock" if exc.status_code == 409 else "rejected").inc()
                raise
        CHECKOUTS.labels("placed" if created else "replayed").inc()
        if created:
            log.info("order placed: %d lines, %d cents", len(order.lines), order.total_cents)
        return order, created

    async def _checkout(
        self, order_id: str, user_id: str, email: str, payment_token: str
    ) -> tuple[Order, bool]:
        existing = await self._state.get(domain.order_key(order_id))
        if existing is not None:
            return Order.model_validate_json(existing.value), False

        lines = await self._priced_lines(user_id)
        await self._reserve(order_id, lines)
        order = Order(
            order_id=order_id,
            user_id=user_id,
            email=email,
            lines=lines,
            total_cents=domain.total_of(lines),
            currency=CURRENCY,
            card_last4=payment_token[-4:],
        )
        event = OrderCreated(
            order_id=order_id,
            user_id=user_id,
            email=email,
            lines=lines,
            total_cents=order.total_cents,
            currency=CURRENCY,
            payment_token=payment_token,
            created_at=order.created_at,
        )
        try:
            # Listed first: a listed id whose order never got saved is skipped on read.
            await update(
                self._state,
                domain.history_key(user_id),
                History,
                lambda h: _with_order(h, order_id),
            )
            await self._state.save_with_event(
                domain.order_key(order_id),
                order.model_dump_json().encode(),
                None,
                ORDER_CREATED_TYPE,
                event,
            )
        except Exception:
            # No order, no event: give the held stock back before failing.
            await self._release(order_id)
            raise
        return order, True

    async def _priced_lines(self, user_id: str) -> list[OrderLine]:
        cart = Cart.model_validate(await self._call(self._cart, "GET", f"/carts/{user_id}"))
        if not cart.lines:
            raise CheckoutRefused(422, "your cart is empty: add products before checking out")
        # Prices come from the catalog now, not from what the cart showed earlier.
        found = LookupResponse.model_validate(
            await self._call(
                self._catalog,
                "POST",
                "/products:lookup",
                json={"ids": [line.product_id for line in cart.lines]},
            )
        )
        if found.missing:
            raise CheckoutRefused(
                409, f"no longer sold: {', '.join(found.missing)}; remove it from your cart"
            )
        prices = {p.id: p for p in found.products}
        return [
            OrderLine(
                product_id=line.product_id,
                name=prices[line.product_id].name,
                quantity=line.quantity,
                unit_price_cents=prices[line.product_id].price_cents,
            )
            for line in cart.lines
        ]

    async def _reserve(self, order_id: str, lines: list[OrderLine]) -> None:
        request = ReserveRequest(
            order_id=order_id,
            items=[ReservationItem(product_id=x.product_id, quantity=x.quantity) for x in lines],
        )
        response = await self._send(
            self._catalog, "POST", "/reservations", json=request.model_dump()
        )
        if response.status_code == 409:
            raise CheckoutRefused(409, response.json().get("detail", "not enough stock"))
        if response.status_code != 200:
            raise UpstreamUnavailable(f"catalog refused the reservation: {response.status_code}")

    async def _release(self, order_id: str) -> None:
        try:
            await self._send(self._catalog, "DELETE", f"/reservations/{order_id}")
        except UpstreamUnavailable:
            log.exception("could not release the stock of order %s", order_id)

    # --- reads -----------------------------------------------------------------------

    async def get(self, user_id: str, order_id: str) -> Order:
        entry = await self._state.get(domain.order_key(order_id))
        order = Order.model_validate_json(entry.value) if entry else None
        if order is None or order.user_id != user_id:
            raise OrderNotFound(order_id)  # another user's order does not exist for you
        return order

    async def history(self, user_id: str) -> list[Order]:
        entry = await self._state.get(domain.history_key(user_id))
        ids = History.model_validate_json(entry.value).order_ids if entry else []
        found = await self._state.get_many([domain.order_key(i) for i in ids])
        orders = [Order.model_validate_json(e.value) for e in found.values()]
        return sorted(orders, key=lambda o: o.created_at, reverse=True)

    # --- payment outcomes ------------------------------------------------------------

    async def payment_succeeded(self, order_id: str, payment_id: str) -> None:
        await self._transition(order_id, lambda o: domain.mark_paid(o, payment_id))

    async def payment_failed(self, order_id: str, reason: str) -> None:
        await self._transition(order_id, lambda o: domain.cancel(o, reason))

    async def _transition(self, order_id: str, rule: Callable[[Order], Order]) -> None:
        moved = False

        def change(current: Order | None) -> Order:
            nonlocal moved
            if current is None:
                raise OrderNotFound(order_id)
            changed = rule(current)
            moved = changed.status != current.status
            return changed

        with use_case("orders.settle", order_id):
            order = await update(self._state, domain.order_key(order_id), Order, change)
        if moved:
            ORDERS_FINALISED.labels(order.status).inc()
            log.info("order %s", order.status)
        # Published on every delivery, even when the state had already moved: the
        # earlier publish may be the part that failed. Consumers are idempotent.
        await self._publisher.publish(
            ORDER_STATUS_TOPIC,
            ORDER_STATUS_TYPE,
            OrderStatusChanged(
                order_id=order.order_id,
                user_id=order.user_id,
                email=order.email,
                status=order.status,
                total_cents=order.total_cents,
                currency=order.currency,
                lines=order.lines,
                reason=order.reason,
            ),
        )

    # --- invocation ------------------------------------------------------------------

    async def _send(
        self, app_id: str, method: str, path: str, json: object | None = None
    ) -> httpx.Response:
        try:
            return await self._sidecar.request(
                method, path, headers={"dapr-app-id": app_id}, json=json
            )
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{app_id} unreachable through the sidecar: {exc!r}") from exc

    async def _call(
        self, app_id: str, method: str, path: str, json: object | None = None
    ) -> object:
        response = await self._send(app_id, method, path, json)
        if response.status_code != 200:
            raise UpstreamUnavailable(
                f"{app_id} answered {response.status_code} to {method} {path}"
            )
        return response.json()


def _with_order(history: History | None, order_id: str) -> History:
    history = history or History()
    if order_id in history.order_ids:
        return history
    return History(order_ids=[*history.order_ids, order_id])
