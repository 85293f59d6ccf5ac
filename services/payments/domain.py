"""Charges, refunds and provider callbacks: the payment rules, free of I/O."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from shop_contracts.common import Cents, OrderId
from shop_contracts.payments import PaymentFailed, PaymentSucceeded


@dataclass(frozen=True)
class Charged:
    payment_id: str
    amount_cents: int


@dataclass(frozen=True)
class Declined:
    reason: str


@dataclass(frozen=True)
class Awaiting:
    """The provider took the charge but confirms it later, by its signed webhook (the
    buyer authenticates with the card's bank first: 3-D Secure)."""


# What the provider answers to a charge: a decline is an outcome, not an error.
ChargeResult = Charged | Declined | Awaiting


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    amount_cents: int
    # The payment's refunded total after this refund, as the provider counts it.
    total_refunded_cents: int


class ChargeStatus(StrEnum):
    PROCESSING = "processing"  # recorded before the provider is asked, so a crash is visible
    AWAITING = "awaiting_confirmation"  # the provider confirms it later, by webhook
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


# Why a charge was declined when the shop stopped waiting for the provider (void).
CONFIRMATION_TIMEOUT = "confirmation_timeout"


class RefundRefused(Exception):
    """The refund cannot be made from this record (the message says why)."""


class EventConflict(Exception):
    """A signed provider callback contradicts the record (the message says how)."""


class LatePayment(BaseModel):
    """A payment the provider confirmed after the shop had voided the charge: the order
    was told the payment failed, so this money is refunded in full at once. Kept beside
    the declined charge, not as its payment_id (no money of it stays)."""

    payment_id: str
    amount_cents: Cents
    refunded: bool = False


class ChargeRecord(BaseModel):
    """One order's charge, stored under `charge:<order id>`. The payment token is not
    kept: with the simulated provider it is a card number."""

    order_id: OrderId
    status: ChargeStatus
    currency: str
    # What was charged: 0 until it succeeded, and when the card was declined.
    amount_cents: Cents = 0
    payment_id: str | None = None
    decline_reason: str | None = None
    refunded_cents: Cents = 0
    disputed: bool = False
    late_payment: LatePayment | None = None

    @model_validator(mode="after")
    def _payment_iff_succeeded(self) -> Self:
        # The methods below rely on it: a payment id means money was taken.
        if (self.status is ChargeStatus.SUCCEEDED) != (self.payment_id is not None):
            raise ValueError("a charge has a payment_id exactly when it succeeded")
        if self.late_payment is not None and self.status is not ChargeStatus.DECLINED:
            raise ValueError("only a declined charge can have a late payment")
        return self

    @classmethod
    def processing(cls, order_id: str, currency: str) -> "ChargeRecord":
        return cls(order_id=order_id, status=ChargeStatus.PROCESSING, currency=currency)

    @property
    def is_settled(self) -> bool:
        """Succeeded or declined: the charge has an outcome to announce."""
        return self.status in (ChargeStatus.SUCCEEDED, ChargeStatus.DECLINED)

    def answered(self, result: ChargeResult) -> "ChargeRecord":
        """The provider's answer to the charge call. Only a processing record takes it: a
        concurrent delivery (or the provider's webhook) may have recorded it first."""
        return self._with(result) if self.status is ChargeStatus.PROCESSING else self

    def confirmed(self, payment_id: str, amount_cents: int) -> "ChargeRecord":
        """The provider's webhook says the charge succeeded."""
        if not self.is_settled:
            return self._with(Charged(payment_id, amount_cents))
        if self.status is ChargeStatus.SUCCEEDED:
            if (self.payment_id, self.amount_cents) != (payment_id, amount_cents):
                raise EventConflict(
                    f"order '{self.order_id}' was paid by payment '{self.payment_id}' of "
                    f"{self.amount_cents} cents, not '{payment_id}' of {amount_cents}"
                )
            return self  # a replay
        if self.decline_reason != CONFIRMATION_TIMEOUT:
            raise EventConflict(
                f"the charge for order '{self.order_id}' was declined "
                f"({self.decline_reason}): the provider cannot confirm it"
            )
        # Voided while the provider still had to confirm: the money is owed back.
        late = LatePayment(payment_id=payment_id, amount_cents=amount_cents)
        if self.late_payment is None:
            return self.model_copy(update={"late_payment": late})
        if (self.late_payment.payment_id, self.late_payment.amount_cents) != (
            payment_id,
            amount_cents,
        ):
            raise EventConflict(
                f"order '{self.order_id}' already has a late payment "
                f"'{self.late_payment.payment_id}', not '{payment_id}'"
            )
        return self  # a replay

    def failed(self, reason: str) -> "ChargeRecord":
        """The provider's webhook says the charge failed."""
        if not self.is_settled:
            return self._with(Declined(reason))
        if self.status is ChargeStatus.DECLINED:
            return self  # a replay, or voided first: no money was taken either way
        raise EventConflict(
            f"payment '{self.payment_id}' of order '{self.order_id}' succeeded: "
            "the provider cannot fail it now"
        )

    def voided(self) -> "ChargeRecord":
        """The shop stopped waiting for the provider's confirmation: an awaiting charge is
        declined. Anything else is left as it is (a processing one must be resolved with
        the provider first)."""
        if self.status is ChargeStatus.AWAITING:
            return self._with(Declined(CONFIRMATION_TIMEOUT))
        return self

    def late_payment_refunded(self) -> "ChargeRecord":
        if self.late_payment is None or self.late_payment.refunded:
            return self
        late = self.late_payment.model_copy(update={"refunded": True})
        return self.model_copy(update={"late_payment": late})

    def _with(self, result: ChargeResult) -> "ChargeRecord":
        if isinstance(result, Charged):
            return self.model_copy(
                update={
                    "status": ChargeStatus.SUCCEEDED,
                    "payment_id": result.payment_id,
                    "amount_cents": result.amount_cents,
                }
            )
        if isinstance(result, Awaiting):
            return self.model_copy(update={"status": ChargeStatus.AWAITING})
        return self.model_copy(
            update={"status": ChargeStatus.DECLINED, "decline_reason": result.reason}
        )

    def outcome(self) -> PaymentSucceeded | PaymentFailed:
        """The event announcing this charge's outcome (ValueError while unsettled)."""
        if self.payment_id is not None:
            return PaymentSucceeded(
                order_id=self.order_id,
                payment_id=self.payment_id,
                amount_cents=self.amount_cents,
                currency=self.currency,
            )
        if self.status is ChargeStatus.DECLINED:
            reason = self.decline_reason or "declined"
            return PaymentFailed(order_id=self.order_id, payment_id=None, reason=reason)
        raise ValueError(f"the charge for order '{self.order_id}' has no outcome yet")

    def refund_request(self, amount_cents: int | None) -> tuple[str, int]:
        """The payment to refund and how much: `None` asks for the remainder, which is 0
        once everything is refunded (so repeating a full refund changes nothing)."""
        if self.payment_id is None:
            raise RefundRefused(
                f"the payment for order '{self.order_id}' is {self.status}: "
                "only a succeeded payment can be refunded"
            )
        remaining = self.amount_cents - self.refunded_cents
        if amount_cents is None:
            return self.payment_id, remaining
        if amount_cents > remaining:
            raise RefundRefused(
                f"a refund of {amount_cents} cents exceeds the {remaining} cents still "
                f"refundable for order '{self.order_id}' ({self.refunded_cents} of "
                f"{self.amount_cents} cents already refunded)"
            )
        return self.payment_id, amount_cents

    def with_refunded_total(self, payment_id: str, total_cents: int) -> "ChargeRecord":
        """Record the provider's refunded total. Taking the maximum makes this idempotent
        and order-independent: a replayed or late callback cannot lower or double it."""
        late = self.late_payment
        if late is not None and payment_id == late.payment_id:
            # The callback for the refund of a late payment, which this service made.
            return self.late_payment_refunded() if total_cents >= late.amount_cents else self
        self._check_payment(payment_id)
        if total_cents > self.amount_cents:
            raise EventConflict(
                f"payment '{payment_id}' cannot have {total_cents} cents refunded: "
                f"only {self.amount_cents} cents were charged"
            )
        return self.model_copy(update={"refunded_cents": max(self.refunded_cents, total_cents)})

    def with_dispute(self, payment_id: str) -> "ChargeRecord":
        self._check_payment(payment_id)
        return self.model_copy(update={"disputed": True})

    def _check_payment(self, payment_id: str) -> None:
        if payment_id != self.payment_id:
            raise EventConflict(
                f"payment '{payment_id}' is not the payment recorded for order '{self.order_id}'"
            )


class ChargeRefunded(BaseModel):
    """`amount_cents` is the payment's refunded total so far (like Stripe's
    `amount_refunded`), not this refund's share: so the callback for a refund this
    service made itself, or a replay, changes nothing."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["charge.refunded"]
    payment_id: str = Field(min_length=1)
    order_id: OrderId
    amount_cents: Cents

    def apply(self, record: ChargeRecord) -> ChargeRecord:
        return record.with_refunded_total(self.payment_id, self.amount_cents)


class ChargeDisputed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["charge.disputed"]
    payment_id: str = Field(min_length=1)
    order_id: OrderId

    def apply(self, record: ChargeRecord) -> ChargeRecord:
        # Only recorded: the provider holds the disputed money until the dispute ends.
        return record.with_dispute(self.payment_id)


class ChargeSucceeded(BaseModel):
    """A charge the provider answered as awaiting confirmation went through."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["charge.succeeded"]
    payment_id: str = Field(min_length=1)
    order_id: OrderId
    amount_cents: Cents

    def apply(self, record: ChargeRecord) -> ChargeRecord:
        return record.confirmed(self.payment_id, self.amount_cents)


class ChargeFailed(BaseModel):
    """A charge the provider answered as awaiting confirmation did not go through."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["charge.failed"]
    order_id: OrderId
    reason: str = Field(min_length=1)

    def apply(self, record: ChargeRecord) -> ChargeRecord:
        return record.failed(self.reason)


ProviderEvent = ChargeRefunded | ChargeDisputed | ChargeSucceeded | ChargeFailed
_provider_events: TypeAdapter[ProviderEvent] = TypeAdapter(
    Annotated[ProviderEvent, Field(discriminator="type")]
)


def verified_event(
    secret: str, body: bytes, header: str | None, now: float
) -> ProviderEvent | None:
    """A provider callback as POST /webhooks/provider takes it: verify_callback, then
    parse_provider_event (SignatureRejected, ValidationError, or the event or None)."""
    verify_callback(secret, body, header, now)
    return parse_provider_event(body)


def parse_provider_event(body: bytes) -> ProviderEvent | None:
    """The callback, or None for a type this service does not handle (providers add types
    freely). Raises ValidationError for a body that is not JSON or not a valid event."""
    try:
        return _provider_events.validate_json(body)
    except ValidationError as exc:
        if [error["type"] for error in exc.errors()] == ["union_tag_invalid"]:
            return None
        raise


SIGNATURE_HEADER = "Provider-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


class SignatureRejected(Exception):
    """Why a callback's signature was refused; safe to show (it never holds the secret
    or the expected signature)."""


def sign_callback(secret: str, body: bytes, timestamp: int) -> str:
    """The `Provider-Signature` header value the provider sends with `body`."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify_callback(secret: str, body: bytes, header: str | None, now: float) -> None:
    """Accept `body` only if `header` signs exactly these bytes with `secret`, recently.

    Checked on the raw bytes: re-serialised JSON would not be byte-identical."""
    if not header:
        raise SignatureRejected(f"missing {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse_header(header)
    expected = _digest(secret, body, timestamp).encode()
    # Constant-time comparison, so timing does not reveal how much of a forgery matched.
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in signatures):
        raise SignatureRejected(f"{SIGNATURE_HEADER} does not match the body")
    # The signature covers the timestamp, so an old timestamp means a replayed callback.
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise SignatureRejected(
            f"{SIGNATURE_HEADER} timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} s "
            "from now: a replayed or delayed callback"
        )


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _parse_header(header: str) -> tuple[int, list[str]]:
    # Several v1 entries are allowed: a provider signs with old and new secret while
    # rotating it.
    fields = [part.strip().partition("=") for part in header.split(",")]
    timestamps = [value for key, _, value in fields if key == "t"]
    signatures = [value for key, _, value in fields if key == "v1" and value]
    if len(timestamps) != 1 or not re.fullmatch(r"[0-9]{1,12}", timestamps[0]) or not signatures:
        raise SignatureRejected(
            f"malformed {SIGNATURE_HEADER} header: expected 't=<unix seconds>,v1=<hex HMAC>'"
        )
    return int(timestamps[0]), signatures
