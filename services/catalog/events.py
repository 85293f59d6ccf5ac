"""Topic handlers, bound by components/common/subscriptions.yaml."""

from fastapi import APIRouter
from shop_contracts.orders import OrderStatus, OrderStatusChanged
from shop_dapr import TopicReply, parse_event
from shop_dapr.subscriber import EventBody

from catalog.api import ServiceDep

router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/orders/order-status-changed")
async def on_order_status_changed(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, OrderStatusChanged)
    if event is None:
        return TopicReply.DROP.body()
    # Both are idempotent per order id: a redelivered event has no second effect.
    if event.data.status is OrderStatus.PAID:
        await service.commit(event.data.order_id)
    elif event.data.status is OrderStatus.CANCELLED:
        await service.release(event.data.order_id)
    return TopicReply.SUCCESS.body()
