"""Orders and their life cycle, free of I/O: pending -> paid -> shipped -> delivered, or
pending -> cancelled."""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from shop_contracts.orders import OrderCreated, OrderLine, OrderStatus, OrderStatusChanged
from shop_contracts.shipping import ShipmentRecord

# Order ids derived from (user, Idempotency-Key) are stable across retries of a checkout.
_ORDER_NAMESPACE = uuid.UUID("7d3c1f6e-2b1a-4c55-9a43-3f1f0e6a9b21")


class Shipment(BaseModel):
    """The order's parcel, as shipping's record tells it (services/shipping)."""

    tracking_number: str
    carrier: str
    shipped_at: datetime
    delivered_at: datetime | None = None


class Order(BaseModel):
    order_id: str
    user_id: str
    email: str
    status: OrderStatus = OrderStatus.PENDING
    lines: list[OrderLine]
    total_cents: int
    currency: str
    card_last4: str
    payment_id: str | None = None
    reason: str | None = None
    # None until shipped (shipping's shipment-dispatched event, checked with shipping).
    shipment: Shipment | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class InvalidTransition(Exception):
    pass


# The reason of an order the sweeper gave up because its checkout never saved it: the
# buyer was never told of it, so it is hidden from them and holds nothing.
ABANDONED = "checkout_abandoned"
# The reason of an order cancelled because payments never took its charge (a workflow
# checkout that stopped before charging, or gave up).
NOT_CHARGED = "not_charged"


def order_id_for(user_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(_ORDER_NAMESPACE, f"{user_id}\n{idempotency_key}").hex


def total_of(lines: list[OrderLine]) -> int:
    return sum(line.quantity * line.unit_price_cents for line in lines)


# The statuses a paid order reaches by shipping's events.
SHIPPING = (OrderStatus.SHIPPED, OrderStatus.DELIVERED)


def mark_paid(order: Order, payment_id: str) -> Order:
    """Idempotent: paying a paid order changes nothing, nor one shipped since (a payment
    event redelivered late, or a workflow's confirmation repeated after a crash)."""
    if order.status is OrderStatus.PAID or order.status in SHIPPING:
        return order
    if order.status is not OrderStatus.PENDING:
        raise InvalidTransition(f"order {order.order_id} is {order.status}, cannot become paid")
    return order.model_copy(
        update={
            "status": OrderStatus.PAID,
            "payment_id": payment_id,
            "updated_at": datetime.now(UTC),
        }
    )


def cancel(order: Order, reason: str) -> Order:
    """Idempotent: cancelling a cancelled order changes nothing."""
    if order.status is OrderStatus.CANCELLED:
        return order
    if order.status is not OrderStatus.PENDING:
        raise InvalidTransition(f"order {order.order_id} is {order.status}, cannot be cancelled")
    return order.model_copy(
        update={"status": OrderStatus.CANCELLED, "reason": reason, "updated_at": datetime.now(UTC)}
    )


def ship(order: Order, record: ShipmentRecord) -> Order:
    """paid -> shipped, by shipping's (checked) record. Idempotent: an order already
    shipped or delivered with this tracking number changes nothing; with another one,
    shipping contradicts itself, and nothing is changed."""
    if order.status in SHIPPING:
        _same_parcel(order, record)
        return order
    if order.status is not OrderStatus.PAID:
        # Shipping ships paid orders only: this is a bug or a forgery.
        raise InvalidTransition(f"order {order.order_id} is {order.status}, cannot be shipped")
    shipped_at = record.dispatched_at or record.delivered_at or record.created_at
    return order.model_copy(
        update={
            "status": OrderStatus.SHIPPED,
            "shipment": Shipment(
                tracking_number=record.tracking_number,
                carrier=record.carrier,
                shipped_at=shipped_at,
            ),
            "updated_at": datetime.now(UTC),
        }
    )


def deliver(order: Order, record: ShipmentRecord) -> Order:
    """shipped -> delivered. A paid order goes through shipped on the way: shipping's two
    topics are not ordered between them, so `delivered` may come before `dispatched`.
    Idempotent, as `ship`."""
    if order.status is OrderStatus.DELIVERED:
        _same_parcel(order, record)
        return order
    shipped = ship(order, record).shipment
    if shipped is None:  # cannot happen: ship() refuses or sets it
        raise InvalidTransition(f"order {order.order_id} has no shipment to deliver")
    delivered_at = record.delivered_at or datetime.now(UTC)
    return order.model_copy(
        update={
            "status": OrderStatus.DELIVERED,
            "shipment": shipped.model_copy(update={"delivered_at": delivered_at}),
            "updated_at": datetime.now(UTC),
        }
    )


def _same_parcel(order: Order, record: ShipmentRecord) -> None:
    known = order.shipment.tracking_number if order.shipment else None
    if known != record.tracking_number:
        raise InvalidTransition(
            f"order {order.order_id} was shipped as {known!r}, "
            f"shipping now says {record.tracking_number!r}"
        )


# The events carry the order's own fields (and ignore the rest of them).


def created_event(order: Order, payment_token: str | None) -> OrderCreated:
    """The announcement of a saved order. Without a payment token, payments does not
    charge on it: the workflow charges the order itself (orders/workflow.py)."""
    return OrderCreated.model_validate(
        {
            **order.model_dump(),
            "payment_token": payment_token,
            "charge_on_event": payment_token is not None,
        }
    )


def status_event(order: Order, status: OrderStatus | None = None) -> OrderStatusChanged:
    """The announcement of the order's status, or of an earlier `status` it went through
    (a delivered order announces its shipped too when it skipped it)."""
    tracking_number = order.shipment.tracking_number if order.shipment else None
    return OrderStatusChanged.model_validate(
        {
            **order.model_dump(),
            "status": status or order.status,
            "tracking_number": tracking_number,
        }
    )


def abandoned(event: OrderCreated) -> Order:
    """The record that takes an order id whose checkout never saved its order."""
    return Order.model_validate(
        {
            **event.model_dump(exclude={"payment_token"}),
            "status": OrderStatus.CANCELLED,
            "card_last4": (event.payment_token or "")[-4:],
            "reason": ABANDONED,
        }
    )
