"""Topic handlers. Routes are bound by declarative subscriptions (components/common)."""

import logging

from fastapi import APIRouter
from pydantic import TypeAdapter, ValidationError
from shop_contracts.common import UserId
from shop_contracts.orders import OrderCreated
from shop_dapr import TopicReply, parse_event
from shop_dapr.subscriber import EventBody

from cart.api import ServiceDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)

_USER_ID = TypeAdapter(UserId)


@router.post("/orders/order-created")
async def on_order_created(service: ServiceDep, body: EventBody) -> dict[str, str]:
    # Validated here, not by a FastAPI body model: its 422 would be redelivered forever.
    event = parse_event(body, OrderCreated)
    if event is None:
        return TopicReply.DROP.body()
    try:
        # The contract types user_id as any string; a cart key is only ever a valid id.
        user_id = _USER_ID.validate_python(event.data.user_id)
    except ValidationError:
        log.warning("dropping order-created event %s: invalid user id", event.id)
        return TopicReply.DROP.body()
    try:
        await service.on_order_created(event.id, user_id)
    except Exception:
        # The state store failed: the event is fine, so let the sidecar redeliver it.
        log.exception("order-created event %s not handled, asking for redelivery", event.id)
        return TopicReply.RETRY.body()
    return TopicReply.SUCCESS.body()
