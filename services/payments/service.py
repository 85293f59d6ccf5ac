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
from shop_dapr import ETagMismatch, Publisher, StateStore
from shop_dapr.metrics import PAYMENTS
from shop_dapr.usecase import use_case

from payments.domain import (
    ChargeDisputed,
    ChargeRecord,
    ChargeStatus,
    ProviderEvent,
    state_key,
)
from payments.provider import PaymentProvider

log = logging.getLogger(__name__)

# Refund and callback updates are merges (a maximum, a flag), so re-reading and applying
# them again after a concurrent write is safe; a few rounds settle any realistic race.
_UPDATE_ATTEMPTS = 3


class PaymentNotFound(LookupError):
    pass


class PaymentService:
    def __init__(self, state: StateStore, publisher: Publisher, provider: PaymentProvider) -> None:
        self._state = state
        self._publisher = publisher
        self._provider = provider

    async def settle(self, order: OrderCreated) -> ChargeRecord:
        """Charge the order at most once, however often its event is delivered, and
        announce the outcome every time (the previous announcement may have been lost).

        Raises ProviderUnavailable when the provider is down: redeliver the event then."""
        with use_case("payments.settle", order.order_id):
            return await self._settle(order)

    async def _settle(self, order: OrderCreated) -> ChargeRecord:
        key = state_key(order.order_id)
        # Written before the provider is asked: a delivery that finds this record knows a
        # charge may exist and must not start another one.
        # Read first: a create-only write of an existing key is an error the sidecar
        # retries with backoff (seconds), and redeliveries are common.
        start = ChargeRecord.processing(order.order_id, order.currency)
        if await self._state.get(key) is not None or not await self._state.create(
            key, start.model_dump_json().encode()
        ):
            log.info("order %s delivered again: resuming its charge record", order.order_id)
        record, etag = await self.get(order.order_id)
        if record.status is ChargeStatus.PROCESSING:
            record = await self._charge(order, record, etag)
        # Acknowledged only after this publish, so a lost publish is redone on redelivery
        # from the record (consumers of the outcome are idempotent, as every consumer is).
        outcome = record.outcome()
        if isinstance(outcome, PaymentSucceeded):
            await self._publisher.publish(PAYMENT_SUCCEEDED_TOPIC, PAYMENT_SUCCEEDED_TYPE, outcome)
        else:
            await self._publisher.publish(PAYMENT_FAILED_TOPIC, PAYMENT_FAILED_TYPE, outcome)
        return record

    async def get(self, order_id: str) -> tuple[ChargeRecord, str]:
        """The order's charge record and its ETag."""
        entry = await self._state.get(state_key(order_id))
        if entry is None:
            raise PaymentNotFound(order_id)
        return ChargeRecord.model_validate_json(entry.value), entry.etag

    async def refund(self, order_id: str, amount_cents: int | None) -> ChargeRecord:
        """Refund `amount_cents`, or all that is left when None (a no-op once all is
        refunded). Raises PaymentNotFound, RefundRefused, RefundRejected or
        ProviderUnavailable."""
        record, _ = await self.get(order_id)
        payment_id, amount = record.refund_request(amount_cents)
        if amount == 0:
            return record
        # Concurrent refunds can both pass the check above; the provider, which counts
        # refunds per payment, refuses whichever would over-refund.
        result = await self._provider.refund(payment_id, amount)
        log.info("refund %s: %d cents of order %s", result.refund_id, result.amount_cents, order_id)
        updated, _ = await self._update(
            order_id, lambda r: r.with_refunded_total(payment_id, result.total_refunded_cents)
        )
        return updated

    async def apply(self, event: ProviderEvent) -> bool:
        """Apply a verified provider callback; False when it changed nothing (a replay).
        Raises PaymentNotFound or EventConflict."""
        _, changed = await self._update(event.order_id, event.apply)
        if changed and isinstance(event, ChargeDisputed):
            log.warning("payment %s of order %s is disputed", event.payment_id, event.order_id)
        return changed

    async def _charge(self, order: OrderCreated, record: ChargeRecord, etag: str) -> ChargeRecord:
        # The order id is the idempotency key: if this record was left processing by a
        # crash, the provider answers with that first charge instead of charging again.
        result = await self._provider.charge(
            order.order_id, order.payment_token, order.total_cents, order.currency
        )
        settled = record.settled(result)
        try:
            await self._save(settled, etag)
        except ETagMismatch:
            # A concurrent delivery settled it first, from the same provider answer.
            settled, _ = await self.get(order.order_id)
        PAYMENTS.labels(settled.status).inc()
        log.info("order %s charge %s", order.order_id, settled.status)
        return settled

    async def _update(
        self, order_id: str, change: Callable[[ChargeRecord], ChargeRecord]
    ) -> tuple[ChargeRecord, bool]:
        """Apply `change` with an ETag write; the record and whether it changed."""
        for _ in range(_UPDATE_ATTEMPTS):
            record, etag = await self.get(order_id)
            updated = change(record)
            if updated == record:
                return record, False
            try:
                await self._save(updated, etag)
            except ETagMismatch:
                continue
            return updated, True
        raise ETagMismatch(state_key(order_id))

    async def _save(self, record: ChargeRecord, etag: str) -> None:
        await self._state.save(state_key(record.order_id), record.model_dump_json().encode(), etag)
