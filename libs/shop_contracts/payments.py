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
    # awaiting_confirmation: the provider took the charge but confirms it later, by its
    # signed webhook (payments then publishes the outcome).
    status: Literal["processing", "awaiting_confirmation", "succeeded", "declined"]
    currency: str
    amount_cents: Cents
    payment_id: str | None = None
    decline_reason: str | None = None


class ChargeRequest(BaseModel):
    """`POST /charges`: charge an order once (the order id is the idempotency key); the
    answer is the PaymentRecord, which may still await the provider's confirmation."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    amount_cents: Cents
    currency: str
    payment_token: str
