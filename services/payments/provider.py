"""The payment provider adapter, and a simulated provider with deterministic test cards."""

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel
from shop_dapr.repository import Repository
from shop_dapr.state import StateStore

from payments.domain import Awaiting, Charged, ChargeResult, Declined, RefundResult, sign_callback

log = logging.getLogger(__name__)


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with a transient error: nothing
    happened that a retry with the same idempotency key could not finish."""


class RefundRejected(Exception):
    """The provider refused the refund (the message says why)."""


class PaymentProvider(Protocol):
    async def charge(
        self, idempotency_key: str, token: str, amount_cents: int, currency: str
    ) -> ChargeResult:
        """Charge once per `idempotency_key`: a repeated call returns the first result
        (or, for a charge awaiting confirmation, what became of it)."""

    async def void(self, idempotency_key: str) -> ChargeResult | None:
        """What the charge under `idempotency_key` came to; None when no charge was made
        under it, and then none ever will be (a later charge with the key is declined)."""

    async def refund(
        self, payment_id: str, amount_cents: int, idempotency_key: str | None = None
    ) -> RefundResult:
        """Refund part of a payment; with an `idempotency_key`, a repeated call returns
        the first refund instead of refunding again."""


# Test cards that decline, as card processors publish them for their sandboxes.
_DECLINING_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}
# Test cards whose charge awaits the buyer's authentication (3-D Secure in processors'
# sandboxes): the provider confirms the first by webhook after the confirm delay, the
# second never (the buyer never authenticates).
CONFIRMED_LATER_CARD = "4000000000003220"
NEVER_CONFIRMED_CARD = "4000008400001629"
_AWAITING_CARDS = {CONFIRMED_LATER_CARD, NEVER_CONFIRMED_CARD}


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
    """One charge as the simulated provider remembers it, by idempotency key: paid
    (payment_id), awaiting confirmation (no payment yet), or declined."""

    payment_id: str | None = None
    amount_cents: int = 0
    decline_reason: str | None = None
    awaiting: bool = False
    # The refunded total as the simulator counted it (for the chaos suite's count).
    refunded_cents: int = 0

    def result(self) -> ChargeResult:
        if self.payment_id is not None:
            return Charged(payment_id=self.payment_id, amount_cents=self.amount_cents)
        if self.awaiting:
            return Awaiting()
        return Declined(self.decline_reason or "declined")


class Due(BaseModel):
    at: float  # unix seconds
    attempts: int = 0  # deliveries that were not accepted


class PendingConfirmations(BaseModel):
    """The confirmations the simulated provider still has to deliver, by idempotency
    key. One known record, because the state API cannot list keys."""

    due: dict[str, Due] = {}


# The ledger's records are `provider-charge:<idempotency key>`: the chaos suite reads
# them to count charges (tests/chaos/stored.py).
LEDGER_PREFIX = "provider-charge"
CONFIRMATIONS_PREFIX = "provider-confirmations"
PENDING = "pending"  # the one record's id

# Receives a webhook as the payments app does: the body and its signature header.
# Returning is the 2xx that stops the provider's retries.
WebhookReceiver = Callable[[bytes, str], Coroutine[Any, Any, None]]
WEBHOOK_TIMEOUT_SECONDS = 10.0  # a real provider gives up on a webhook call after a while
IDLE_SECONDS = 30.0  # with nothing due, the schedule is read again this often
MAX_RETRY_SECONDS = 60.0
STORE_RETRY_SECONDS = 5.0


@dataclass
class _Payment:
    key: str  # the charge's idempotency key
    charged: int
    refunded: int = 0


class SimulatedProvider:
    """Stands in for a card processor. The payment token is the card number itself:
    "4242424242424242" (or any other valid number) succeeds, the cards above decline with
    their reason or await confirmation, and anything that is not a valid card number
    declines "invalid_card".

    Charges are remembered by idempotency key in a ledger in the payments state store
    (under LEDGER_PREFIX), so that, like a real provider, it answers a repeated charge
    with the first result even after the payments app restarted; the chaos suite reads
    that ledger to count charges. Which payment belongs to which charge, and the refund
    checks, are remembered in memory only: a restarted simulator knows the payments it
    has answered or confirmed since.

    A charge awaiting confirmation is confirmed by `deliver_confirmations`, which runs
    beside the app like the provider's webhook sender: what it still has to deliver is
    kept in the state store too, so a killed payments process loses no confirmation."""

    def __init__(
        self,
        state: StateStore,
        latency_ms: int = 0,
        failure_rate: float = 0.0,
        rng: random.Random | None = None,
        confirm_delay_ms: int = 1500,
    ) -> None:
        self._ledger = Repository(state, LedgerEntry, LEDGER_PREFIX)
        self._confirmations = Repository(state, PendingConfirmations, CONFIRMATIONS_PREFIX)
        self._latency_seconds = latency_ms / 1000
        self._failure_rate = failure_rate
        # Not for security: it only decides which calls fail. Seed it to repeat a run.
        self._rng = rng or random.Random()  # noqa: S311
        self._confirm_delay = confirm_delay_ms / 1000
        self._payments: dict[str, _Payment] = {}  # payment id -> its charge
        self._refunds: dict[str, RefundResult] = {}  # refund idempotency key -> refund
        self._scheduled = asyncio.Event()  # wakes the webhook sender early

    async def charge(
        self, idempotency_key: str, token: str, amount_cents: int, currency: str
    ) -> ChargeResult:
        # Any currency is accepted: the simulator converts nothing.
        await self._answer()
        entry: LedgerEntry
        if token in _DECLINING_CARDS:
            entry = LedgerEntry(decline_reason=_DECLINING_CARDS[token])
        elif not luhn_valid(token):
            entry = LedgerEntry(decline_reason="invalid_card")
        elif token in _AWAITING_CARDS:
            entry = LedgerEntry(awaiting=True, amount_cents=amount_cents)
        else:
            entry = LedgerEntry(payment_id=f"pay_{uuid.uuid4().hex}", amount_cents=amount_cents)
        # First write wins (create reads first, so a repeated call costs no refused
        # write): of two calls with one key, one charges and both answer its result.
        if not await self._ledger.create(idempotency_key, entry):
            if (earlier := await self._ledger.get(idempotency_key)) is None:
                raise ProviderUnavailable("the simulated provider lost its own ledger entry")
            entry = earlier
        if entry.awaiting and token == CONFIRMED_LATER_CARD:
            # On a repeated call too: a crash may have come between the entry and this.
            await self._schedule(idempotency_key)
        self._remember(idempotency_key, entry)
        return entry.result()

    async def void(self, idempotency_key: str) -> ChargeResult | None:
        await self._answer()
        # The same first-write-wins as a charge: either the charge got the key first, or
        # this entry makes every later charge with it a decline.
        if await self._ledger.create(idempotency_key, LedgerEntry(decline_reason="voided")):
            return None
        if (earlier := await self._ledger.get(idempotency_key)) is None:
            raise ProviderUnavailable("the simulated provider lost its own ledger entry")
        self._remember(idempotency_key, earlier)
        return earlier.result()

    async def refund(
        self, payment_id: str, amount_cents: int, idempotency_key: str | None = None
    ) -> RefundResult:
        await self._answer()
        if idempotency_key is not None and idempotency_key in self._refunds:
            return self._refunds[idempotency_key]
        if (payment := self._payments.get(payment_id)) is None:
            raise RefundRejected(f"no payment '{payment_id}'")
        if amount_cents <= 0 or payment.refunded + amount_cents > payment.charged:
            raise RefundRejected(
                f"cannot refund {amount_cents} cents of payment '{payment_id}': "
                f"{payment.refunded} of {payment.charged} cents already refunded"
            )
        total = payment.refunded + amount_cents

        def counted(entry: LedgerEntry | None) -> LedgerEntry | None:
            if entry is None or entry.refunded_cents >= total:
                return entry
            return entry.model_copy(update={"refunded_cents": total})

        await self._ledger.update(payment.key, counted)
        payment.refunded = total
        result = RefundResult(
            refund_id=f"re_{uuid.uuid4().hex}",
            amount_cents=amount_cents,
            total_refunded_cents=total,
        )
        if idempotency_key is not None:
            self._refunds[idempotency_key] = result
        return result

    async def deliver_confirmations(self, secret: str, receive: WebhookReceiver) -> None:
        """Until cancelled: deliver every due confirmation as the provider's webhook
        would, a `charge.succeeded` body signed with `secret`, to `receive`; one that is
        not accepted (raises) is delivered again later, backing off, as providers retry
        until they get a 2xx. Starts with what a previous process left due."""
        while True:
            self._scheduled.clear()  # before reading: a charge scheduled meanwhile wakes us
            try:
                next_due = await self._deliver_due(secret, receive)
            except Exception:
                log.warning("confirmations not delivered (state store?), retrying", exc_info=True)
                next_due = time.time() + STORE_RETRY_SECONDS
            wait = min(max(next_due - time.time(), 0.0), IDLE_SECONDS)
            # Not asyncio.wait_for: on 3.11 it swallows a cancellation that arrives as the
            # event is set, and shutdown would wait for a sender that never stops.
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._scheduled.wait()

    async def _deliver_due(self, secret: str, receive: WebhookReceiver) -> float:
        """Deliver what is due; when the next one will be."""
        pending = await self._confirmations.get(PENDING) or PendingConfirmations()
        now = time.time()
        upcoming = [now + IDLE_SECONDS]
        for key, due in pending.due.items():
            if due.at > now:
                upcoming.append(due.at)
            elif (retry_at := await self._confirm(key, due.attempts, secret, receive)) is not None:
                upcoming.append(retry_at)
        return min(upcoming)

    async def _confirm(
        self, key: str, attempts: int, secret: str, receive: WebhookReceiver
    ) -> float | None:
        """Confirm the charge under `key` and deliver its webhook; when to try again, or
        None when it was delivered (or there is nothing to confirm)."""
        # The payment is made once: a repeated delivery finds it made and sends it again.
        entry = await self._ledger.update(key, _paid)
        if entry is None or entry.payment_id is None:
            log.warning("no charge awaiting confirmation under '%s': nothing to deliver", key)
            await self._unschedule(key)
            return None
        self._remember(key, entry)
        body = json.dumps(
            {
                "type": "charge.succeeded",
                # Payments uses the order id as the idempotency key; a real provider
                # would send it back as the charge's metadata.
                "order_id": key,
                "payment_id": entry.payment_id,
                "amount_cents": entry.amount_cents,
            }
        ).encode()
        try:
            async with asyncio.timeout(WEBHOOK_TIMEOUT_SECONDS):
                # In a task of its own, like a request: the log context and the span the
                # receiver opens end with it.
                signature = sign_callback(secret, body, int(time.time()))
                await asyncio.create_task(receive(body, signature))
        except Exception:
            # Starts at the confirm delay (at least 50 ms), doubling, at most a minute.
            backoff = max(self._confirm_delay, 0.05) * 2.0 ** min(attempts, 12)
            retry_at = time.time() + min(backoff, MAX_RETRY_SECONDS)
            log.warning(
                "confirmation of '%s' not accepted (attempt %d): again in %.2fs",
                key,
                attempts + 1,
                retry_at - time.time(),
                exc_info=True,
            )
            await self._reschedule(key, Due(at=retry_at, attempts=attempts + 1))
            return retry_at
        log.info("confirmation of '%s' delivered: payment %s", key, entry.payment_id)
        await self._unschedule(key)
        return None

    async def _schedule(self, key: str) -> None:
        due = Due(at=time.time() + self._confirm_delay)

        def add(pending: PendingConfirmations | None) -> PendingConfirmations:
            pending = pending or PendingConfirmations()
            if key in pending.due:
                return pending  # already scheduled: nothing written
            return PendingConfirmations(due={**pending.due, key: due})

        await self._confirmations.update(PENDING, add)
        self._scheduled.set()

    async def _reschedule(self, key: str, due: Due) -> None:
        def later(pending: PendingConfirmations | None) -> PendingConfirmations | None:
            if pending is None or key not in pending.due:
                return pending  # delivered meanwhile (by another sender)
            return PendingConfirmations(due={**pending.due, key: due})

        await self._confirmations.update(PENDING, later)

    async def _unschedule(self, key: str) -> None:
        def without(pending: PendingConfirmations | None) -> PendingConfirmations | None:
            if pending is None or key not in pending.due:
                return pending
            return PendingConfirmations(due={k: d for k, d in pending.due.items() if k != key})

        await self._confirmations.update(PENDING, without)

    def _remember(self, key: str, entry: LedgerEntry) -> None:
        if entry.payment_id is not None:
            self._payments.setdefault(entry.payment_id, _Payment(key, entry.amount_cents))

    async def _answer(self) -> None:
        if self._latency_seconds:
            await asyncio.sleep(self._latency_seconds)
        # A simulated outage fails before anything is charged or refunded.
        if self._rng.random() < self._failure_rate:
            raise ProviderUnavailable("the simulated payment provider is unavailable")


def _paid(entry: LedgerEntry | None) -> LedgerEntry | None:
    """The provider's confirmation of an awaiting charge: its payment made."""
    if entry is None or not entry.awaiting:
        return entry
    payment_id = f"pay_{uuid.uuid4().hex}"
    return entry.model_copy(update={"awaiting": False, "payment_id": payment_id})
