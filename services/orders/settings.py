from typing import Literal

from pydantic import Field
from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    cart_app_id: str = "cart"
    catalog_app_id: str = "catalog"
    payments_app_id: str = "payments"
    # Asked whether a shipment event is true (GET /shipments/{order_id}).
    shipping_app_id: str = "shipping"
    # The sweeper (services/orders/inflight.py) looks this often for checkouts left open
    # longer than the grace: a grace above the longest a checkout may run (the gateway
    # gives it 10 s), so that it only ever finishes what nobody is still doing.
    sweep_interval_seconds: float = 5.0
    sweep_grace_seconds: float = 15.0
    # A pending order is announced again at most this often (payments may be down).
    sweep_reannounce_seconds: float = 30.0
    # How a checkout is chained (docs/checkout-styles.md): by events between the services
    # (choreography), or by a Dapr Workflow in orders (workflow). Env CHECKOUT_STYLE.
    checkout_style: Literal["choreography", "workflow"] = "choreography"
    # A charge the payment provider has not confirmed (3-D Secure) after this long is
    # voided and the order cancelled, in either style.
    payment_confirmation_timeout_seconds: float = Field(default=60.0, gt=0)
    # The workflow style answers the buyer once the workflow placed the order: at most
    # this long (below the gateway's 10 s), else 503 "ask again with the same key".
    checkout_acceptance_seconds: float = Field(default=9.0, gt=0)


def workflow_stall_seconds(payment_confirmation_timeout_seconds: float) -> float:
    """How long a running checkout workflow may stay quiet before the sweeper takes it
    over: it waits at most for the provider's confirmation, or between two retries of a
    step (30 s at most), so quiet for longer it has stalled (docs/dapr-traps.md)."""
    return payment_confirmation_timeout_seconds + 60.0
