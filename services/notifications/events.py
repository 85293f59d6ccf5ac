"""Topic handlers, bound by declarative subscriptions (components/common)."""

import logging

from fastapi import APIRouter
from shop_contracts.orders import OrderCreated, OrderStatusChanged
from shop_dapr import TopicReply, parse_event
from shop_dapr.bindings import MailNotSent
from shop_dapr.subscriber import EventBody

from notifications.api import ServiceDep
from notifications.service import Undeliverable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/orders/order-created")
async def on_order_created(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, OrderCreated)
    if event is None:
        return TopicReply.DROP.body()
    # Only pushes to connected clients, which cannot fail: nothing to redeliver.
    service.order_created(event.data)
    return TopicReply.SUCCESS.body()


@router.post("/orders/order-status-changed")
async def on_order_status_changed(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, OrderStatusChanged)
    if event is None:
        return TopicReply.DROP.body()
    try:
        await service.order_status_changed(event.id, event.data)
    except Undeliverable as exc:
        log.warning("dropping order-status-changed event %s: %s", event.id, exc)
        return TopicReply.DROP.body()
    except MailNotSent as exc:
        log.warning("receipt of event %s not sent, asking for redelivery: %s", event.id, exc)
        return TopicReply.RETRY.body()
    except Exception:
        # The state store failed: the event is fine, so let the sidecar redeliver it.
        log.exception("order-status-changed event %s not handled, asking for redelivery", event.id)
        return TopicReply.RETRY.body()
    return TopicReply.SUCCESS.body()
