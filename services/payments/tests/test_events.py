"""orders.order-created in: one charge per order, one outcome event per delivery."""

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
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore

from payments.domain import Charged
from payments.tests.helpers import CountingProvider, charges, deliver, order_created


async def test_good_card_is_charged_and_announced(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    assert await deliver(client, order_created("o-1", total_cents=2500)) == "SUCCESS"

    record = (await client.get("/payments/o-1")).json()
    assert record["status"] == "succeeded"
    assert record["amount_cents"] == 2500
    assert record["refunded_cents"] == 0
    assert record["payment_id"].startswith("pay_")
    assert publisher.published == [
        (
            PAYMENT_SUCCEEDED_TOPIC,
            PAYMENT_SUCCEEDED_TYPE,
            PaymentSucceeded(
                order_id="o-1", payment_id=record["payment_id"], amount_cents=2500, currency="EUR"
            ),
        )
    ]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4242424242424241", "invalid_card"),  # wrong check digit
        ("42424242424", "invalid_card"),  # too short
        ("not-a-card", "invalid_card"),
        ("", "invalid_card"),
    ],
)
async def test_declined_card_is_announced_and_nothing_is_charged(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, token: str, reason: str
) -> None:
    assert await deliver(client, order_created("o-1", token=token)) == "SUCCESS"

    assert publisher.published == [
        (
            PAYMENT_FAILED_TOPIC,
            PAYMENT_FAILED_TYPE,
            PaymentFailed(order_id="o-1", payment_id=None, reason=reason),
        )
    ]
    record = (await client.get("/payments/o-1")).json()
    assert record["status"] == "declined"
    assert record["decline_reason"] == reason
    assert (record["amount_cents"], record["payment_id"]) == (0, None)


async def test_redelivery_charges_once_and_announces_again(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    event = order_created("o-1")
    assert await deliver(client, event) == "SUCCESS"
    assert await deliver(client, event) == "SUCCESS"

    assert provider.charge_calls == 1
    assert len(publisher.published) == 2
    assert publisher.published[0] == publisher.published[1]


async def test_redelivered_decline_is_not_tried_again(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    event = order_created("o-1", token="4000000000000002")
    await deliver(client, event)
    await deliver(client, event)

    assert provider.charge_calls == 1
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_FAILED_TOPIC] * 2


async def test_charge_left_processing_by_a_crash_completes_without_charging_twice(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    event = order_created("o-1")
    provider.crash_after_charge = True
    assert await deliver(client, event) == "RETRY"  # the crash: the sidecar redelivers
    assert (await client.get("/payments/o-1")).json()["status"] == "processing"
    assert publisher.published == []
    [charged] = charges(provider.ledger)
    assert isinstance(charged, Charged)

    provider.crash_after_charge = False
    assert await deliver(client, event) == "SUCCESS"

    record = (await client.get("/payments/o-1")).json()
    assert record["status"] == "succeeded"
    assert record["payment_id"] == charged.payment_id
    assert len(charges(provider.ledger)) == 1
    [(_, _, announced)] = publisher.published
    assert announced == PaymentSucceeded(
        order_id="o-1", payment_id=record["payment_id"], amount_cents=2500, currency="EUR"
    )


async def test_provider_outage_asks_for_redelivery_then_succeeds(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    event = order_created("o-1")
    provider.down = True
    assert await deliver(client, event) == "RETRY"
    assert publisher.published == []
    assert (await client.get("/payments/o-1")).json()["status"] == "processing"

    provider.down = False
    assert await deliver(client, event) == "SUCCESS"
    assert (await client.get("/payments/o-1")).json()["status"] == "succeeded"
    assert len(charges(provider.ledger)) == 1
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC]


async def test_order_the_workflow_charges_is_not_charged_on_its_event(
    client: httpx.AsyncClient,
    state: InMemoryStateStore,
    publisher: InMemoryPublisher,
    provider: CountingProvider,
) -> None:
    event = order_created("o-1", token=None, charge_on_event=False)

    assert await deliver(client, event) == "SUCCESS"

    assert provider.charge_calls == 0
    assert state.entries == {}
    assert publisher.published == []


async def test_event_asking_for_a_charge_without_a_token_is_dropped_with_an_error(
    client: httpx.AsyncClient,
    state: InMemoryStateStore,
    publisher: InMemoryPublisher,
    provider: CountingProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = order_created("o-1", token=None, charge_on_event=True)

    assert await deliver(client, event) == "DROP"

    assert (state.entries, publisher.published, provider.charge_calls) == ({}, [], 0)
    assert any(
        r.levelname == "ERROR" and "carries no payment token" in r.getMessage()
        for r in caplog.records
    )


def _without(field: str) -> dict[str, object]:
    event = order_created()
    data = event["data"]
    assert isinstance(data, dict)
    del data[field]
    return event


@pytest.mark.parametrize(
    "body",
    [
        {"not": "a cloudevent"},
        _without("payment_token"),
        _without("order_id"),
        order_created(total_cents=-5),
        order_created(order_id="../etc"),
        {**order_created(), "id": ""},
        [1, 2, 3],
        None,
    ],
)
async def test_malformed_event_is_dropped_and_nothing_is_written(
    client: httpx.AsyncClient,
    state: InMemoryStateStore,
    publisher: InMemoryPublisher,
    provider: CountingProvider,
    body: object,
) -> None:
    assert await deliver(client, body) == "DROP"
    assert state.entries == {}
    assert publisher.published == []
    assert provider.charge_calls == 0


async def test_body_that_is_not_json_is_dropped_not_a_422(
    client: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    response = await client.post(
        "/events/orders/order-created",
        content=b"{not json",
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert response.status_code == 200
    assert response.json() == {"status": "DROP"}
    assert state.entries == {}
