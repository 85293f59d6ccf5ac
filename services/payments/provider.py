"""The payment provider adapter, and a simulated provider with deterministic test cards."""

import asyncio
import random
import uuid
from typing import Protocol

from pydantic import BaseModel
from shop_dapr.repository import Repository

from payments.domain import Charged, ChargeResult, Declined, RefundResult


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with a transient error: nothing
    happened that a retry with the same idempotency key could not finish."""


class RefundRejected(Exception):
    """The provider refused the refund (the message says why)."""


class PaymentProvider(Protocol):
    async def charge(
        self, idempotency_key: str, token: str, amount_cents: int, currency: str
    ) -> ChargeResult:
        """Charge once per `idempotency_key`: a repeated call returns the first result."""

    async def refund(self, payment_id: str, amount_cents: int) -> RefundResult: ...


# Test cards that decline, as card processors publish them for their sandboxes.
_DECLINING_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}


def luhn_valid(number: str) -> bool:
    """A 12-19 digit card number whose check digit is right."""
    if not (number.isascii() and number.isdigit() and 12 <= len(number) <= 19):
        return False
    total = 0
    for position, digit in enumerate(int(char) for char in reversed(number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class LedgerEntry(BaseModel):
    """One charge as the simulated provider remembers it, by idempotency key."""

    payment_id: str | None = None
    amount_cents: int = 0
    decline_reason: str | None = None

    @classmethod
    def of(cls, result: ChargeResult) -> "LedgerEntry":
        if isinstance(result, Charged):
            return cls(payment_id=result.payment_id, amount_cents=result.amount_cents)
        return cls(decline_reason=result.reason)

    def result(self) -> ChargeResult:
        if self.payment_id is not None:
            return Charged(payment_id=self.payment_id, amount_cents=self.amount_cents)
        return Declined(self.decline_reason or "declined")


# The ledger's records are `provider-charge:<idempotency key>`: the chaos suite reads
# them to count charges (tests/chaos/stored.py).
LEDGER_PREFIX = "provider-charge"


class SimulatedProvider:
    """Stands in for a card processor. The payment token is the card number itself:
    "4242424242424242" (or any other valid number) succeeds, the cards above decline with
    their reason, and anything that is not a valid card number declines "invalid_card".

    Charges are remembered by idempotency key in `ledger` (in the payments state store,
    under LEDGER_PREFIX), so that, like a real provider, it answers a repeated charge
    with the first result even after the payments app restarted; the chaos suite reads
    that ledger to count charges. Refunds are remembered in memory only."""

    def __init__(
        self,
        ledger: Repository[LedgerEntry],
        latency_ms: int = 0,
        failure_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._ledger = ledger
        self._latency_seconds = latency_ms / 1000
        self._failure_rate = failure_rate
        # Not for security: it only decides which calls fail. Seed it to repeat a run.
        self._rng = rng or random.Random()  # noqa: S311
        self._refunded: dict[str, tuple[int, int]] = {}  # payment id -> (charged, refunded)

    async def charge(
        self, idempotency_key: str, token: str, amount_cents: int, currency: str
    ) -> ChargeResult:
        # Any currency is accepted: the simulator converts nothing.
        await self._answer()
        result: ChargeResult
        if token in _DECLINING_CARDS:
            result = Declined(_DECLINING_CARDS[token])
        elif not luhn_valid(token):
            result = Declined("invalid_card")
        else:
            result = Charged(payment_id=f"pay_{uuid.uuid4().hex}", amount_cents=amount_cents)
        # First write wins (create reads first, so a repeated call costs no refused
        # write): of two calls with one key, one charges and both answer its result.
        if not await self._ledger.create(idempotency_key, LedgerEntry.of(result)):
            if (earlier := await self._ledger.get(idempotency_key)) is None:
                raise ProviderUnavailable("the simulated provider lost its own ledger entry")
            return earlier.result()
        if isinstance(result, Charged):
            self._refunded[result.payment_id] = (amount_cents, 0)
        return result

    async def refund(self, payment_id: str, amount_cents: int) -> RefundResult:
        await self._answer()
        if payment_id not in self._refunded:
            raise RefundRejected(f"no payment '{payment_id}'")
        charged, refunded = self._refunded[payment_id]
        if amount_cents <= 0 or refunded + amount_cents > charged:
            raise RefundRejected(
                f"cannot refund {amount_cents} cents of payment '{payment_id}': "
                f"{refunded} of {charged} cents already refunded"
            )
        self._refunded[payment_id] = (charged, refunded + amount_cents)
        return RefundResult(
            refund_id=f"re_{uuid.uuid4().hex}",
            amount_cents=amount_cents,
            total_refunded_cents=refunded + amount_cents,
        )

    async def _answer(self) -> None:
        if self._latency_seconds:
            await asyncio.sleep(self._latency_seconds)
        # A simulated outage fails before anything is charged or refunded.
        if self._rng.random() < self._failure_rate:
            raise ProviderUnavailable("the simulated payment provider is unavailable")
