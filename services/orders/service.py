"""Checkout and the order life cycle. The steps every checkout takes (price, reserve,
place, charge, settle) and the choreography that chains them: cart and catalog by
invocation, the order saved and then announced (order-created), payment events move it
on, and the sweeper finishes what a crash left half done (docs/reliability). The other
style, the workflow (orders/workflow.py), chains the same steps itself. Once paid, in
either style, shipping's events move the order on: shipped, then delivered."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from shop_contracts.cart import Cart
from shop_contracts.catalog import LookupResponse, ReservationItem, ReserveRequest
from shop_contracts.common import CURRENCY
from shop_contracts.orders import (
    ORDER_CREATED_TOPIC,
    ORDER_CREATED_TYPE,
    ORDER_STATUS_TOPIC,
    ORDER_STATUS_TYPE,
    OrderCreated,
    OrderLine,
    OrderStatus,
)
from shop_contracts.payments import (
    ChargeRequest,
    PaymentFailed,
    PaymentRecord,
    PaymentSucceeded,
)
from shop_contracts.shipping import ShipmentDelivered, ShipmentDispatched, ShipmentRecord
from shop_dapr import Publisher
from shop_dapr.app import Dapr
from shop_dapr.invoke import Invoker, Unavailable
from shop_dapr.metrics import CHECKOUTS, ORDERS_FINALISED, SHIPMENTS, SWEPT
from shop_dapr.usecase import use_case

from orders import domain
from orders.domain import Order
from orders.inflight import InFlight, OpenCheckout, Shard

log = logging.getLogger(__name__)


class CheckoutRefused(Exception):
    """The checkout cannot go ahead as asked (the caller can fix it): a 4xx."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class OrderNotFound(LookupError):
    pass


class OutcomeRefused(Exception):
    """A payment event that does not match the order or what payments knows: forged,
    or misrouted. Never applied."""


class ShipmentRefused(Exception):
    """A shipment event shipping does not stand behind (no such shipment, another
    tracking number, or not that far yet): forged, or misrouted. Never applied."""


# How far a shipment has come, by shipping's record and by the event that says so.
_SHIPMENT_PROGRESS = {"preparing": 0, "dispatched": 1, "delivered": 2}


class PaymentOutcome(BaseModel):
    """What a charge came to, as payments knows it: what settles an order."""

    order_id: str
    status: Literal["succeeded", "declined", "awaiting_confirmation"]
    payment_id: str | None = None
    reason: str | None = None


# How a style chains a checkout: (order id, user, email, payment token) -> the order
# once placed, and whether this call placed it.
Chain = Callable[[str, str, str, str], Awaitable[tuple[Order, bool]]]


class History(BaseModel):
    order_ids: list[str] = []


@dataclass(frozen=True)
class Peers:
    """The app ids orders calls."""

    cart: str
    catalog: str
    payments: str
    shipping: str = "shipping"


class OrdersService:
    def __init__(
        self,
        dapr: Dapr,
        peers: Peers,
        reannounce_after: timedelta = timedelta(seconds=30),
        confirmation_timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        self._orders = dapr.repository(Order, "order")
        self._histories = dapr.repository(History, "orders-of")
        self._in_flight = InFlight(dapr.repository(Shard, "open-checkouts"))
        self._publisher: Publisher = dapr.publisher
        self._invoker: Invoker = dapr.invoker
        self._peers = peers
        # When this instance last announced each pending order again, so that an order
        # stuck while payments is down is repeated every `reannounce_after`, not at every
        # sweep (each repeat is a delivery to every consumer, and they pile up).
        self._reannounce_after = reannounce_after.total_seconds()
        self._announced_at: dict[str, float] = {}
        # A charge the provider has not confirmed after this long is voided.
        self._confirmation_timeout = confirmation_timeout
        # The style that chains the checkout: the choreography below, unless a workflow
        # takes over (chain_with): it places checkouts and gets the checked outcomes.
        self._place: Chain = self._checkout
        self._outcomes: Callable[[PaymentOutcome], Awaitable[None]] = self.settle
        # Whether the workflow of a checkout is still moving (the sweeper leaves it be).
        self._moving: Callable[[str], Awaitable[bool]] = _never

    def chain_with(
        self,
        place: Chain,
        outcomes: Callable[[PaymentOutcome], Awaitable[None]],
        moving: Callable[[str], Awaitable[bool]],
    ) -> None:
        self._place, self._outcomes, self._moving = place, outcomes, moving

    async def track(self, event: OrderCreated) -> None:
        """Record a checkout in flight (the choreography does it itself): the sweeper
        then finishes it should its workflow stall."""
        await self._in_flight.open(event)

    # --- checkout --------------------------------------------------------------------

    async def checkout(
        self, user_id: str, email: str, payment_token: str, idempotency_key: str | None
    ) -> tuple[Order, bool]:
        """The order, and whether this call created it (False: an earlier call with the
        same Idempotency-Key did)."""
        order_id = domain.order_id_for(user_id, idempotency_key)
        with use_case("orders.checkout", order_id):
            try:
                order, created = await self._place(order_id, user_id, email, payment_token)
            except CheckoutRefused as exc:
                CHECKOUTS.labels("out_of_stock" if exc.status_code == 409 else "rejected").inc()
                raise
        CHECKOUTS.labels("placed" if created else "replayed").inc()
        return order, created

    async def _checkout(
        self, order_id: str, user_id: str, email: str, payment_token: str
    ) -> tuple[Order, bool]:
        if (existing := await self._orders.get(order_id)) is not None:
            return replayed(existing), False
        order = await self.draft(order_id, user_id, email, payment_token)
        event = domain.created_event(order, payment_token)
        # Opened before any stock is held: from here on, whatever fails or crashes, the
        # sweeper finds this checkout and finishes it (no stranded order, no held stock).
        # A refused reservation leaves it open too: the sweeper then abandons the order
        # id, so that a retry with the same Idempotency-Key gets the same refusal.
        await self._in_flight.open(event)
        await self.reserve(order_id, order.lines)
        return await self.place(order, event)

    # --- the steps of a checkout, in either style ------------------------------------

    async def draft(self, order_id: str, user_id: str, email: str, payment_token: str) -> Order:
        """The order the caller's cart makes, priced by the catalog now; not saved."""
        lines = await self._priced_lines(user_id)
        return Order(
            order_id=order_id,
            user_id=user_id,
            email=email,
            lines=lines,
            total_cents=domain.total_of(lines),
            currency=CURRENCY,
            card_last4=payment_token[-4:],
        )

    async def place(self, order: Order, event: OrderCreated) -> tuple[Order, bool]:
        """Save the order (its stock reserved) and announce it: it is accepted once saved.
        The saved order, and whether this call saved it (a repeat finds it saved)."""
        # Listed first: a listed id whose order never got saved is skipped on read.
        await self._histories.update(order.user_id, lambda h: _with_order(h, order.order_id))
        if not await self._orders.create(order.order_id, order):
            # A concurrent checkout with the same Idempotency-Key saved it first, or the
            # sweeper gave this one up as abandoned (it took longer than its grace).
            earlier = await self._order(order.order_id)
            if earlier.reason == domain.ABANDONED:
                raise Unavailable("the checkout took too long and was abandoned")
            return earlier, False
        log.info("order placed: %d lines, %d cents", len(order.lines), order.total_cents)
        # Saved: the order is accepted. Announcing it can fail (the broker may be down);
        # the sweeper announces it again until payments answers.
        try:
            await self._announce_created(event)
        except Exception:
            log.warning("order-created not published yet; the sweeper will", exc_info=True)
        return order, True

    async def _priced_lines(self, user_id: str) -> list[OrderLine]:
        cart = await self._invoker.call(self._peers.cart, "GET", f"/carts/{user_id}", Cart)
        if not cart.lines:
            raise CheckoutRefused(409, "your cart is empty: add products before checking out")
        # Prices come from the catalog now, not from what the cart showed earlier.
        found = await self._invoker.call(
            self._peers.catalog,
            "POST",
            "/products:lookup",
            LookupResponse,
            json={"ids": [line.product_id for line in cart.lines]},
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

    async def reserve(self, order_id: str, lines: list[OrderLine]) -> None:
        """Hold the stock (all lines or none); CheckoutRefused(409) when short."""
        request = ReserveRequest(
            items=[ReservationItem(product_id=x.product_id, quantity=x.quantity) for x in lines]
        )
        response = await self._invoker.request(
            self._peers.catalog, "PUT", f"/reservations/{order_id}", json=request.model_dump()
        )
        if response.status_code == 409:
            raise CheckoutRefused(409, response.json().get("detail", "not enough stock"))
        if response.status_code != 200:
            raise Unavailable(f"catalog refused the reservation: {response.status_code}")

    async def release(self, order_id: str) -> None:
        """Give back what the order holds (nothing held: nothing happens)."""
        response = await self._invoker.request(
            self._peers.catalog, "DELETE", f"/reservations/{order_id}"
        )
        if response.status_code not in (200, 204):
            raise Unavailable(f"catalog refused the release: {response.status_code}")

    async def charge(self, order: Order, payment_token: str) -> PaymentOutcome:
        """Charge the order once (payments keys it by order id, so a repeat cannot
        charge again); the outcome may still await the provider's confirmation."""
        request = ChargeRequest(
            order_id=order.order_id,
            amount_cents=order.total_cents,
            currency=order.currency,
            payment_token=payment_token,
        )
        record = await self._invoker.call(
            self._peers.payments, "POST", "/charges", PaymentRecord, json=request.model_dump()
        )
        return _checked(record, order)

    async def void_charge(self, order_id: str) -> PaymentOutcome | None:
        """Stop waiting for the provider: a charge still awaiting its confirmation is
        declined; one settled first keeps its outcome. None: payments has no charge."""
        response = await self._invoker.request(
            self._peers.payments, "POST", f"/payments/{order_id}/void"
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unavailable(f"payments answered {response.status_code} to the void")
        record = PaymentRecord.model_validate_json(response.content)
        return _checked(record, await self._order(order_id))

    async def refund(self, order_id: str) -> None:
        """Give back all that was charged for the order (none left: nothing happens)."""
        response = await self._invoker.request(
            self._peers.payments, "POST", "/refunds", json={"order_id": order_id}
        )
        if response.status_code != 200:
            raise Unavailable(f"payments answered {response.status_code} to the refund")

    async def mark_paid(self, order_id: str, payment_id: str) -> None:
        """Raises InvalidTransition when the order was cancelled meanwhile."""
        await self._settle_order(order_id, lambda o: domain.mark_paid(o, payment_id))

    async def cancel(self, order_id: str, reason: str) -> None:
        await self._settle_order(order_id, lambda o: domain.cancel(o, reason))

    # --- reads -----------------------------------------------------------------------

    async def find(self, order_id: str) -> Order | None:
        return await self._orders.get(order_id)

    async def get(self, user_id: str, order_id: str) -> Order:
        """The user's order. Another user's order, and a checkout that was abandoned
        before anyone was told of it, do not exist for the caller."""
        order = await self._order(order_id)
        if order.user_id != user_id or order.reason == domain.ABANDONED:
            raise OrderNotFound(order_id)
        return order

    async def history(self, user_id: str) -> list[Order]:
        history = await self._histories.get(user_id) or History()
        found = await self._orders.get_many(history.order_ids)
        shown = [o for o in found.values() if o.reason != domain.ABANDONED]
        return sorted(shown, key=lambda o: o.created_at, reverse=True)

    async def _order(self, order_id: str) -> Order:
        if (order := await self._orders.get(order_id)) is None:
            raise OrderNotFound(order_id)
        return order

    # --- payment outcomes ------------------------------------------------------------

    async def payment_succeeded(self, outcome: PaymentSucceeded) -> None:
        """Raises OutcomeRefused when the event does not match the order and what
        payments knows of it (amount, currency, payment id)."""
        order = await self._order(outcome.order_id)
        if (outcome.amount_cents, outcome.currency) != (order.total_cents, order.currency):
            raise OutcomeRefused(
                f"says {outcome.amount_cents} cents {outcome.currency} were paid for an "
                f"order of {order.total_cents} cents {order.currency}"
            )
        record = await self._payment_record(outcome.order_id)
        if record.status != "succeeded" or record.payment_id != outcome.payment_id:
            raise OutcomeRefused(
                f"payment {outcome.payment_id!r} is unknown to payments "
                f"(it knows {record.status}, {record.payment_id!r})"
            )
        if (record.amount_cents, record.currency) != (order.total_cents, order.currency):
            raise OutcomeRefused(f"payments charged {record.amount_cents} cents {record.currency}")
        await self._outcomes(
            PaymentOutcome(
                order_id=outcome.order_id, status="succeeded", payment_id=outcome.payment_id
            )
        )

    async def payment_failed(self, outcome: PaymentFailed) -> None:
        """Raises OutcomeRefused unless payments knows the charge as declined."""
        record = await self._payment_record(outcome.order_id)
        if record.status != "declined":
            raise OutcomeRefused(f"payments knows the charge as {record.status}, not declined")
        await self._outcomes(
            PaymentOutcome(order_id=outcome.order_id, status="declined", reason=outcome.reason)
        )

    async def settle(self, outcome: PaymentOutcome) -> None:
        """Move the order to paid or cancelled by a checked outcome (the choreography)."""
        if outcome.status == "succeeded":
            await self.mark_paid(outcome.order_id, outcome.payment_id or "")
        elif outcome.status == "declined":
            await self.cancel(outcome.order_id, outcome.reason or "payment_failed")

    # --- shipments ------------------------------------------------------------------

    async def shipment_dispatched(self, event: ShipmentDispatched) -> None:
        """paid -> shipped, once shipping confirms the event. Raises ShipmentRefused when
        shipping does not stand behind it, InvalidTransition when the order was never
        paid (shipping never ships such an order), Unavailable when shipping cannot be
        asked."""
        record = await self._shipment_record(event.order_id, event.tracking_number, "dispatched")
        with use_case("orders.ship", event.order_id):
            before, order = await self._transition(event.order_id, lambda o: domain.ship(o, record))
            self._count_move(before, order)
            # Announced on every delivery, as paid is. A delivered order was announced
            # by its delivered event (shipped included): nothing older is said again.
            if order.status is OrderStatus.SHIPPED:
                await self._announce(order, OrderStatus.SHIPPED)

    async def shipment_delivered(self, event: ShipmentDelivered) -> None:
        """shipped -> delivered (paid -> shipped -> delivered when the dispatch event is
        still on its way), once shipping confirms the event; raises as
        `shipment_dispatched`."""
        record = await self._shipment_record(event.order_id, event.tracking_number, "delivered")
        with use_case("orders.deliver", event.order_id):
            before, order = await self._transition(
                event.order_id, lambda o: domain.deliver(o, record)
            )
            self._count_move(before, order)
            if before is OrderStatus.SHIPPED:
                # Its shipped was announced by the dispatch event's delivery.
                await self._announce(order, OrderStatus.DELIVERED)
            else:
                # Taken through shipped now, or by an earlier delivery of this event
                # whose announcements may have failed halfway: both, in order.
                await self._announce(order, OrderStatus.SHIPPED, OrderStatus.DELIVERED)

    def _count_move(self, before: OrderStatus, order: Order) -> None:
        if order.status == before:
            return
        if before is OrderStatus.PAID and order.status is OrderStatus.DELIVERED:
            SHIPMENTS.labels(OrderStatus.SHIPPED).inc()
        SHIPMENTS.labels(order.status).inc()
        log.info("order %s (was %s)", order.status, before)

    async def _shipment_record(
        self, order_id: str, tracking_number: str, reached: str
    ) -> ShipmentRecord:
        """Shipping's record of the order's shipment, once it says what the event says:
        this tracking number, and at least `reached` (dispatched or delivered)."""
        response = await self._invoker.request(
            self._peers.shipping, "GET", f"/shipments/{order_id}"
        )
        if response.status_code == 404:
            raise ShipmentRefused("shipping has no shipment for this order")
        if response.status_code != 200:
            raise Unavailable(f"shipping answered {response.status_code}")
        record = ShipmentRecord.model_validate_json(response.content)
        if record.order_id != order_id:
            raise ShipmentRefused(f"shipping answered for order {record.order_id}")
        if record.tracking_number != tracking_number:
            raise ShipmentRefused(
                f"tracking number {tracking_number!r} is unknown to shipping "
                f"(it knows {record.tracking_number!r})"
            )
        if _SHIPMENT_PROGRESS[record.status] < _SHIPMENT_PROGRESS[reached]:
            raise ShipmentRefused(f"shipping knows the shipment as {record.status}, not {reached}")
        return record

    async def _payment_record(self, order_id: str) -> PaymentRecord:
        response = await self._invoker.request(self._peers.payments, "GET", f"/payments/{order_id}")
        if response.status_code == 404:
            raise OutcomeRefused("payments has no charge for this order")
        if response.status_code != 200:
            raise Unavailable(f"payments answered {response.status_code}")
        return PaymentRecord.model_validate_json(response.content)

    async def _settle_order(self, order_id: str, rule: Callable[[Order], Order]) -> None:
        with use_case("orders.settle", order_id):
            before, order = await self._transition(order_id, rule)
        if order.status != before:
            ORDERS_FINALISED.labels(order.status).inc()
            log.info("order %s", order.status)
        # Announced on every delivery, even when the state had already moved: the
        # earlier announcement may be the part that failed. Consumers are idempotent.
        await self._finish(order)

    async def _transition(
        self, order_id: str, rule: Callable[[Order], Order]
    ) -> tuple[OrderStatus, Order]:
        """The order's status before the change (as it was when the change was written:
        an ETag race makes it read again), and the order after it."""
        before = OrderStatus.PENDING

        def change(current: Order | None) -> Order:
            nonlocal before
            if current is None:
                raise OrderNotFound(order_id)
            before = current.status
            return rule(current)

        order = await self._orders.update(order_id, change)
        return before, order

    async def _finish(self, order: Order) -> None:
        """Announce the checkout's final status (paid or cancelled), then forget the
        checkout: in this order, so that a crash in between leaves it to the sweeper to
        announce again. An order shipped since had its paid announced already (shipping
        ships only on it): the checkout is only forgotten."""
        if order.status not in domain.SHIPPING:
            await self._announce(order, order.status)
        await self._in_flight.close(order.order_id)

    async def _announce(self, order: Order, *statuses: OrderStatus) -> None:
        """orders.order-status-changed for each status, under the id `<order>.<status>`
        (a repeat is recognised as one)."""
        for status in statuses:
            await self._publisher.publish(
                ORDER_STATUS_TOPIC,
                ORDER_STATUS_TYPE,
                domain.status_event(order, status),
                event_id=f"{order.order_id}.{status}",
            )

    async def _announce_created(self, event: OrderCreated) -> None:
        await self._publisher.publish(
            ORDER_CREATED_TOPIC, ORDER_CREATED_TYPE, event, event_id=f"{event.order_id}.created"
        )

    # --- the sweeper ---------------------------------------------------------------

    async def sweep(self, grace: timedelta) -> int:
        """Finish every checkout left open longer than `grace`; how many it touched.
        Safe to run at any time, on any number of instances: every step is idempotent."""
        swept = 0
        open_checkouts = await self._in_flight.older_than(grace)
        still_open = {checkout.event.order_id for checkout in open_checkouts}
        self._announced_at = {k: v for k, v in self._announced_at.items() if k in still_open}
        for checkout in open_checkouts:
            # A task of its own per order: its log context (the order id) ends with it.
            if await asyncio.create_task(self._sweep_one(checkout)):
                swept += 1
        return swept

    async def _sweep_one(self, checkout: OpenCheckout) -> bool:
        with use_case("orders.sweep", checkout.event.order_id):
            try:
                return await self._finish_open(checkout)
            except Exception:
                # The next sweep tries again; one stuck order must not block the rest.
                log.warning("could not finish the checkout yet", exc_info=True)
                return False

    async def _finish_open(self, checkout: OpenCheckout) -> bool:
        """Whether it did anything (a pending order announced lately waits its turn)."""
        order_id = checkout.event.order_id
        order = await self._orders.get(order_id)
        by_workflow = not checkout.event.charge_on_event
        if by_workflow and (order is None or order.status is OrderStatus.PENDING):
            if await self._moving(order_id):
                return False  # its workflow is at work (or waiting on its own timer)
            # Stalled or gone (seen: a workflow whose store died mid-step never moved
            # again, docs/dapr-traps.md#workflow-stall): the sweeper takes over.
            SWEPT.labels("taken_over").inc()
            log.warning("the checkout's workflow stopped moving: the sweeper finishes it")
        if order is None:
            # Never saved: give the order id up for good (create-only, so a checkout still
            # running cannot save it afterwards), then the stock it may hold.
            if await self._orders.create(order_id, domain.abandoned(checkout.event)):
                SWEPT.labels("abandoned").inc()
                log.info("checkout abandoned: its order was never saved")
            order = await self._order(order_id)
        if order.status is OrderStatus.PENDING:
            waited = datetime.now(UTC) - checkout.opened_at
            if (by_workflow or waited > self._confirmation_timeout) and await self._void_stale(
                order_id, charged_by_event=not by_workflow
            ):
                return True
            last = self._announced_at.get(order_id)
            if last is not None and time.monotonic() - last < self._reannounce_after:
                return False
            # From the saved order: a retried checkout may have opened with other lines.
            await self._announce_created(domain.created_event(order, checkout.event.payment_token))
            self._announced_at[order_id] = time.monotonic()
            SWEPT.labels("announced_again").inc()
            return True
        if order.reason == domain.ABANDONED:
            await self.release(order_id)
            await self._in_flight.close(order_id)
            return True
        SWEPT.labels("finished").inc()
        # Paid or cancelled: announced again. Shipped or delivered since: only forgotten
        # (its paid was announced, or shipping would not have shipped it).
        await self._finish(order)
        return True

    async def _void_stale(self, order_id: str, charged_by_event: bool) -> bool:
        """A pending order whose charge still awaits the provider past the timeout, or
        whose workflow stalled: void the charge and settle the order by what payments
        then says. False when payments has no charge and an event will make it (the
        order is announced again instead); with no charge and none coming (a stalled
        workflow), the order is cancelled and its stock released."""
        try:
            outcome = await self.void_charge(order_id)
        except Unavailable:
            # payments is down: announcing the order again is what brings it back on.
            log.warning("could not void the charge yet", exc_info=True)
            return False
        if outcome is None and not charged_by_event:
            outcome = PaymentOutcome(
                order_id=order_id, status="declined", reason=domain.NOT_CHARGED
            )
            await self.release(order_id)
        if outcome is None or outcome.status == "awaiting_confirmation":
            return False
        SWEPT.labels("voided").inc()
        await self.settle(outcome)
        return True


async def _never(order_id: str) -> bool:
    return False


def _checked(record: PaymentRecord, order: Order) -> PaymentOutcome:
    """The outcome of the order's charge record, once it matches the order."""
    if record.status == "succeeded":
        if (record.amount_cents, record.currency) != (order.total_cents, order.currency):
            raise OutcomeRefused(f"payments charged {record.amount_cents} cents {record.currency}")
        return PaymentOutcome(
            order_id=order.order_id, status="succeeded", payment_id=record.payment_id
        )
    if record.status == "declined":
        return PaymentOutcome(
            order_id=order.order_id, status="declined", reason=record.decline_reason
        )
    if record.status == "awaiting_confirmation":
        return PaymentOutcome(order_id=order.order_id, status="awaiting_confirmation")
    raise Unavailable(f"the charge for order {order.order_id} is still {record.status}")


def replayed(order: Order) -> Order:
    """The answer to a checkout repeated with the same Idempotency-Key."""
    if order.reason == domain.ABANDONED:
        # An earlier try with this key failed and was given up; the caller never got it.
        raise CheckoutRefused(
            409, "an earlier checkout with this Idempotency-Key failed: send a new key"
        )
    return order


def _with_order(history: History | None, order_id: str) -> History:
    history = history or History()
    if order_id in history.order_ids:
        return history
    return History(order_ids=[*history.order_ids, order_id])
