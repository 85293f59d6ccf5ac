"""The payment provider adapter, and a simulated provider with deterministic test cards."""

import asyncio
import random
import uuid
from typing import Protocol

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


class SimulatedProvider:
    """Stands in for a card processor. The payment token is the card number itself:
    "4242424242424242" (or any other valid number) succeeds, the cards above decline with
    their reason, and anything that is not a valid card number declines "invalid_card".

    Charges are remembered by idempotency key, and refunds by payment, in memory: enough
    for a simulator (a restart forgets them); a real provider keeps them on its side."""

    def __init__(
        self, latency_ms: int = 0, failure_rate: float = 0.0, rng: random.Random | None = None
    ) -> None:
        self._latency_seconds = latency_ms / 1000
        self._failure_rate = failure_rate
        # Not for security: it only decides which calls fail. Seed it to repeat a run.
        self._rng = rng or random.Random()  # noqa: S311
        self.charges: dict[str, ChargeResult] = {}
        self._refunded: dict[str, tuple[int, int]] = {}  # payment id -> (charged, refunded)

    async def charge(
        self, idempotency_key: str, token: str, amount_cents: int, currency: str
    ) -> ChargeResult:
        # Any currency is accepted: the simulator converts nothing.
        await self._answer()
        if idempotency_key in self.charges:
            return self.charges[idempotency_key]
        result: ChargeResult
        if token in _DECLINING_CARDS:
            result = Declined(_DECLINING_CARDS[token])
        elif not luhn_valid(token):
            result = Declined("invalid_card")
        else:
            result = Charged(payment_id=f"pay_{uuid.uuid4().hex}", amount_cents=amount_cents)
            self._refunded[result.payment_id] = (amount_cents, 0)
        self.charges[idempotency_key] = result
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
