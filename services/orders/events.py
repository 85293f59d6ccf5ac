"""Topic handlers, bound by components/common/subscriptions.yaml."""

import logging
from collections.abc import Awaitable

from fastapi import APIRouter
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
        PAYMENT_SUCCEEDED_TOPIC, event.data.order_id, service.payment_succeeded(event.data)
    )


@topic(router, "/payments/payment-failed", PaymentFailed)
async def on_payment_failed(event: CloudEvent[PaymentFailed], service: ServiceDep) -> TopicReply:
    return await _apply(
        PAYMENT_FAILED_TOPIC, event.data.order_id, service.payment_failed(event.data)
    )


@topic(router, "/shipping/shipment-dispatched", ShipmentDispatched)
async def on_shipment_dispatched(
    event: CloudEvent[ShipmentDispatched], service: ServiceDep
) -> TopicReply:
    return await _ship(
        SHIPMENT_DISPATCHED_TOPIC, event.data.order_id, service.shipment_dispatched(event.data)
    )


@topic(router, "/shipping/shipment-delivered", ShipmentDelivered)
async def on_shipment_delivered(
    event: CloudEvent[ShipmentDelivered], service: ServiceDep
) -> TopicReply:
    return await _ship(
        SHIPMENT_DELIVERED_TOPIC, event.data.order_id, service.shipment_delivered(event.data)
    )


async def _apply(topic_name: str, order_id: str, outcome: Awaitable[None]) -> TopicReply:
    """Any other failure (the state store, the broker) raises: `topic` answers RETRY."""
    try:
        await outcome
    except (OutcomeRefused, OrderNotFound) as exc:
        # Dropped, so it lands in the subscription's dead-letter topic for a person to see.
        PAYMENT_OUTCOMES_REFUSED.labels(topic_name).inc()
        log.error("refused a %s event for order %s: %s", topic_name, order_id, exc)
        return TopicReply.DROP
    except InvalidTransition as exc:
        # Cannot get better by retrying; a paid-after-cancel needs a refund (see README).
        log.error("payment outcome for order %s not applied: %s", order_id, exc)
        return TopicReply.DROP
    except Unavailable as exc:
        # payments could not be asked whether the event is true: ask again later.
        log.warning("payment outcome for order %s not checked yet: %s", order_id, exc)
        return TopicReply.RETRY
    return TopicReply.SUCCESS


async def _ship(topic_name: str, order_id: str, change: Awaitable[None]) -> TopicReply:
    """As `_apply`, for shipping's events, checked with shipping."""
    try:
        await change
    except (ShipmentRefused, OrderNotFound) as exc:
        SHIPMENT_EVENTS_REFUSED.labels(topic_name).inc()
        log.error("refused a %s event for order %s: %s", topic_name, order_id, exc)
        return TopicReply.DROP
    except InvalidTransition as exc:
        # Shipping ships paid orders only: one pending or cancelled here is a bug or a
        # forgery, which no retry mends.
        log.error("shipment of order %s not applied: %s", order_id, exc)
        return TopicReply.DROP
    except Unavailable as exc:
        log.warning("shipment of order %s not checked yet: %s", order_id, exc)
        return TopicReply.RETRY
    return TopicReply.SUCCESS
