"""Topic handlers, bound by declarative subscriptions (components/common)."""

import logging

from fastapi import APIRouter
from shop_contracts.notifications import OrderUpdate
from shop_contracts.orders import OrderCreated, OrderStatusChanged
from shop_dapr import CloudEvent, TopicReply
from shop_dapr.bindings import MailNotSent
from shop_dapr.subscriber import topic

from notifications.api import ServiceDep
from notifications.service import Undeliverable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@topic(router, "/orders/order-created", OrderCreated)
async def on_order_created(event: CloudEvent[OrderCreated], service: ServiceDep) -> None:
    # Announces `pending` to every instance's live feed; a broker error raises, and
    # `topic` answers RETRY.
    await service.order_created(event.data)


@topic(router, "/notifications/order-update", OrderUpdate)
async def on_order_update(event: CloudEvent[OrderUpdate], service: ServiceDep) -> None:
    # Broadcast: every instance pushes it to its own clients, which cannot fail.
    service.order_update(event.data)


@topic(router, "/orders/order-status-changed", OrderStatusChanged)
async def on_order_status_changed(
    event: CloudEvent[OrderStatusChanged], service: ServiceDep
) -> TopicReply:
    # A failing state store raises: `topic` answers RETRY, the event is fine.
    try:
        await service.order_status_changed(event.id, event.data)
    except Undeliverable as exc:
        log.warning("dropping order-status-changed event %s: %s", event.id, exc)
        return TopicReply.DROP
    except MailNotSent as exc:
        log.warning("mail of event %s not sent, asking for redelivery: %s", event.id, exc)
        return TopicReply.RETRY
    return TopicReply.SUCCESS
