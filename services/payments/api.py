"""HTTP routes: thin, translating between HTTP and the use cases."""

import logging
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shop_contracts.common import Cents, OrderId
from shop_contracts.payments import ChargeRequest
from shop_dapr import ETagMismatch
from shop_dapr.app import provided
from shop_dapr.errors import error_answer

from payments.domain import (
    SIGNATURE_HEADER,
    ChargeRecord,
    EventConflict,
    RefundRefused,
    SignatureRejected,
    verified_event,
)
from payments.provider import ProviderUnavailable, RefundRejected
from payments.service import PaymentNotFound, PaymentService

log = logging.getLogger(__name__)
router = APIRouter()


@dataclass(frozen=True)
class WebhookSecret:
    """The key the provider signs its callbacks with (from the secret store)."""

    value: str = field(repr=False)  # kept out of logs and tracebacks


ServiceDep = Annotated[PaymentService, Depends(provided(PaymentService))]
WebhookSecretDep = Annotated[WebhookSecret, Depends(provided(WebhookSecret))]
OrderIdPath = Annotated[OrderId, Path(description="letters, digits, '_' and '-'")]


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    # None refunds all that is left.
    amount_cents: Annotated[Cents, Field(gt=0)] | None = None


def _not_found(order_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no payment for order '{order_id}'")


def _raced(order_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT,
        f"the payment for order '{order_id}' was changed concurrently: "
        "read it again before retrying",
    )


@router.get("/payments/{order_id}")
async def get_payment(order_id: OrderIdPath, service: ServiceDep) -> ChargeRecord:
    try:
        record = await service.get(order_id)
    except PaymentNotFound:
        raise _not_found(order_id) from None
    return record


@router.post(
    "/charges",
    responses={
        409: error_answer("the charge record was changed concurrently many times: ask again"),
        503: error_answer(
            "the provider (or the state store) is unavailable: ask again with the same "
            "order id, which is charged at most once"
        ),
    },
)
async def charge(request: ChargeRequest, service: ServiceDep) -> ChargeRecord:
    """Charge an order at most once (the order id is the provider's idempotency key):
    asking again answers the same charge. The answer is the charge record: `succeeded`,
    `declined` (see `decline_reason`) or `awaiting_confirmation`, whose outcome the
    provider confirms later (payments then publishes payment-succeeded or
    payment-failed). Nothing is published for the outcome answered here."""
    try:
        return await service.charge(request)
    except ProviderUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the payment provider is unavailable: order '{request.order_id}' is not "
            "charged yet; ask again with the same order id (it is charged at most once)",
        ) from None
    except ETagMismatch:
        raise _raced(request.order_id) from None


@router.post(
    "/payments/{order_id}/void",
    responses={
        404: error_answer("no charge for this order"),
        409: error_answer("the charge record was changed concurrently many times: ask again"),
        503: error_answer(
            "a processing charge could not be resolved with the provider (or the state "
            "store is unavailable): ask again"
        ),
    },
)
async def void(order_id: OrderIdPath, service: ServiceDep) -> ChargeRecord:
    """Stop waiting for the provider: a charge `awaiting_confirmation` becomes `declined`
    (`confirmation_timeout`) and payment-failed is published; should the provider confirm
    it after all, that payment is refunded at once (`late_payment`). A `processing` charge
    (a crash before the provider's answer was recorded) is first resolved with the
    provider. A settled charge is answered as it is."""
    try:
        return await service.void(order_id)
    except PaymentNotFound:
        raise _not_found(order_id) from None
    except ProviderUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the payment provider is unavailable: the charge for order '{order_id}' is "
            "still processing; ask again",
        ) from None
    except ETagMismatch:
        raise _raced(order_id) from None


@router.post("/refunds")
async def refund(request: RefundRequest, service: ServiceDep) -> ChargeRecord:
    """Refund a succeeded payment, in full or in part; the charge record afterwards."""
    try:
        return await service.refund(request.order_id, request.amount_cents)
    except PaymentNotFound:
        raise _not_found(request.order_id) from None
    except (RefundRefused, RefundRejected) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ProviderUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the payment provider is unavailable: nothing was refunded, retry later",
        ) from None
    except ETagMismatch:
        raise _raced(request.order_id) from None


@router.post(
    "/webhooks/provider",
    responses={
        400: error_answer("signed, but not a valid provider event"),
        401: error_answer("missing, malformed, wrong or stale signature"),
        404: error_answer("no charge for the event's order"),
        409: error_answer(
            "the event contradicts the charge record, raced another change, or confirms a "
            "voided charge whose refund the provider refused"
        ),
        503: error_answer("a late payment could not be refunded yet (or the state store is down)"),
    },
)
async def provider_callback(
    request: Request,
    service: ServiceDep,
    secret: WebhookSecretDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> dict[str, str]:
    """The provider's asynchronous notices (confirmations of awaiting charges, refunds,
    disputes), signed with the webhook secret. Answers `applied`, `duplicate` (already
    applied) or `ignored` (unknown type); the provider retries anything else."""
    body = await request.body()
    try:
        event = verified_event(secret.value, body, signature, time.time())
    except SignatureRejected as exc:
        log.warning("provider callback refused: %s", exc)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'body'}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"the callback is not a valid provider event: {problems}"
        ) from None
    if event is None:
        return {"status": "ignored"}
    try:
        changed = await service.apply(event)
    except PaymentNotFound:
        raise _not_found(event.order_id) from None
    except EventConflict as exc:
        log.warning("provider callback conflicts with the record: %s", exc)
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ETagMismatch:
        raise _raced(event.order_id) from None
    except ProviderUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the payment provider is unavailable: a late payment is not refunded yet",
        ) from None
    except RefundRejected as exc:
        # Money taken for a voided charge that the provider will not give back: the
        # provider retries, and an operator must look.
        log.error("the late payment of order %s was not refunded: %s", event.order_id, exc)
        raise HTTPException(status.HTTP_409_CONFLICT, f"late payment not refunded: {exc}") from None
    return {"status": "applied" if changed else "duplicate"}
