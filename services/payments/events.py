"""Topic handlers. Routes are bound by the declarative subscriptions in
components/common/subscriptions.yaml."""

import logging

from fastapi import APIRouter
from shop_contracts.orders import OrderCreated
from shop_dapr import CloudEvent, TopicReply
from shop_dapr.subscriber import topic

from payments.api import ServiceDep
from payments.provider import ProviderUnavailable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@topic(router, "/orders/order-created", OrderCreated)
async def on_order_created(event: CloudEvent[OrderCreated], service: ServiceDep) -> TopicReply:
    try:
        await service.settle(event.data)
    except ProviderUnavailable as exc:
        # The redelivery asks again with the same idempotency key, so it cannot charge
        # twice; the resiliency policy bounds the redeliveries. Other failures (state
        # store, pub/sub) raise: `topic` answers RETRY for them too.
        log.warning(
            "order %s not charged yet (%s): asking for redelivery", event.data.order_id, exc
        )
        return TopicReply.RETRY
    return TopicReply.SUCCESS
