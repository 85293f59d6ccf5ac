"""Topic handlers, bound by components/common/subscriptions.yaml."""

from fastapi import APIRouter
from shop_contracts.catalog import ProductChanged
from shop_contracts.orders import OrderStatus, OrderStatusChanged
from shop_dapr import CloudEvent
from shop_dapr.subscriber import topic

from catalog.api import ServiceDep

router = APIRouter(prefix="/events", include_in_schema=False)


@topic(router, "/catalog/product-changed", ProductChanged)
async def on_product_changed(event: CloudEvent[ProductChanged], service: ServiceDep) -> None:
    # Broadcast to every catalog instance, this one included: each keeps its own
    # in-memory listing, and another instance may have made the change (docs/scaling.md).
    await service.apply_change(event.data.product_id)


@topic(router, "/orders/order-status-changed", OrderStatusChanged)
async def on_order_status_changed(
    event: CloudEvent[OrderStatusChanged], service: ServiceDep
) -> None:
    # Both are idempotent per order id: a redelivered event has no second effect. The
    # other statuses touch no stock: pending holds it already (the reservation), and
    # shipped and delivered come after paid, which committed it.
    if event.data.status is OrderStatus.PAID:
        await service.commit(event.data.order_id)
    elif event.data.status is OrderStatus.CANCELLED:
        await service.release(event.data.order_id)
