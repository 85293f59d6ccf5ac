"""Orders and their life cycle, free of I/O: pending -> paid, or pending -> cancelled."""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from shop_contracts.orders import OrderCreated, OrderLine, OrderStatus, OrderStatusChanged

# Order ids derived from (user, Idempotency-Key) are stable across retries of a checkout.
_ORDER_NAMESPACE = uuid.UUID("7d3c1f6e-2b1a-4c55-9a43-3f1f0e6a9b21")


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


def mark_paid(order: Order, payment_id: str) -> Order:
    """Idempotent: paying a paid order changes nothing."""
    if order.status is OrderStatus.PAID:
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


def status_event(order: Order) -> OrderStatusChanged:
    return OrderStatusChanged.model_validate(order.model_dump())


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
