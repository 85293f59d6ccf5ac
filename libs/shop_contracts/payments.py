"""Events the payments service publishes, and what it answers about an order's payment."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from shop_contracts.common import Cents, OrderId

PAYMENT_SUCCEEDED_TOPIC = "payments.payment-succeeded"
PAYMENT_SUCCEEDED_TYPE = "shop.payments.payment-succeeded.v1"
PAYMENT_FAILED_TOPIC = "payments.payment-failed"
PAYMENT_FAILED_TYPE = "shop.payments.payment-failed.v1"


class PaymentSucceeded(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    payment_id: str
    amount_cents: Cents
    currency: str


class PaymentFailed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    payment_id: str | None
    reason: str


class PaymentRecord(BaseModel):
    """What payments knows of an order's charge (`GET /payments/{order_id}`): how a
    consumer of a payment event checks that the event tells the truth."""

    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    status: Literal["processing", "succeeded", "declined"]
    currency: str
    amount_cents: Cents
    payment_id: str | None = None
    decline_reason: str | None = None
