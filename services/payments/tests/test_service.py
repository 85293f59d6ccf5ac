"""Races: concurrent deliveries of one order, and writes landing between read and write."""

import asyncio

import httpx
from shop_contracts.payments import ChargeRequest
from shop_dapr.testing import InMemoryPublisher, fake_dapr

from payments.domain import ChargeDisputed
from payments.service import PaymentService
from payments.tests.helpers import (
    CountingProvider,
    RacingStore,
    charge_request,
    charges,
    deliver,
    order_created,
)


async def test_concurrent_deliveries_charge_once(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    # Latency makes both deliveries wait on the provider at the same time.
    provider.latency = 0.005
    event = order_created("o-1")

    replies = await asyncio.gather(deliver(client, event), deliver(client, event))

    assert list(replies) == ["SUCCESS", "SUCCESS"]
    assert provider.charge_calls == 2
    assert len(charges(provider.ledger)) == 1
    [(_, _, first), (_, _, second)] = publisher.published
    assert first == second


async def test_refund_racing_a_callback_keeps_both() -> None:
    state = RacingStore()
    service = PaymentService(fake_dapr(state=state), CountingProvider())
    record = await service.settle(ChargeRequest.model_validate(charge_request("o-1")))
    assert record.payment_id is not None
    dispute = ChargeDisputed(type="charge.disputed", payment_id=record.payment_id, order_id="o-1")
    state.interleave = lambda: service.apply(dispute)

    refunded = await service.refund("o-1", 1000)

    assert (refunded.refunded_cents, refunded.disputed) == (1000, True)
    assert await service.get("o-1") == refunded
