"""Payment use cases: charge an order once, refund it, apply the provider's callbacks."""

import logging
from collections.abc import Callable

from shop_contracts.orders import OrderCreated
from shop_contracts.payments import (
    PAYMENT_FAILED_TOPIC,
    PAYMENT_FAILED_TYPE,
    PAYMENT_SUCCEEDED_TOPIC,
    PAYMENT_SUCCEEDED_TYPE,
    PaymentSucceeded,
)
from shop_dapr import Publisher
from shop_dapr.app import Dapr
from shop_dapr.metrics import PAYMENTS
from shop_dapr.usecase import use_case

from payments.domain import ChargeDisputed, ChargeRecord, ChargeResult, ChargeStatus, ProviderEvent
from payments.provider import PaymentProvider

log = logging.getLogger(__name__)


class PaymentNotFound(LookupError):
    pass


class PaymentService:
    def __init__(self, dapr: Dapr, provider: PaymentProvider) -> None:
        self._charges = dapr.repository(ChargeRecord, "charge")
        self._publisher: Publisher = dapr.publisher
        self._provider = provider

    async def settle(self, order: OrderCreated) -> ChargeRecord:
        """Charge the order at most once, however often its event is delivered, and
        announce the outcome every time (the previous announcement may have been lost).

        Raises ProviderUnavailable when the provider is down: redeliver the event then."""
        with use_case("payments.settle", order.order_id):
            return await self._settle(order)

    async def _settle(self, order: OrderCreated) -> ChargeRecord:
        # Written before the provider is asked: a delivery that finds this record knows a
        # charge may exist and must not start another one. (Repository.create reads
        # first: redeliveries are common, and a refused create-only write costs seconds.)
        record = ChargeRecord.processing(order.order_id, order.currency)
        if not await self._charges.create(order.order_id, record):
            log.info("order %s delivered again: resuming its charge record", order.order_id)
            record = await self.get(order.order_id)
        if record.status is ChargeStatus.PROCESSING:
            record = await self._charge(order)
        # Acknowledged only after this publish, so a lost publish is redone on redelivery
        # from the record (consumers of the outcome are idempotent, as every consumer is).
        outcome = record.outcome()
        if isinstance(outcome, PaymentSucceeded):
            await self._publisher.publish(PAYMENT_SUCCEEDED_TOPIC, PAYMENT_SUCCEEDED_TYPE, outcome)
        else:
            await self._publisher.publish(PAYMENT_FAILED_TOPIC, PAYMENT_FAILED_TYPE, outcome)
        return record

    async def get(self, order_id: str) -> ChargeRecord:
        """The order's charge record."""
        if (record := await self._charges.get(order_id)) is None:
            raise PaymentNotFound(order_id)
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
        updated, _ = await self._change(
            order_id, lambda r: r.with_refunded_total(payment_id, result.total_refunded_cents)
        )
        return updated

    async def apply(self, event: ProviderEvent) -> bool:
        """Apply a verified provider callback; False when it changed nothing (a replay).
        Raises PaymentNotFound or EventConflict."""
        _, changed = await self._change(event.order_id, event.apply)
        if changed and isinstance(event, ChargeDisputed):
            log.warning("payment %s of order %s is disputed", event.payment_id, event.order_id)
        return changed

    async def _charge(self, order: OrderCreated) -> ChargeRecord:
        # The order id is the idempotency key: if this record was left processing by a
        # crash, the provider answers with that first charge instead of charging again.
        result = await self._provider.charge(
            order.order_id, order.payment_token, order.total_cents, order.currency
        )
        # A concurrent delivery may have settled it first, from the same provider answer:
        # then the record is no longer processing and stays as it is.
        settled, _ = await self._change(order.order_id, lambda r: _settled(r, result))
        PAYMENTS.labels(settled.status).inc()
        log.info("order %s charge %s", order.order_id, settled.status)
        return settled

    async def _change(
        self, order_id: str, change: Callable[[ChargeRecord], ChargeRecord]
    ) -> tuple[ChargeRecord, bool]:
        """Apply `change` to the stored record; the record and whether it changed. A
        change giving an equal record writes nothing. Repository.update retries a lost
        race on the record as it is then, which is safe: every change here is a merge (a
        maximum, a flag, settling only what is still processing)."""
        changed = False

        def apply(record: ChargeRecord | None) -> ChargeRecord:
            nonlocal changed  # the attempt that wins the race is the last one to set it
            if record is None:
                raise PaymentNotFound(order_id)
            updated = change(record)
            changed = updated != record
            # Repository.update writes nothing only for the very object it read.
            return updated if changed else record

        return await self._charges.update(order_id, apply), changed


def _settled(record: ChargeRecord, result: ChargeResult) -> ChargeRecord:
    return record.settled(result) if record.status is ChargeStatus.PROCESSING else record
