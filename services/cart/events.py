"""Topic handlers. Routes are bound by declarative subscriptions (components/common)."""

import logging

from fastapi import APIRouter
from pydantic import TypeAdapter, ValidationError
from shop_contracts.common import UserId
from shop_contracts.orders import OrderCreated
from shop_dapr import CloudEvent, TopicReply
from shop_dapr.subscriber import topic

from cart.api import ServiceDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)

_USER_ID = TypeAdapter(UserId)


@topic(router, "/orders/order-created", OrderCreated)
async def on_order_created(event: CloudEvent[OrderCreated], service: ServiceDep) -> TopicReply:
    try:
        # The contract types user_id as any string; a cart key is only ever a valid id.
        user_id = _USER_ID.validate_python(event.data.user_id)
    except ValidationError:
        log.warning("dropping order-created event %s: invalid user id", event.id)
        return TopicReply.DROP
    # A failing state store raises: `topic` answers RETRY, the event is fine.
    await service.on_order_created(event.id, user_id)
    return TopicReply.SUCCESS
