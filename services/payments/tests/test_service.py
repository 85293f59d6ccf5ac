"""Races: concurrent deliveries of one order, and writes landing between read and write."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from shop_contracts.orders import OrderCreated
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore, fake_dapr

from payments.domain import ChargeDisputed
from payments.provider import SimulatedProvider
from payments.service import PaymentService
from payments.tests.helpers import CountingProvider, charges, deliver, ledger_in, order_created


async def test_concurrent_deliveries_charge_once(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    # Latency makes both deliveries wait on the provider at the same time.
    provider.simulator = SimulatedProvider(ledger_in(provider.ledger), latency_ms=5)
    event = order_created("o-1")

    replies = await asyncio.gather(deliver(client, event), deliver(client, event))

    assert list(replies) == ["SUCCESS", "SUCCESS"]
    assert provider.charge_calls == 2
    assert len(charges(provider.ledger)) == 1
    [(_, _, first), (_, _, second)] = publisher.published
    assert first == second


class RacingStore(InMemoryStateStore):
    """Runs `interleave` once, just before the next ETag write: a concurrent writer."""

    def __init__(self) -> None:
        super().__init__()
        self.interleave: Callable[[], Awaitable[object]] | None = None

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        if self.interleave is not None and etag is not None:
            interleave, self.interleave = self.interleave, None
            await interleave()
        await super().save(key, value, etag, ttl_seconds)


async def test_refund_racing_a_callback_keeps_both() -> None:
    state = RacingStore()
    service = PaymentService(fake_dapr(state=state), CountingProvider())
    record = await service.settle(OrderCreated.model_validate(order_created("o-1")["data"]))
    assert record.payment_id is not None
    dispute = ChargeDisputed(type="charge.disputed", payment_id=record.payment_id, order_id="o-1")
    state.interleave = lambda: service.apply(dispute)

    refunded = await service.refund("o-1", 1000)

    assert (refunded.refunded_cents, refunded.disputed) == (1000, True)
    assert await service.get("o-1") == refunded
