"""The live order feed's notices, which notifications broadcasts to its own instances."""

from pydantic import BaseModel

from shop_contracts.common import Cents
from shop_contracts.orders import OrderStatus

# The instance that receives an order event (one of each app id does) announces the
# status here, on the `broadcast` component; every instance pushes it to the clients
# connected to it (docs/scaling.md).
ORDER_UPDATE_TOPIC = "notifications.order-update"
ORDER_UPDATE_TYPE = "shop.notifications.order-update.v1"


class OrderUpdate(BaseModel):
    """An order's status for its buyer's live feed."""

    user_id: str
    order_id: str
    status: OrderStatus
    total_cents: Cents
    currency: str
    # Once shipped.
    tracking_number: str | None = None
