"""Events the payments service publishes."""

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
