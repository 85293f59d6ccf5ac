"""POST /charges: the orders workflow's charge, once per order, answered and not announced."""

import httpx
import pytest
from shop_contracts.payments import PAYMENT_SUCCEEDED_TOPIC, PaymentRecord
from shop_dapr.testing import InMemoryPublisher

from payments.domain import Charged
from payments.tests.helpers import (
    CountingProvider,
    charge_request,
    charges,
    deliver,
    order_created,
)


async def test_good_card_is_charged_once_and_nothing_is_published(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    first = await client.post("/charges", json=charge_request("o-1", amount_cents=2500))
    again = await client.post("/charges", json=charge_request("o-1", amount_cents=2500))

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    record = PaymentRecord.model_validate(first.json())  # what orders reads of it
    assert (record.status, record.amount_cents, record.currency) == ("succeeded", 2500, "EUR")
    assert record.payment_id is not None and record.payment_id.startswith("pay_")
    assert provider.charge_calls == 1
    [charged] = charges(provider.ledger)
    assert charged == Charged(record.payment_id, 2500)
    assert publisher.published == []


async def test_declined_card_is_answered_not_announced(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    response = await client.post("/charges", json=charge_request(token="4000000000009995"))

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["decline_reason"], body["payment_id"]) == (
        "declined",
        "insufficient_funds",
        None,
    )
    assert publisher.published == []


async def test_charge_then_event_for_the_same_order_charges_once(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    charged = (await client.post("/charges", json=charge_request("o-1"))).json()

    assert await deliver(client, order_created("o-1")) == "SUCCESS"

    assert provider.charge_calls == 1
    assert len(charges(provider.ledger)) == 1
    assert (await client.get("/payments/o-1")).json() == charged
    # The event announces the outcome, as it always does.
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC]


async def test_event_then_charge_for_the_same_order_charges_once(
    client: httpx.AsyncClient, provider: CountingProvider
) -> None:
    assert await deliver(client, order_created("o-1")) == "SUCCESS"
    response = await client.post("/charges", json=charge_request("o-1"))

    assert response.json()["status"] == "succeeded"
    assert provider.charge_calls == 1


async def test_provider_outage_is_503_and_asking_again_charges_once(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    provider.down = True
    down = await client.post("/charges", json=charge_request("o-1"))

    assert down.status_code == 503
    assert down.json() == {
        "detail": "the payment provider is unavailable: order 'o-1' is not charged yet; "
        "ask again with the same order id (it is charged at most once)"
    }
    assert (await client.get("/payments/o-1")).json()["status"] == "processing"

    provider.down = False
    up = await client.post("/charges", json=charge_request("o-1"))
    assert (up.status_code, up.json()["status"]) == (200, "succeeded")
    assert len(charges(provider.ledger)) == 1
    assert publisher.published == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({k: v for k, v in charge_request().items() if k != "payment_token"}, "payment_token"),
        ({**charge_request(), "amount_cents": -1}, "amount_cents"),
        ({**charge_request(), "order_id": "../etc"}, "order_id"),
        ({**charge_request(), "tip": 5}, "tip"),
    ],
)
async def test_bad_charge_request_is_a_422_naming_the_field(
    client: httpx.AsyncClient, provider: CountingProvider, body: dict[str, object], where: str
) -> None:
    response = await client.post("/charges", json=body)
    assert response.status_code == 422
    assert any(where in error["loc"] for error in response.json()["errors"])
    assert provider.charge_calls == 0


async def test_every_answer_of_the_new_routes_is_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    def codes(path: str) -> set[str]:
        return set(paths[path]["post"]["responses"])

    assert codes("/charges") == {"200", "409", "422", "503"}
    assert codes("/payments/{order_id}/void") == {"200", "404", "409", "422", "503"}
    assert codes("/webhooks/provider") == {"200", "400", "401", "404", "409", "422", "503"}
