"""Topic handlers, bound by components/common/subscriptions.yaml."""

import logging
from collections.abc import Awaitable

from fastapi import APIRouter
from prometheus_client import Counter
from shop_contracts.payments import (
    PAYMENT_FAILED_TOPIC,
    PAYMENT_SUCCEEDED_TOPIC,
    PaymentFailed,
    PaymentSucceeded,
)
from shop_contracts.shipping import (
    SHIPMENT_DELIVERED_TOPIC,
    SHIPMENT_DISPATCHED_TOPIC,
    ShipmentDelivered,
    ShipmentDispatched,
)
from shop_dapr import CloudEvent, TopicReply
from shop_dapr.invoke import Unavailable
from shop_dapr.metrics import PAYMENT_OUTCOMES_REFUSED, SHIPMENT_EVENTS_REFUSED
from shop_dapr.subscriber import topic

from orders.api import ServiceDep
from orders.domain import InvalidTransition
from orders.service import OrderNotFound, OutcomeRefused, ShipmentRefused

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@topic(router, "/payments/payment-succeeded", PaymentSucceeded)
async def on_payment_succeeded(
    event: CloudEvent[PaymentSucceeded], service: ServiceDep
) -> TopicReply:
    return await _apply(
        PAYMENT_SUCCEEDED_TOPIC,
        event.data.order_id,
        service.payment_succeeded(event.data),
        PAYMENT_OUTCOMES_REFUSED,
    )


@topic(router, "/payments/payment-failed", PaymentFailed)
async def on_payment_failed(event: CloudEvent[PaymentFailed], service: ServiceDep) -> TopicReply:
    return await _apply(
        PAYMENT_FAILED_TOPIC,
        event.data.order_id,
        service.payment_failed(event.data),
        PAYMENT_OUTCOMES_REFUSED,
    )


@topic(router, "/shipping/shipment-dispatched", ShipmentDispatched)
async def on_shipment_dispatched(
    event: CloudEvent[ShipmentDispatched], service: ServiceDep
) -> TopicReply:
    return await _apply(
        SHIPMENT_DISPATCHED_TOPIC,
        event.data.order_id,
        service.shipment_dispatched(event.data),
        SHIPMENT_EVENTS_REFUSED,
    )


@topic(router, "/shipping/shipment-delivered", ShipmentDelivered)
async def on_shipment_delivered(
    event: CloudEvent[ShipmentDelivered], service: ServiceDep
) -> TopicReply:
    return await _apply(
        SHIPMENT_DELIVERED_TOPIC,
        event.data.order_id,
        service.shipment_delivered(event.data),
        SHIPMENT_EVENTS_REFUSED,
    )


async def _apply(
    topic_name: str, order_id: str, change: Awaitable[None], refused: Counter
) -> TopicReply:
    """Apply an event its source vouches for (payments for a payment's outcome, shipping
    for a shipment). Any other failure (the state store, the broker) raises: `topic`
    answers RETRY."""
    try:
        await change
    except (OutcomeRefused, ShipmentRefused, OrderNotFound) as exc:
        # Dropped, so it lands in the subscription's dead-letter topic for a person to see.
        refused.labels(topic_name).inc()
        log.error("refused a %s event for order %s: %s", topic_name, order_id, exc)
        return TopicReply.DROP
    except InvalidTransition as exc:
        # Cannot get better by retrying: a paid-after-cancel needs a refund (see README);
        # a shipment of an order never paid is a bug or a forgery.
        log.error("%s event for order %s not applied: %s", topic_name, order_id, exc)
        return TopicReply.DROP
    except Unavailable as exc:
        # The source could not be asked whether the event is true: ask again later.
        log.warning("%s event for order %s not checked yet: %s", topic_name, order_id, exc)
        return TopicReply.RETRY
    return TopicReply.SUCCESS
