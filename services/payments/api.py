"""HTTP routes: thin, translating between HTTP and the use cases."""

import logging
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shop_contracts.common import Cents, OrderId
from shop_dapr import ETagMismatch
from shop_dapr.app import provided

from payments.domain import (
    SIGNATURE_HEADER,
    ChargeRecord,
    EventConflict,
    RefundRefused,
    SignatureRejected,
    parse_provider_event,
    verify_callback,
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


@router.post("/webhooks/provider")
async def provider_callback(
    request: Request,
    service: ServiceDep,
    secret: WebhookSecretDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> dict[str, str]:
    """The provider's asynchronous notices (refunds, disputes), signed with the webhook
    secret. Answers `applied`, `duplicate` (already applied) or `ignored` (unknown type)."""
    body = await request.body()
    try:
        verify_callback(secret.value, body, signature, time.time())
    except SignatureRejected as exc:
        log.warning("provider callback refused: %s", exc)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    try:
        event = parse_provider_event(body)
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
    return {"status": "applied" if changed else "duplicate"}
