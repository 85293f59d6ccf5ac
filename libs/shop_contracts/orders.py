"""Events the orders service publishes, and what a checkout sends."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shop_contracts.common import Cents, OrderId, ProductId, Quantity

# Published by orders right after it saves the order, and again by its sweeper until the
# order is paid or cancelled (services/orders/inflight.py): consumers see repeats, under
# the same CloudEvent id.
ORDER_CREATED_TOPIC = "orders.order-created"
ORDER_CREATED_TYPE = "shop.orders.order-created.v1"
ORDER_STATUS_TOPIC = "orders.order-status-changed"
ORDER_STATUS_TYPE = "shop.orders.order-status-changed.v1"


# Printable ASCII: it travels in a header to orders and into the order's id.
IdempotencyKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$"),
    Field(description="the same key returns the same order instead of placing a second"),
]


class CheckoutRequest(BaseModel):
    """`POST /orders`: order everything in the caller's cart."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"payment_token": "4242424242424242"}]}
    )

    payment_token: str = Field(
        pattern=r"^[0-9]{12,19}$",
        description="the payment provider's token; the simulated provider takes test card "
        "numbers (4242424242424242 pays, 4000000000000002 is declined)",
    )


class OrderStatus(StrEnum):
    PENDING = "pending"  # stock reserved, awaiting payment
    PAID = "paid"
    CANCELLED = "cancelled"
    # After paid, by shipping's events (services/shipping): handed to the carrier, then
    # delivered. Only a paid order is ever shipped.
    SHIPPED = "shipped"
    DELIVERED = "delivered"


class OrderLine(BaseModel):
    product_id: ProductId
    name: str
    quantity: Quantity
    unit_price_cents: Cents


class OrderCreated(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    user_id: str
    email: str
    lines: list[OrderLine]
    total_cents: Cents
    currency: str
    # Whether payments charges the order when this event arrives (the choreography), or
    # the orders workflow charges it by invocation (CHECKOUT_STYLE=workflow, see
    # docs/checkout-styles.md): then the event only tells the others, and the token is
    # not broadcast.
    charge_on_event: bool = True
    # The simulated provider's payment token. With a real provider the client tokenises
    # the card with the provider and only the token travels; here the test card number
    # plays the token (see services/payments). Absent when charge_on_event is false.
    payment_token: str | None = None
    created_at: datetime


class OrderStatusChanged(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    user_id: str
    email: str
    status: OrderStatus
    total_cents: Cents
    currency: str
    lines: list[OrderLine]
    reason: str | None = None
    # The carrier's tracking number, once the order is shipped.
    tracking_number: str | None = None
