"""POST /webhooks/provider: signed callbacks, verified on the raw bytes, applied once."""

import json
import time

import httpx
import pytest
from shop_contracts.payments import (
    PAYMENT_FAILED_TOPIC,
    PAYMENT_FAILED_TYPE,
    PAYMENT_SUCCEEDED_TOPIC,
    PAYMENT_SUCCEEDED_TYPE,
    PaymentFailed,
    PaymentSucceeded,
)
from shop_dapr.testing import InMemoryPublisher

from payments.domain import SIGNATURE_HEADER, sign_callback
from payments.tests.helpers import (
    GOOD_CARD,
    NEVER_CONFIRMED_CARD,
    WEBHOOK_SECRET,
    CountingProvider,
    charge_request,
    deliver,
    order_created,
    paid_order,
)


def _refunded(payment_id: str, amount_cents: int, order_id: str = "o-1") -> bytes:
    return json.dumps(
        {
            "type": "charge.refunded",
            "payment_id": payment_id,
            "order_id": order_id,
            "amount_cents": amount_cents,
        }
    ).encode()


async def _send(
    client: httpx.AsyncClient,
    body: bytes,
    secret: str = WEBHOOK_SECRET,
    age_seconds: int = 0,
) -> httpx.Response:
    signature = sign_callback(secret, body, int(time.time()) - age_seconds)
    return await client.post(
        "/webhooks/provider",
        content=body,
        headers={SIGNATURE_HEADER: signature, "Content-Type": "application/json"},
    )


async def _refunded_cents(client: httpx.AsyncClient) -> int:
    cents: int = (await client.get("/payments/o-1")).json()["refunded_cents"]
    return cents


async def test_signed_refund_is_applied_and_its_replay_has_no_effect(
    client: httpx.AsyncClient,
) -> None:
    payment_id = await paid_order(client, "o-1", total=2500)
    body = _refunded(payment_id, 1000)

    first = await _send(client, body)
    replay = await _send(client, body)

    assert (first.status_code, first.json()) == (200, {"status": "applied"})
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    assert await _refunded_cents(client) == 1000


async def test_callback_for_a_refund_made_here_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    payment_id = await paid_order(client, "o-1", total=2500)
    await client.post("/refunds", json={"order_id": "o-1", "amount_cents": 700})

    # The provider reports the payment's refunded total, which already includes it.
    response = await _send(client, _refunded(payment_id, 700))

    assert response.json() == {"status": "duplicate"}
    assert await _refunded_cents(client) == 700


async def test_late_callback_does_not_lower_the_refunded_total(
    client: httpx.AsyncClient,
) -> None:
    payment_id = await paid_order(client, "o-1", total=2500)
    await _send(client, _refunded(payment_id, 2500))
    await _send(client, _refunded(payment_id, 1000))
    assert await _refunded_cents(client) == 2500


async def test_dispute_is_recorded(client: httpx.AsyncClient) -> None:
    payment_id = await paid_order(client, "o-1")
    body = json.dumps(
        {"type": "charge.disputed", "payment_id": payment_id, "order_id": "o-1"}
    ).encode()

    response = await _send(client, body)

    assert response.json() == {"status": "applied"}
    assert (await client.get("/payments/o-1")).json()["disputed"] is True


async def test_forged_signature_is_401_without_revealing_the_secret(
    client: httpx.AsyncClient,
) -> None:
    payment_id = await paid_order(client, "o-1")
    body = _refunded(payment_id, 2500)
    response = await _send(client, body, secret="guessed")

    assert response.status_code == 401
    assert response.json() == {"detail": "Provider-Signature does not match the body"}
    assert WEBHOOK_SECRET not in response.text
    assert sign_callback(WEBHOOK_SECRET, body, int(time.time())).split("v1=")[1] not in (
        response.text
    )
    assert await _refunded_cents(client) == 0


async def test_body_changed_after_signing_is_401(client: httpx.AsyncClient) -> None:
    payment_id = await paid_order(client, "o-1")
    signature = sign_callback(WEBHOOK_SECRET, _refunded(payment_id, 1), int(time.time()))
    response = await client.post(
        "/webhooks/provider",
        content=_refunded(payment_id, 2500),
        headers={SIGNATURE_HEADER: signature},
    )
    assert response.status_code == 401
    assert await _refunded_cents(client) == 0


async def test_stale_timestamp_is_401(client: httpx.AsyncClient) -> None:
    payment_id = await paid_order(client, "o-1")
    response = await _send(client, _refunded(payment_id, 2500), age_seconds=301)
    assert response.status_code == 401
    assert "more than 300 s from now" in response.json()["detail"]
    assert await _refunded_cents(client) == 0


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing Provider-Signature header"),
        ({SIGNATURE_HEADER: ""}, "missing Provider-Signature header"),
        ({SIGNATURE_HEADER: "v1=abc"}, "malformed Provider-Signature header"),
        ({SIGNATURE_HEADER: "t=soon,v1=abc"}, "malformed Provider-Signature header"),
        ({SIGNATURE_HEADER: "t=1700000000"}, "malformed Provider-Signature header"),
        ({SIGNATURE_HEADER: "t=1,t=2,v1=abc"}, "malformed Provider-Signature header"),
    ],
)
async def test_missing_or_malformed_signature_is_401(
    client: httpx.AsyncClient, headers: dict[str, str], detail: str
) -> None:
    payment_id = await paid_order(client, "o-1")
    response = await client.post(
        "/webhooks/provider", content=_refunded(payment_id, 2500), headers=headers
    )
    assert response.status_code == 401
    assert detail in response.json()["detail"]
    assert await _refunded_cents(client) == 0


async def test_non_ascii_signature_is_401_not_a_crash(client: httpx.AsyncClient) -> None:
    header = f"t={int(time.time())},v1=h\u00e9llo".encode("latin-1")
    response = await client.post(
        "/webhooks/provider", content=b"{}", headers={SIGNATURE_HEADER.encode(): header}
    )
    assert response.status_code == 401


async def test_signature_made_with_an_old_secret_next_to_the_current_one_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    payment_id = await paid_order(client, "o-1")
    body = _refunded(payment_id, 100)
    now = int(time.time())
    current = sign_callback(WEBHOOK_SECRET, body, now).split(",")[1]
    header = f"{sign_callback('retired-secret', body, now)},{current}"
    response = await client.post(
        "/webhooks/provider", content=body, headers={SIGNATURE_HEADER: header}
    )
    assert response.json() == {"status": "applied"}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "Invalid JSON"),
        (b"[1, 2]", "body"),
        (b'{"payment_id": "pay_1"}', "type"),
        (b'{"type": "charge.refunded", "order_id": "o-1", "amount_cents": 1}', "payment_id"),
        (
            b'{"type": "charge.refunded", "payment_id": "p", "order_id": "o-1", '
            b'"amount_cents": -1}',
            "amount_cents",
        ),
    ],
)
async def test_signed_but_invalid_body_is_400(
    client: httpx.AsyncClient, body: bytes, detail: str
) -> None:
    response = await _send(client, body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


async def test_unknown_event_type_is_ignored(client: httpx.AsyncClient) -> None:
    body = json.dumps({"type": "payout.paid", "amount_cents": 5}).encode()
    response = await _send(client, body)
    assert (response.status_code, response.json()) == (200, {"status": "ignored"})


async def test_callback_for_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    response = await _send(client, _refunded("pay_x", 100, order_id="nope"))
    assert response.status_code == 404
    assert response.json() == {"detail": "no payment for order 'nope'"}


@pytest.mark.parametrize(
    ("payment_id", "amount"),
    [("pay_someone_elses", 100), (None, 2501)],
)
async def test_callback_contradicting_the_record_is_409(
    client: httpx.AsyncClient, payment_id: str | None, amount: int
) -> None:
    ours = await paid_order(client, "o-1", total=2500)
    response = await _send(client, _refunded(payment_id or ours, amount))
    assert response.status_code == 409
    assert await _refunded_cents(client) == 0


def _succeeded(payment_id: str, amount_cents: int = 2500, order_id: str = "o-1") -> bytes:
    return json.dumps(
        {
            "type": "charge.succeeded",
            "payment_id": payment_id,
            "order_id": order_id,
            "amount_cents": amount_cents,
        }
    ).encode()


def _failed(reason: str = "authentication_failed", order_id: str = "o-1") -> bytes:
    return json.dumps({"type": "charge.failed", "order_id": order_id, "reason": reason}).encode()


async def _awaiting(client: httpx.AsyncClient, provider: CountingProvider) -> None:
    # The never-confirmed card: the test plays the provider's webhook itself.
    await client.post("/charges", json=charge_request("o-1", token=NEVER_CONFIRMED_CARD))


async def test_confirmation_settles_an_awaiting_charge_and_its_replay_changes_nothing(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    await _awaiting(client, provider)

    first = await _send(client, _succeeded("pay_3ds"))
    record = (await client.get("/payments/o-1")).json()
    replay = await _send(client, _succeeded("pay_3ds"))

    assert (first.status_code, first.json()) == (200, {"status": "applied"})
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    assert (record["status"], record["payment_id"], record["amount_cents"]) == (
        "succeeded",
        "pay_3ds",
        2500,
    )
    assert (await client.get("/payments/o-1")).json() == record
    succeeded = PaymentSucceeded(
        order_id="o-1", payment_id="pay_3ds", amount_cents=2500, currency="EUR"
    )
    # Announced on the replay again: a retried webhook may be one whose announcement
    # was lost (consumers are idempotent).
    assert publisher.published == [(PAYMENT_SUCCEEDED_TOPIC, PAYMENT_SUCCEEDED_TYPE, succeeded)] * 2
    assert provider.charge_calls == 1


async def test_failure_declines_an_awaiting_charge_and_its_replay_changes_nothing(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    await _awaiting(client, provider)

    first = await _send(client, _failed())
    replay = await _send(client, _failed())

    assert (first.json(), replay.json()) == ({"status": "applied"}, {"status": "duplicate"})
    record = (await client.get("/payments/o-1")).json()
    assert (record["status"], record["decline_reason"]) == ("declined", "authentication_failed")
    failed = PaymentFailed(order_id="o-1", payment_id=None, reason="authentication_failed")
    assert publisher.published == [(PAYMENT_FAILED_TOPIC, PAYMENT_FAILED_TYPE, failed)] * 2


async def test_confirmation_of_a_charge_left_processing_settles_it(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    # The webhook overtook the recording of the provider's first answer (a crash).
    provider.crash_after_charge = True
    assert await deliver(client, order_created("o-1", token=NEVER_CONFIRMED_CARD)) == "RETRY"

    assert (await _send(client, _succeeded("pay_3ds"))).json() == {"status": "applied"}

    provider.crash_after_charge = False
    assert await deliver(client, order_created("o-1", token=NEVER_CONFIRMED_CARD)) == "SUCCESS"
    assert (await client.get("/payments/o-1")).json()["payment_id"] == "pay_3ds"
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC] * 2


@pytest.mark.parametrize(
    ("card", "body", "detail"),
    [
        (GOOD_CARD, _succeeded("pay_other"), "not 'pay_other'"),
        (GOOD_CARD, _failed(), "the provider cannot fail it now"),
        ("4000000000000002", _succeeded("pay_3ds"), "was declined (card_declined)"),
    ],
)
async def test_confirmation_contradicting_the_record_is_409(
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    card: str,
    body: bytes,
    detail: str,
) -> None:
    before = (await client.post("/charges", json=charge_request("o-1", token=card))).json()

    response = await _send(client, body)

    assert response.status_code == 409
    assert detail in response.json()["detail"]
    assert (await client.get("/payments/o-1")).json() == before
    assert publisher.published == []


async def test_confirmation_with_another_amount_is_409(
    client: httpx.AsyncClient, provider: CountingProvider
) -> None:
    await _awaiting(client, provider)
    await _send(client, _succeeded("pay_3ds", amount_cents=2500))
    response = await _send(client, _succeeded("pay_3ds", amount_cents=9900))
    assert response.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "charge.succeeded", "order_id": "o-1", "amount_cents": 1}',
        b'{"type": "charge.succeeded", "order_id": "o-1", "payment_id": "p"}',
        b'{"type": "charge.failed", "order_id": "o-1", "reason": ""}',
    ],
)
async def test_signed_but_invalid_confirmation_is_400(
    client: httpx.AsyncClient, provider: CountingProvider, body: bytes
) -> None:
    await _awaiting(client, provider)
    assert (await _send(client, body)).status_code == 400
    assert (await client.get("/payments/o-1")).json()["status"] == "awaiting_confirmation"
