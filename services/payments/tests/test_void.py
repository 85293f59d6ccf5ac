"""POST /payments/{order_id}/void: stop waiting for the provider, and what a confirmation
arriving after that does (the money goes back)."""

import asyncio
import json
import time

import httpx
import pytest
from shop_contracts.payments import (
    PAYMENT_FAILED_TOPIC,
    PAYMENT_FAILED_TYPE,
    PAYMENT_SUCCEEDED_TOPIC,
    ChargeRequest,
    PaymentFailed,
)
from shop_dapr.testing import InMemoryPublisher, fake_dapr

from payments.domain import (
    SIGNATURE_HEADER,
    Charged,
    ChargeSucceeded,
    Declined,
    sign_callback,
    verified_event,
)
from payments.service import PaymentService
from payments.tests.helpers import (
    CONFIRMED_LATER_CARD,
    NEVER_CONFIRMED_CARD,
    WEBHOOK_SECRET,
    CountingProvider,
    RacingStore,
    charge_request,
    charges,
    deliver,
    eventually,
    ledger_entries,
    order_created,
)

TIMED_OUT = (
    PAYMENT_FAILED_TOPIC,
    PAYMENT_FAILED_TYPE,
    PaymentFailed(order_id="o-1", payment_id=None, reason="confirmation_timeout"),
)


async def test_void_of_an_awaiting_charge_declines_it_and_announces_the_failure(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    await client.post("/charges", json=charge_request("o-1", token=NEVER_CONFIRMED_CARD))

    voided = await client.post("/payments/o-1/void")
    again = await client.post("/payments/o-1/void")

    assert voided.status_code == again.status_code == 200
    body = voided.json()
    assert (body["status"], body["decline_reason"], body["payment_id"]) == (
        "declined",
        "confirmation_timeout",
        None,
    )
    assert again.json() == body
    assert publisher.published == [TIMED_OUT]  # once: the second void changed nothing
    assert provider.void_calls == 0  # an awaiting charge needs no question to the provider


async def test_void_after_success_changes_nothing_and_announces_nothing(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    charged = (await client.post("/charges", json=charge_request("o-1"))).json()

    voided = await client.post("/payments/o-1/void")

    assert (voided.status_code, voided.json()) == (200, charged)
    assert publisher.published == []


async def test_void_after_decline_changes_nothing(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    declined = (await client.post("/charges", json=charge_request(token="4000000000000002"))).json()
    assert (await client.post("/payments/o-1/void")).json() == declined
    assert publisher.published == []


async def test_void_of_an_unknown_charge_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/payments/nope/void")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "no payment for order 'nope'"},
    )


async def test_void_of_a_charge_left_processing_asks_the_provider_first(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    provider.crash_after_charge = True  # charged, but the answer never recorded
    assert await deliver(client, order_created("o-1")) == "RETRY"
    [charged] = charges(provider.ledger)
    assert isinstance(charged, Charged)

    voided = (await client.post("/payments/o-1/void")).json()

    assert (voided["status"], voided["payment_id"]) == ("succeeded", charged.payment_id)
    assert provider.void_calls == 1
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC]


async def test_void_of_a_processing_charge_the_provider_awaits_declines_it(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    provider.crash_after_charge = True
    assert await deliver(client, order_created("o-1", token=NEVER_CONFIRMED_CARD)) == "RETRY"

    voided = (await client.post("/payments/o-1/void")).json()

    assert (voided["status"], voided["decline_reason"]) == ("declined", "confirmation_timeout")
    assert publisher.published == [TIMED_OUT]


async def test_void_before_the_provider_ever_charged_keeps_it_from_charging(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    provider.down = True  # the record is written, the provider never asked
    assert (await client.post("/charges", json=charge_request("o-1"))).status_code == 503
    provider.down = False

    voided = (await client.post("/payments/o-1/void")).json()
    # The charge call, retried after the void, cannot charge any more.
    assert await deliver(client, order_created("o-1")) == "SUCCESS"

    assert (voided["status"], voided["decline_reason"]) == ("declined", "confirmation_timeout")
    assert charges(provider.ledger) == [Declined("voided")]
    assert (await client.get("/payments/o-1")).json() == voided
    assert publisher.published == [TIMED_OUT, TIMED_OUT]  # the void's, the event's


async def test_void_of_a_processing_charge_while_the_provider_is_down_is_503(
    client: httpx.AsyncClient, provider: CountingProvider
) -> None:
    provider.down = True
    await client.post("/charges", json=charge_request("o-1"))

    response = await client.post("/payments/o-1/void")

    assert response.status_code == 503
    assert "still processing; ask again" in response.json()["detail"]
    assert (await client.get("/payments/o-1")).json()["status"] == "processing"


async def test_confirmation_arriving_after_the_void_is_refunded_at_once(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    # The provider's confirmation is on its way while the shop gives up waiting.
    provider.webhooks_open.clear()
    await client.post("/charges", json=charge_request("o-1", token=CONFIRMED_LATER_CARD))
    voided = (await client.post("/payments/o-1/void")).json()
    assert voided["status"] == "declined"
    provider.webhooks_open.set()

    async def refunded() -> bool:
        late = (await client.get("/payments/o-1")).json()["late_payment"]
        return late is not None and late["refunded"]

    await eventually(refunded, "the late payment refunded")

    record = (await client.get("/payments/o-1")).json()
    entry = ledger_entries(provider.ledger)["o-1"]
    assert (record["status"], record["decline_reason"], record["payment_id"]) == (
        "declined",
        "confirmation_timeout",
        None,
    )
    assert record["late_payment"] == {
        "payment_id": entry.payment_id,
        "amount_cents": 2500,
        "refunded": True,
    }
    assert (entry.amount_cents, entry.refunded_cents) == (2500, 2500)  # what the chaos suite reads
    assert provider.refund_calls == 1
    assert publisher.published == [TIMED_OUT]  # the order was told once: failed

    # The provider's webhook again (a retry it made before it saw our 2xx): nothing more.
    body = json.dumps(
        {
            "type": "charge.succeeded",
            "order_id": "o-1",
            "payment_id": entry.payment_id,
            "amount_cents": 2500,
        }
    ).encode()
    replay = await client.post(
        "/webhooks/provider",
        content=body,
        headers={SIGNATURE_HEADER: sign_callback(WEBHOOK_SECRET, body, int(time.time()))},
    )
    assert replay.json() == {"status": "duplicate"}
    assert provider.refund_calls == 1
    assert publisher.published == [TIMED_OUT]


async def test_confirmation_racing_a_void_loses_and_is_refunded(provider: CountingProvider) -> None:
    publisher = InMemoryPublisher()
    state = RacingStore()
    service = PaymentService(fake_dapr(state=state, publisher=publisher), provider)
    await service.charge(ChargeRequest.model_validate(charge_request(token=CONFIRMED_LATER_CARD)))
    # The void lands between the confirmation's read and its write.
    state.interleave = lambda: service.void("o-1")

    async def receive(body: bytes, signature: str) -> None:
        if (event := verified_event(WEBHOOK_SECRET, body, signature, time.time())) is not None:
            await service.apply(event)

    sender = asyncio.create_task(provider.deliver_confirmations(WEBHOOK_SECRET, receive))
    try:

        async def refunded() -> bool:
            late = (await service.get("o-1")).late_payment
            return late is not None and late.refunded

        await eventually(refunded, "the late payment refunded")
    finally:
        sender.cancel()

    record = await service.get("o-1")
    assert (record.status, record.payment_id) == ("declined", None)
    assert publisher.published == [TIMED_OUT]


async def test_void_racing_a_confirmation_loses(provider: CountingProvider) -> None:
    publisher = InMemoryPublisher()
    state = RacingStore()
    service = PaymentService(fake_dapr(state=state, publisher=publisher), provider)
    request = charge_request("o-1", token=NEVER_CONFIRMED_CARD)
    await service.charge(ChargeRequest.model_validate(request))
    confirmed = ChargeSucceeded(
        type="charge.succeeded", payment_id="pay_1", order_id="o-1", amount_cents=2500
    )
    # The confirmation lands between the void's read and its write.
    state.interleave = lambda: service.apply(confirmed)

    record = await service.void("o-1")

    assert (record.status, record.payment_id) == ("succeeded", "pay_1")
    assert await service.get("o-1") == record
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC]


async def test_late_payment_the_provider_will_not_refund_is_409_and_stays_on_the_record(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await client.post("/charges", json=charge_request("o-1", token=NEVER_CONFIRMED_CARD))
    await client.post("/payments/o-1/void")
    # A confirmation of a payment this simulator never made: its refund is refused.
    body = json.dumps(
        {"type": "charge.succeeded", "order_id": "o-1", "payment_id": "pay_x", "amount_cents": 1}
    ).encode()
    response = await client.post(
        "/webhooks/provider",
        content=body,
        headers={SIGNATURE_HEADER: sign_callback(WEBHOOK_SECRET, body, int(time.time()))},
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "late payment not refunded: no payment 'pay_x'"
    late = (await client.get("/payments/o-1")).json()["late_payment"]
    assert late == {"payment_id": "pay_x", "amount_cents": 1, "refunded": False}
    assert any(r.levelname == "ERROR" for r in caplog.records)
