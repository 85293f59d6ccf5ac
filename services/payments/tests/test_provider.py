"""The simulated provider: test cards, idempotency keys, outages, refunds."""

import asyncio
import json
import random
import time

import pytest
from shop_dapr.repository import Repository
from shop_dapr.testing import InMemoryStateStore

from payments.domain import Awaiting, Charged, Declined, verify_callback
from payments.provider import (
    CONFIRMATIONS_PREFIX,
    LEDGER_PREFIX,
    PENDING,
    LedgerEntry,
    PendingConfirmations,
    ProviderUnavailable,
    RefundRejected,
    SimulatedProvider,
    luhn_valid,
)
from payments.tests.helpers import WEBHOOK_SECRET, charges, eventually, ledger_entries


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("4000000000000002", True),
        ("4000000000009995", True),
        ("378282246310005", True),  # 15 digits
        ("4242424242424241", False),
        ("42424242424", False),  # 11 digits
        ("42424242424242424242", False),  # 20 digits
        ("4242 4242 4242 4242", False),
        ("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", False),  # digits, but not ASCII ones
        ("", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


async def test_same_idempotency_key_returns_the_first_charge() -> None:
    ledger = InMemoryStateStore()
    provider = SimulatedProvider(ledger)
    first = await provider.charge("o-1", "4242424242424242", 500, "EUR")
    again = await provider.charge("o-1", "4242424242424242", 500, "EUR")
    other = await provider.charge("o-2", "4242424242424242", 500, "EUR")
    assert isinstance(first, Charged)
    assert again == first
    assert other != first
    assert len(charges(ledger)) == 2

    # A restarted provider process answers from the same ledger.
    assert await SimulatedProvider(ledger).charge("o-1", "4242424242424242", 500, "EUR") == first


async def test_decline_is_remembered_too() -> None:
    provider = SimulatedProvider(InMemoryStateStore())
    assert await provider.charge("o-1", "4000000000009995", 500, "EUR") == Declined(
        "insufficient_funds"
    )
    assert await provider.charge("o-1", "4000000000009995", 500, "EUR") == Declined(
        "insufficient_funds"
    )


async def _outcomes(seed: int) -> list[bool]:
    provider = SimulatedProvider(InMemoryStateStore(), failure_rate=0.5, rng=random.Random(seed))
    outcomes = []
    for key in range(20):
        try:
            await provider.charge(f"o-{key}", "4242424242424242", 100, "EUR")
            outcomes.append(True)
        except ProviderUnavailable:
            outcomes.append(False)
    return outcomes


async def test_seeded_outages_repeat_and_charge_nothing() -> None:
    outcomes = await _outcomes(seed=7)
    assert outcomes == await _outcomes(seed=7)
    assert True in outcomes and False in outcomes

    ledger = InMemoryStateStore()
    down = SimulatedProvider(ledger, failure_rate=1.0)
    with pytest.raises(ProviderUnavailable):
        await down.charge("o-1", "4242424242424242", 100, "EUR")
    assert charges(ledger) == []


async def test_refunds_are_counted_per_payment() -> None:
    provider = SimulatedProvider(InMemoryStateStore())
    charged = await provider.charge("o-1", "4242424242424242", 1000, "EUR")
    assert isinstance(charged, Charged)

    first = await provider.refund(charged.payment_id, 400)
    second = await provider.refund(charged.payment_id, 600)
    assert (first.total_refunded_cents, second.total_refunded_cents) == (400, 1000)
    with pytest.raises(RefundRejected, match="1000 of 1000 cents already refunded"):
        await provider.refund(charged.payment_id, 1)
    with pytest.raises(RefundRejected, match="no payment 'pay_nope'"):
        await provider.refund("pay_nope", 1)


@pytest.mark.parametrize("card", ["4000000000003220", "4000008400001629"])
async def test_awaiting_cards_are_valid_and_answered_as_awaiting_every_time(card: str) -> None:
    assert luhn_valid(card)
    provider = SimulatedProvider(InMemoryStateStore())
    assert await provider.charge("o-1", card, 500, "EUR") == Awaiting()
    assert await provider.charge("o-1", card, 500, "EUR") == Awaiting()


async def _pending(state: InMemoryStateStore) -> PendingConfirmations:
    stored = await Repository(state, PendingConfirmations, CONFIRMATIONS_PREFIX).get(PENDING)
    return stored or PendingConfirmations()


async def test_only_the_confirmed_later_card_is_scheduled() -> None:
    state = InMemoryStateStore()
    provider = SimulatedProvider(state)
    await provider.charge("o-1", "4000000000003220", 500, "EUR")
    await provider.charge("o-2", "4000008400001629", 500, "EUR")
    assert list((await _pending(state)).due) == ["o-1"]


async def test_a_repeated_charge_schedules_a_confirmation_a_crash_left_unscheduled() -> None:
    state = InMemoryStateStore()
    # The ledger entry written, then the process died before the schedule was.
    await Repository(state, LedgerEntry, LEDGER_PREFIX).save(
        "o-1", LedgerEntry(awaiting=True, amount_cents=500)
    )
    provider = SimulatedProvider(state)
    assert await provider.charge("o-1", "4000000000003220", 500, "EUR") == Awaiting()
    assert list((await _pending(state)).due) == ["o-1"]


class Webhooks:
    """A webhook endpoint for the sender: verifies like payments, refuses on demand."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.received: list[dict[str, object]] = []

    async def receive(self, body: bytes, signature: str) -> None:
        verify_callback(WEBHOOK_SECRET, body, signature, time.time())
        if self.refusals:
            self.refusals -= 1
            raise RuntimeError("503 from the webhook endpoint")
        self.received.append(json.loads(body))


async def test_confirmation_is_delivered_signed_and_retried_until_accepted() -> None:
    state = InMemoryStateStore()
    provider = SimulatedProvider(state, confirm_delay_ms=5)
    webhooks = Webhooks(refusals=2)
    sender = asyncio.create_task(provider.deliver_confirmations(WEBHOOK_SECRET, webhooks.receive))
    try:
        await provider.charge("o-1", "4000000000003220", 500, "EUR")

        async def delivered() -> bool:
            return bool(webhooks.received) and not (await _pending(state)).due

        await eventually(delivered, "the confirmation accepted and unscheduled")
    finally:
        sender.cancel()

    entry = ledger_entries(state)["o-1"]
    assert webhooks.received == [
        {
            "type": "charge.succeeded",
            "order_id": "o-1",
            "payment_id": entry.payment_id,
            "amount_cents": 500,
        }
    ]
    # The same payment every attempt, and the charge now answers with it.
    assert await provider.charge("o-1", "4000000000003220", 500, "EUR") == Charged(
        str(entry.payment_id), 500
    )


async def test_void_spends_an_unused_key_and_answers_a_used_one() -> None:
    provider = SimulatedProvider(InMemoryStateStore())
    charged = await provider.charge("o-1", "4242424242424242", 500, "EUR")

    assert await provider.void("o-1") == charged
    assert await provider.void("o-2") is None
    assert await provider.charge("o-2", "4242424242424242", 500, "EUR") == Declined("voided")


async def test_refund_with_an_idempotency_key_refunds_once() -> None:
    provider = SimulatedProvider(InMemoryStateStore())
    charged = await provider.charge("o-1", "4242424242424242", 1000, "EUR")
    assert isinstance(charged, Charged)

    first = await provider.refund(charged.payment_id, 1000, idempotency_key="o-1.late")
    again = await provider.refund(charged.payment_id, 1000, idempotency_key="o-1.late")

    assert again == first
    assert first.total_refunded_cents == 1000
