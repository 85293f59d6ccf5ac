"""Topic handlers. Routes are bound by the declarative subscriptions in
components/common/subscriptions.yaml."""

import json
import logging

from fastapi import APIRouter, Request
from shop_contracts.orders import OrderCreated
from shop_dapr import TopicReply, parse_event

from payments.api import ServiceDep
from payments.provider import ProviderUnavailable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/orders/order-created")
async def on_order_created(request: Request, service: ServiceDep) -> dict[str, str]:
    # Parsed here, not by FastAPI: its 422 for a bad body would be redelivered forever.
    try:
        body = json.loads(await request.body())
    except ValueError:
        log.warning("dropping an order-created event whose body is not JSON")
        return TopicReply.DROP.body()
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
