"""GET /payments/{order_id} and POST /refunds."""

import httpx
import pytest

from payments.tests.helpers import CountingProvider, deliver, order_created, paid_order


async def test_unknown_payment_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/payments/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "no payment for order 'nope'"}


async def test_invalid_order_id_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/payments/not%20an%20id")).status_code == 422


async def test_full_refund_by_default_and_repeating_it_changes_nothing(
    client: httpx.AsyncClient, provider: CountingProvider
) -> None:
    await paid_order(client, "o-1", total=2500)

    first = await client.post("/refunds", json={"order_id": "o-1"})
    again = await client.post("/refunds", json={"order_id": "o-1"})

    assert first.status_code == again.status_code == 200
    assert first.json()["refunded_cents"] == again.json()["refunded_cents"] == 2500
    assert provider.refund_calls == 1


async def test_partial_refunds_add_up_to_the_charge(client: httpx.AsyncClient) -> None:
    await paid_order(client, "o-1", total=2500)

    first = await client.post("/refunds", json={"order_id": "o-1", "amount_cents": 1000})
    assert (first.status_code, first.json()["refunded_cents"]) == (200, 1000)
    rest = await client.post("/refunds", json={"order_id": "o-1"})
    assert (rest.status_code, rest.json()["refunded_cents"]) == (200, 2500)
    record = (await client.get("/payments/o-1")).json()
    assert (record["status"], record["amount_cents"], record["refunded_cents"]) == (
        "succeeded",
        2500,
        2500,
    )


async def test_over_refund_is_409_and_nothing_is_refunded(
    client: httpx.AsyncClient, provider: CountingProvider
) -> None:
    await paid_order(client, "o-1", total=2500)
    await client.post("/refunds", json={"order_id": "o-1", "amount_cents": 2000})

    response = await client.post("/refunds", json={"order_id": "o-1", "amount_cents": 501})

    assert response.status_code == 409
    assert response.json() == {
        "detail": "a refund of 501 cents exceeds the 500 cents still refundable for order "
        "'o-1' (2000 of 2500 cents already refunded)"
    }
    assert provider.refund_calls == 1
    assert (await client.get("/payments/o-1")).json()["refunded_cents"] == 2000


async def test_refund_of_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/refunds", json={"order_id": "nope"})
    assert response.status_code == 404
    assert response.json() == {"detail": "no payment for order 'nope'"}


async def test_refund_of_declined_payment_is_409(
    client: httpx.AsyncClient, provider: CountingProvider
) -> None:
    await deliver(client, order_created("o-1", token="4000000000000002"))

    response = await client.post("/refunds", json={"order_id": "o-1"})

    assert response.status_code == 409
    assert "only a succeeded payment can be refunded" in response.json()["detail"]
    assert provider.refund_calls == 0


async def test_provider_outage_is_503_and_nothing_is_recorded(
    client: httpx.AsyncClient, provider: CountingProvider
) -> None:
    await paid_order(client, "o-1")
    provider.down = True

    response = await client.post("/refunds", json={"order_id": "o-1"})

    assert response.status_code == 503
    assert "retry later" in response.json()["detail"]
    assert (await client.get("/payments/o-1")).json()["refunded_cents"] == 0


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"order_id": "o-1", "amount_cents": 0}, "amount_cents"),
        ({"order_id": "o-1", "amount_cents": -5}, "amount_cents"),
        ({"order_id": "o-1", "amount_cents": "lots"}, "amount_cents"),
        ({"amount_cents": 5}, "order_id"),
        ({"order_id": "o-1", "reason": "because"}, "reason"),
    ],
)
async def test_bad_refund_request_is_a_422_naming_the_field(
    client: httpx.AsyncClient, provider: CountingProvider, body: dict[str, object], where: str
) -> None:
    await paid_order(client, "o-1")
    response = await client.post("/refunds", json=body)
    assert response.status_code == 422
    assert any(where in error["loc"] for error in response.json()["errors"])
    assert provider.refund_calls == 0
