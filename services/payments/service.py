"""Payment use cases: charge an order once, refund it, void it, apply the provider's
callbacks."""

import logging
from collections.abc import Callable

from shop_contracts.payments import (
    PAYMENT_FAILED_TOPIC,
    PAYMENT_FAILED_TYPE,
    PAYMENT_SUCCEEDED_TOPIC,
    PAYMENT_SUCCEEDED_TYPE,
    ChargeRequest,
    PaymentSucceeded,
)
from shop_dapr import Publisher
from shop_dapr.app import Dapr
from shop_dapr.metrics import PAYMENTS
from shop_dapr.usecase import use_case

from payments.domain import (
    CONFIRMATION_TIMEOUT,
    ChargeDisputed,
    ChargeFailed,
    ChargeRecord,
    ChargeStatus,
    ChargeSucceeded,
    Declined,
    ProviderEvent,
)
from payments.provider import PaymentProvider

log = logging.getLogger(__name__)


class PaymentNotFound(LookupError):
    pass


class PaymentService:
    def __init__(self, dapr: Dapr, provider: PaymentProvider) -> None:
        self._charges = dapr.repository(ChargeRecord, "charge")
        self._publisher: Publisher = dapr.publisher
        self._provider = provider

    async def charge(self, request: ChargeRequest) -> ChargeRecord:
        """Charge the order at most once, however often asked, and answer the record
        (which may await the provider's confirmation). Announces nothing: the caller
        uses the answer. Raises ProviderUnavailable: ask again then."""
        with use_case("payments.charge", request.order_id):
            return await self._charge_once(request)

    async def settle(self, request: ChargeRequest) -> ChargeRecord:
        """Charge the order at most once, however often its event is delivered, and
        announce the outcome every time (the previous announcement may have been lost).
        A charge awaiting confirmation announces nothing yet: its webhook will.

        Raises ProviderUnavailable when the provider is down: redeliver the event then."""
        with use_case("payments.settle", request.order_id):
            record = await self._charge_once(request)
            # Acknowledged only after this publish, so a lost publish is redone on
            # redelivery from the record (consumers of the outcome are idempotent).
            if record.is_settled:
                await self._announce(record)
            return record

    async def get(self, order_id: str) -> ChargeRecord:
        """The order's charge record."""
        if (record := await self._charges.get(order_id)) is None:
            raise PaymentNotFound(order_id)
        return record

    async def void(self, order_id: str) -> ChargeRecord:
        """Stop waiting for the provider: a charge awaiting confirmation is declined
        (`confirmation_timeout`) and the failure announced. A settled charge is answered
        as it is, announcing nothing. Raises PaymentNotFound, or ProviderUnavailable while
        a processing charge cannot be resolved."""
        with use_case("payments.void", order_id):
            record = await self.get(order_id)
            settled_here = False
            if record.status is ChargeStatus.PROCESSING:
                # A crash left the provider's answer unrecorded: ask for it under the same
                # key. When no charge was made, the provider's void makes sure none will
                # be (a charge call still on its way with the key is declined).
                result = await self._provider.void(order_id) or Declined(CONFIRMATION_TIMEOUT)
                before, record = await self._change(order_id, lambda r: r.answered(result))
                settled_here = _settled_by(before, record)
            if record.status is ChargeStatus.AWAITING:
                # ETag-guarded like the provider's confirmation: exactly one of them wins.
                before, record = await self._change(order_id, ChargeRecord.voided)
                settled_here = _settled_by(before, record)
            # What this void settled is announced, as settle announces; a charge settled
            # before (by the provider, or an earlier void) was announced by whoever did.
            if settled_here:
                await self._announce(record)
            return record

    async def refund(self, order_id: str, amount_cents: int | None) -> ChargeRecord:
        """Refund `amount_cents`, or all that is left when None (a no-op once all is
        refunded). Raises PaymentNotFound, RefundRefused, RefundRejected or
        ProviderUnavailable."""
        record = await self.get(order_id)
        payment_id, amount = record.refund_request(amount_cents)
        if amount == 0:
            return record
        # Concurrent refunds can both pass the check above; the provider, which counts
        # refunds per payment, refuses whichever would over-refund.
        result = await self._provider.refund(payment_id, amount)
        log.info("refund %s: %d cents of order %s", result.refund_id, result.amount_cents, order_id)
        _, updated = await self._change(
            order_id, lambda r: r.with_refunded_total(payment_id, result.total_refunded_cents)
        )
        return updated

    async def apply(self, event: ProviderEvent) -> bool:
        """Apply a verified provider callback; False when it changed nothing (a replay).
        A confirmation (`charge.succeeded` / `charge.failed`) announces the outcome, on a
        replay too (the webhook is redelivered until answered, so a lost announcement is
        redone, as `settle` does). Raises PaymentNotFound, EventConflict, or
        ProviderUnavailable while a late payment cannot be refunded."""
        with use_case(f"payments.{event.type}", event.order_id):
            before, after = await self._change(event.order_id, event.apply)
            changed = after is not before
            if changed and isinstance(event, ChargeDisputed):
                log.warning("payment %s of order %s is disputed", event.payment_id, event.order_id)
            if isinstance(event, ChargeSucceeded | ChargeFailed):
                if after.late_payment is not None:
                    # The void announced the failure already; the money goes back.
                    await self._refund_late_payment(after)
                else:
                    await self._announce(after)
            return changed

    async def _charge_once(self, request: ChargeRequest) -> ChargeRecord:
        """The one way to charge. Written before the provider is asked: a call that finds
        this record knows a charge may exist and must not start another one.
        (Repository.create reads first: repeats are common, and a refused create-only
        write costs seconds.)"""
        record = ChargeRecord.processing(request.order_id, request.currency)
        if not await self._charges.create(request.order_id, record):
            log.info("order %s asked again: resuming its charge record", request.order_id)
            record = await self.get(request.order_id)
        if record.status is not ChargeStatus.PROCESSING:
            return record
        # The order id is the idempotency key: if this record was left processing by a
        # crash, the provider answers with that first charge instead of charging again.
        result = await self._provider.charge(
            request.order_id, request.payment_token, request.amount_cents, request.currency
        )
        # A concurrent call may have recorded it first, from the same provider answer
        # (or the provider's webhook a later word): answered() leaves that as it is.
        _, record = await self._change(request.order_id, lambda r: r.answered(result))
        log.info("order %s charge %s", request.order_id, record.status)
        return record

    async def _refund_late_payment(self, record: ChargeRecord) -> None:
        late = record.late_payment
        if late is None or late.refunded:
            return
        log.warning(
            "order %s: the provider confirmed payment %s (%d cents) after the charge was "
            "voided; refunding it",
            record.order_id,
            late.payment_id,
            late.amount_cents,
        )
        # The record names the payment before it is refunded, so a crash in between is
        # finished by the webhook's redelivery; the key keeps that from refunding twice.
        refund = await self._provider.refund(
            late.payment_id, late.amount_cents, idempotency_key=f"{record.order_id}.late"
        )
        await self._change(record.order_id, ChargeRecord.late_payment_refunded)
        log.info("late payment %s refunded (%s)", late.payment_id, refund.refund_id)

    async def _announce(self, record: ChargeRecord) -> None:
        outcome = record.outcome()
        if isinstance(outcome, PaymentSucceeded):
            await self._publisher.publish(PAYMENT_SUCCEEDED_TOPIC, PAYMENT_SUCCEEDED_TYPE, outcome)
        else:
            await self._publisher.publish(PAYMENT_FAILED_TOPIC, PAYMENT_FAILED_TYPE, outcome)

    async def _change(
        self, order_id: str, change: Callable[[ChargeRecord], ChargeRecord]
    ) -> tuple[ChargeRecord, ChargeRecord]:
        """Apply `change` to the stored record: the record as the winning attempt read it
        and as it is now, the very same object when nothing changed (a change giving an
        equal record writes nothing). Repository.update retries a lost race on the record
        as it is then, which is safe: every change here is a merge (a maximum, a flag,
        settling only what is not settled yet)."""
        read: ChargeRecord | None = None

        def apply(record: ChargeRecord | None) -> ChargeRecord:
            nonlocal read  # the attempt that wins the race is the last one to set it
            if record is None:
                raise PaymentNotFound(order_id)
            read = record
            updated = change(record)
            # Repository.update writes nothing only for the very object it read.
            return updated if updated != record else record

        after = await self._charges.update(order_id, apply)
        assert read is not None
        if _settled_by(read, after):
            PAYMENTS.labels(after.status).inc()
        return read, after


def _settled_by(before: ChargeRecord, after: ChargeRecord) -> bool:
    return not before.is_settled and after.is_settled
