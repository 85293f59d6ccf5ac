"""Topic handlers. Routes are bound by the declarative subscriptions in
components/common/subscriptions.yaml."""

import logging

from fastapi import APIRouter
from shop_contracts.orders import OrderCreated
from shop_contracts.payments import ChargeRequest
from shop_dapr import CloudEvent, TopicReply
from shop_dapr.subscriber import topic

from payments.api import ServiceDep
from payments.provider import ProviderUnavailable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@topic(router, "/orders/order-created", OrderCreated)
async def on_order_created(event: CloudEvent[OrderCreated], service: ServiceDep) -> TopicReply:
    order = event.data
    if not order.charge_on_event:
        return TopicReply.SUCCESS  # the orders workflow charges it through POST /charges
    if order.payment_token is None:
        log.error("order %s asks to be charged but carries no payment token", order.order_id)
        return TopicReply.DROP  # to the dead-letter topic: no redelivery can fix it
    request = ChargeRequest(
        order_id=order.order_id,
        amount_cents=order.total_cents,
        currency=order.currency,
        payment_token=order.payment_token,
    )
    try:
        await service.settle(request)
    except ProviderUnavailable as exc:
        # The redelivery asks again with the same idempotency key, so it cannot charge
        # twice; the resiliency policy bounds the redeliveries. Other failures (state
        # store, pub/sub) raise: `topic` answers RETRY for them too.
        log.warning(
            "order %s not charged yet (%s): asking for redelivery", event.data.order_id, exc
        )
        return TopicReply.RETRY
    return TopicReply.SUCCESS
