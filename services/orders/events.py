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
from shop_dapr import TopicReply, parse_event
from shop_dapr.invoke import Unavailable
from shop_dapr.metrics import PAYMENT_OUTCOMES_REFUSED
from shop_dapr.subscriber import EventBody

from orders.api import ServiceDep
from orders.domain import InvalidTransition
from orders.service import OrderNotFound, OutcomeRefused

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/payments/payment-succeeded")
async def on_payment_succeeded(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, PaymentSucceeded)
    if event is None:
        return TopicReply.DROP.body()
    return await _apply(
        PAYMENT_SUCCEEDED_TOPIC, event.data.order_id, service.payment_succeeded(event.data)
    )


@router.post("/payments/payment-failed")
async def on_payment_failed(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, PaymentFailed)
    if event is None:
        return TopicReply.DROP.body()
    return await _apply(
        PAYMENT_FAILED_TOPIC, event.data.order_id, service.payment_failed(event.data)
    )


async def _apply(topic: str, order_id: str, outcome: Awaitable[None]) -> dict[str, str]:
    try:
        await outcome
    except (OutcomeRefused, OrderNotFound) as exc:
        # Dropped, so it lands in the subscription's dead-letter topic for a person to see.
        PAYMENT_OUTCOMES_REFUSED.labels(topic).inc()
        log.error("refused a %s event for order %s: %s", topic, order_id, exc)
        return TopicReply.DROP.body()
    except InvalidTransition as exc:
        # Cannot get better by retrying; a paid-after-cancel needs a refund (see README).
        log.error("payment outcome for order %s not applied: %s", order_id, exc)
        return TopicReply.DROP.body()
    except Unavailable as exc:
        # payments could not be asked whether the event is true: ask again later.
        log.warning("payment outcome for order %s not checked yet: %s", order_id, exc)
        return TopicReply.RETRY.body()
    return TopicReply.SUCCESS.body()
