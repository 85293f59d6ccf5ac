"""Test doubles and event builders shared by the payments tests."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from shop_dapr.testing import InMemoryStateStore

from payments.domain import ChargeResult, RefundResult
from payments.provider import (
    LEDGER_PREFIX,
    LedgerEntry,
    ProviderUnavailable,
    SimulatedProvider,
    WebhookReceiver,
)

WEBHOOK_SECRET = "whsec_test_only"
GOOD_CARD = "4242424242424242"
CONFIRMED_LATER_CARD = "4000000000003220"
NEVER_CONFIRMED_CARD = "4000008400001629"


class Crash(Exception):
    """Stands for the process dying between the provider's answer and the record update."""


def ledger_entries(ledger: InMemoryStateStore) -> dict[str, LedgerEntry]:
    """The simulated provider's ledger, by idempotency key."""
    prefix = f"{LEDGER_PREFIX}:"
    return {
        key.removeprefix(prefix): LedgerEntry.model_validate_json(entry.value)
        for key, entry in ledger.entries.items()
        if key.startswith(prefix)
    }


def charges(ledger: InMemoryStateStore) -> list[ChargeResult]:
    """What the simulated provider charged (or declined, or awaits), from its ledger."""
    return [entry.result() for entry in ledger_entries(ledger).values()]


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


class CountingProvider(SimulatedProvider):
    """The simulated provider behind switches a test flips: counts calls, can be slow or
    down, can 'crash' the caller right after a charge went through, and can hold its
    webhooks back (`webhooks_open`) while the test does something first. Its state
    (ledger, pending confirmations) is its own store, `ledger`, unless one is given."""

    def __init__(
        self, ledger: InMemoryStateStore | None = None, confirm_delay_ms: int = 10
    ) -> None:
        self.ledger = ledger or InMemoryStateStore()
        super().__init__(self.ledger, confirm_delay_ms=confirm_delay_ms)
        self.charge_calls = 0
        self.void_calls = 0
        self.refund_calls = 0
        self.webhooks_received = 0
        self.latency = 0.0  # seconds every charge waits before the provider answers
        self.down = False
        self.crash_after_charge = False
        self.webhooks_open = asyncio.Event()
        self.webhooks_open.set()

    async def charge(
        self, idempotency_key: str, token: str, amount_cents: int, currency: str
    ) -> ChargeResult:
        self.charge_calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.down:
            raise ProviderUnavailable("provider down for the test")
        result = await super().charge(idempotency_key, token, amount_cents, currency)
        if self.crash_after_charge:
            raise Crash
        return result

    async def void(self, idempotency_key: str) -> ChargeResult | None:
        self.void_calls += 1
        if self.down:
            raise ProviderUnavailable("provider down for the test")
        return await super().void(idempotency_key)

    async def refund(
        self, payment_id: str, amount_cents: int, idempotency_key: str | None = None
    ) -> RefundResult:
        self.refund_calls += 1
        if self.down:
            raise ProviderUnavailable("provider down for the test")
        return await super().refund(payment_id, amount_cents, idempotency_key)

    async def deliver_confirmations(self, secret: str, receive: WebhookReceiver) -> None:
        async def held(body: bytes, signature: str) -> None:
            # Bounded by the sender's own deadline for a webhook call.
            await self.webhooks_open.wait()
            await receive(body, signature)
            self.webhooks_received += 1

        await super().deliver_confirmations(secret, held)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 5) -> None:
    """Poll `check` until it holds; fail naming `what` at the deadline."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.005)


async def status_of(client: httpx.AsyncClient, order_id: str) -> str:
    status: str = (await client.get(f"/payments/{order_id}")).json()["status"]
    return status


def order_created(
    order_id: str = "o-1",
    token: str | None = GOOD_CARD,
    total_cents: int = 2500,
    event_id: str = "e-1",
    charge_on_event: bool = True,
) -> dict[str, object]:
    """The CloudEvent the sidecar delivers for an orders.order-created message."""
    return {
        "id": event_id,
        "source": "orders",
        "type": "shop.orders.order-created.v1",
        "specversion": "1.0",
        "topic": "orders.order-created",
        "pubsubname": "pubsub",
        "data": {
            "order_id": order_id,
            "user_id": "u-1",
            "email": "ada@example.com",
            "lines": [
                {"product_id": "mug", "name": "Mug", "quantity": 2, "unit_price_cents": 1250}
            ],
            "total_cents": total_cents,
            "currency": "EUR",
            "charge_on_event": charge_on_event,
            "payment_token": token,
            "created_at": datetime(2026, 1, 2, tzinfo=UTC).isoformat(),
        },
    }


def charge_request(
    order_id: str = "o-1", token: str = GOOD_CARD, amount_cents: int = 2500
) -> dict[str, object]:
    """A POST /charges body."""
    return {
        "order_id": order_id,
        "amount_cents": amount_cents,
        "currency": "EUR",
        "payment_token": token,
    }


async def deliver(client: httpx.AsyncClient, event: object) -> str:
    """Deliver like the sidecar does and return the subscriber's reply."""
    response = await client.post(
        "/events/orders/order-created",
        json=event,
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def paid_order(client: httpx.AsyncClient, order_id: str = "o-1", total: int = 2500) -> str:
    """Charge an order successfully; its payment id."""
    assert await deliver(client, order_created(order_id, total_cents=total)) == "SUCCESS"
    payment_id: str = (await client.get(f"/payments/{order_id}")).json()["payment_id"]
    return payment_id
