"""The simulated provider: test cards, idempotency keys, outages, refunds."""

import random

import pytest
from shop_dapr.testing import InMemoryStateStore

from payments.domain import Charged, Declined
from payments.provider import ProviderUnavailable, RefundRejected, SimulatedProvider, luhn_valid
from payments.tests.helpers import charges, ledger_in


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
    records = ledger_in(ledger)
    provider = SimulatedProvider(records)
    first = await provider.charge("o-1", "4242424242424242", 500, "EUR")
    again = await provider.charge("o-1", "4242424242424242", 500, "EUR")
    other = await provider.charge("o-2", "4242424242424242", 500, "EUR")
    assert isinstance(first, Charged)
    assert again == first
    assert other != first
    assert len(charges(ledger)) == 2

    # A restarted provider process answers from the same ledger.
    assert await SimulatedProvider(records).charge("o-1", "4242424242424242", 500, "EUR") == first


async def test_decline_is_remembered_too() -> None:
    provider = SimulatedProvider(ledger_in(InMemoryStateStore()))
    assert await provider.charge("o-1", "4000000000009995", 500, "EUR") == Declined(
        "insufficient_funds"
    )
    assert await provider.charge("o-1", "4000000000009995", 500, "EUR") == Declined(
        "insufficient_funds"
    )


async def _outcomes(seed: int) -> list[bool]:
    provider = SimulatedProvider(
        ledger_in(InMemoryStateStore()), failure_rate=0.5, rng=random.Random(seed)
    )
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
    down = SimulatedProvider(ledger_in(ledger), failure_rate=1.0)
    with pytest.raises(ProviderUnavailable):
        await down.charge("o-1", "4242424242424242", 100, "EUR")
    assert charges(ledger) == []


async def test_refunds_are_counted_per_payment() -> None:
    provider = SimulatedProvider(ledger_in(InMemoryStateStore()))
    charged = await provider.charge("o-1", "4242424242424242", 1000, "EUR")
    assert isinstance(charged, Charged)

    first = await provider.refund(charged.payment_id, 400)
    second = await provider.refund(charged.payment_id, 600)
    assert (first.total_refunded_cents, second.total_refunded_cents) == (400, 1000)
    with pytest.raises(RefundRejected, match="1000 of 1000 cents already refunded"):
        await provider.refund(charged.payment_id, 1)
    with pytest.raises(RefundRejected, match="no payment 'pay_nope'"):
        await provider.refund("pay_nope", 1)
