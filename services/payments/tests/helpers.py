"""Test doubles and event builders shared by the payments tests."""

from datetime import UTC, datetime

import httpx
from shop_dapr.repository import Repository
from shop_dapr.testing import InMemoryStateStore

from payments.domain import ChargeResult, RefundResult
from payments.provider import LEDGER_PREFIX, LedgerEntry, ProviderUnavailable, SimulatedProvider

WEBHOOK_SECRET = "whsec_test_only"
GOOD_CARD = "4242424242424242"


class Crash(Exception):
    """Stands for the process dying between the provider's answer and the record update."""


def ledger_in(state: InMemoryStateStore) -> Repository[LedgerEntry]:
    """The simulated provider's ledger, kept in `state` as the app keeps it."""
    return Repository(state, LedgerEntry, LEDGER_PREFIX)


def charges(ledger: InMemoryStateStore) -> list[ChargeResult]:
    """What the simulated provider charged (or declined), from its ledger."""
    return [
        LedgerEntry.model_validate_json(entry.value).result()
        for key, entry in ledger.entries.items()
        if key.startswith("provider-charge:")
    ]


class CountingProvider:
    """The simulated provider behind switches a test flips: counts calls, can be down,
    can 'crash' the caller right after a charge went through."""

    def __init__(self) -> None:
        self.ledger = InMemoryStateStore()
        self.simulator = SimulatedProvider(ledger_in(self.ledger))
        self.charge_calls = 0
        self.refund_calls = 0
        self.down = False
        self.crash_after_charge = False

    async def charge(
        self, idempotency_key: str, token: str, amount_cents: int, currency: str
    ) -> ChargeResult:
        self.charge_calls += 1
        if self.down:
            raise ProviderUnavailable("provider down for the test")
        result = await self.simulator.charge(idempotency_key, token, amount_cents, currency)
        if self.crash_after_charge:
            raise Crash
        return result

    async def refund(self, payment_id: str, amount_cents: int) -> RefundResult:
        self.refund_calls += 1
        if self.down:
            raise ProviderUnavailable("provider down for the test")
        return await self.simulator.refund(payment_id, amount_cents)


def order_created(
    order_id: str = "o-1", token: str = GOOD_CARD, total_cents: int = 2500, event_id: str = "e-1"
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
            "payment_token": token,
            "created_at": datetime(2026, 1, 2, tzinfo=UTC).isoformat(),
        },
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
