"""Topic handlers. Routes are bound by the declarative subscriptions in
components/common/subscriptions.yaml."""

import logging

from fastapi import APIRouter
from shop_contracts.orders import OrderCreated
from shop_dapr import TopicReply, parse_event
from shop_dapr.subscriber import EventBody

from payments.api import ServiceDep
from payments.provider import ProviderUnavailable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/orders/order-created")
async def on_order_created(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, OrderCreated)
    if event is None:
        return TopicReply.DROP.body()
    try:
        await service.settle(event.data)
    except ProviderUnavailable as exc:
        # The redelivery asks again with the same idempotency key, so it cannot charge
        # twice; the resiliency policy bounds the redeliveries. Other failures (state
        # store, pub/sub) raise: the sidecar redelivers after a 500 as well.
        log.warning(
            "order %s not charged yet (%s): asking for redelivery", event.data.order_id, exc
        )
        return TopicReply.RETRY.body()
    return TopicReply.SUCCESS.body()
