"""Topic handlers, bound by components/common/subscriptions.yaml."""

import logging
from collections.abc import Awaitable

from fastapi import APIRouter
from shop_contracts.payments import PaymentFailed, PaymentSucceeded
from shop_dapr import TopicReply, parse_event
from shop_dapr.subscriber import EventBody

from orders.api import ServiceDep
from orders.domain import InvalidTransition
from orders.service import OrderNotFound

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/payments/payment-succeeded")
async def on_payment_succeeded(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, PaymentSucceeded)
    if event is None:
        return TopicReply.DROP.body()
    return await _apply(
        event.data.order_id, service.payment_succeeded(event.data.order_id, event.data.payment_id)
    )


@router.post("/payments/payment-failed")
async def on_payment_failed(service: ServiceDep, body: EventBody) -> dict[str, str]:
    event = parse_event(body, PaymentFailed)
    if event is None:
        return TopicReply.DROP.body()
    return await _apply(
        event.data.order_id, service.payment_failed(event.data.order_id, event.data.reason)
    )


async def _apply(order_id: str, outcome: Awaitable[None]) -> dict[str, str]:
    try:
        await outcome
    except (OrderNotFound, InvalidTransition) as exc:
        # Cannot get better by retrying; a paid-after-cancel needs a refund (see README).
        log.error("payment outcome for order %s not applied: %s", order_id, exc)
        return TopicReply.DROP.body()
    return TopicReply.SUCCESS.body()
