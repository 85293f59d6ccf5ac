"""Orders in-process: in-memory state and publisher, a MockTransport playing the
sidecar in front of cart and catalog."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from shop_contracts.orders import ORDER_CREATED_TYPE, ORDER_STATUS_TOPIC, OrderCreated
from shop_dapr import InMemoryPublisher, InMemoryStateStore

from orders.main import Adapters, create_app
from orders.settings import Settings

ALICE = {"X-User-Id": "alice", "X-User-Email": "alice@example.com"}
CARD = {"payment_token": "4242424242424242"}


class FakeSidecar:
    def __init__(self) -> None:
        self.cart = [{"product_id": "mug", "name": "Mug", "quantity": 2}]
        self.prices = {"mug": 1250, "candle": 1600}
        self.stock = {"mug": 5, "candle": 5}
        self.held: dict[str, list[dict[str, object]]] = {}
        self.reserve_calls = 0
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("down", request=request)
        app, path = request.headers["dapr-app-id"], request.url.path
        if app == "cart" and path == "/carts/alice":
            lines = [
                {**line, "unit_price_cents": 999, "line_total_cents": 999} for line in self.cart
            ]
            return httpx.Response(
                200, json={"user_id": "alice", "lines": lines, "total_cents": 0, "currency": "EUR"}
            )
        if app == "catalog" and path == "/products:lookup":
            ids = json.loads(request.content)["ids"]
            found = [
                {"id": i, "name": i.title(), "price_cents": self.prices[i], "available": 5}
                for i in ids
                if i in self.prices
            ]
            missing = [i for i in ids if i not in self.prices]
            return httpx.Response(200, json={"products": found, "missing": missing})
        if app == "catalog" and path == "/reservations":
            self.reserve_calls += 1
            body = json.loads(request.content)
            for item in body["items"]:
                if self.stock[item["product_id"]] < item["quantity"]:
                    return httpx.Response(409, json={"detail": "only 5 of product 'mug' available"})
            self.held[body["order_id"]] = body["items"]
            return httpx.Response(200, json={"status": "held"})
        if app == "catalog" and request.method == "DELETE":
            self.held.pop(path.rsplit("/", 1)[1], None)
            return httpx.Response(204)
        return httpx.Response(404)


@pytest.fixture
def sidecar() -> FakeSidecar:
    return FakeSidecar()


@pytest.fixture
def state() -> InMemoryStateStore:
    return InMemoryStateStore()


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
async def client(
    sidecar: FakeSidecar, state: InMemoryStateStore, publisher: InMemoryPublisher
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(), Adapters(state, publisher, httpx.MockTransport(sidecar.handle)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as c:
            yield c


def payment_event(kind: str, order_id: str) -> dict[str, object]:
    data: dict[str, object] = {"order_id": order_id}
    if kind == "succeeded":
        data |= {"payment_id": "pay_1", "amount_cents": 2500, "currency": "EUR"}
    else:
        data |= {"payment_id": None, "reason": "card_declined"}
    return {
        "id": f"e-{kind}",
        "source": "payments",
        "type": f"t.{kind}",
        "specversion": "1.0",
        "data": data,
    }


async def test_checkout_saves_the_order_and_its_event_together(
    client: httpx.AsyncClient, state: InMemoryStateStore, sidecar: FakeSidecar
) -> None:
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending"
    # Priced by the catalog now, not by the cart's earlier view (999).
    assert order["total_cents"] == 2500
    assert order["card_last4"] == "4242"
    assert "4242424242424242" not in json.dumps(order)
    [(event_type, event)] = state.outbox
    assert event_type == ORDER_CREATED_TYPE
    assert isinstance(event, OrderCreated)
    assert (event.order_id, event.total_cents, event.payment_token) == (
        order["order_id"],
        2500,
        "4242424242424242",
    )
    assert sidecar.held[order["order_id"]] == [{"product_id": "mug", "quantity": 2}]


async def test_same_idempotency_key_makes_one_order(
    client: httpx.AsyncClient, state: InMemoryStateStore, sidecar: FakeSidecar
) -> None:
    headers = {**ALICE, "Idempotency-Key": "checkout-1"}
    first = await client.post("/orders", json=CARD, headers=headers)
    again = await client.post("/orders", json=CARD, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(state.outbox) == 1
    assert sidecar.reserve_calls == 1
    other = await client.post("/orders", json=CARD, headers={**ALICE, "Idempotency-Key": "2"})
    assert other.json()["order_id"] != first.json()["order_id"]


async def test_empty_cart_is_422(client: httpx.AsyncClient, sidecar: FakeSidecar) -> None:
    sidecar.cart = []
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 422
    assert "cart is empty" in response.json()["detail"]


async def test_out_of_stock_is_409_and_saves_nothing(
    client: httpx.AsyncClient, sidecar: FakeSidecar, state: InMemoryStateStore
) -> None:
    sidecar.cart[0]["quantity"] = 6
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 409
    assert "only 5" in response.json()["detail"]
    assert state.entries == {}
    assert state.outbox == []


async def test_product_no_longer_sold_is_409(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    del sidecar.prices["mug"]
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 409
    assert "no longer sold: mug" in response.json()["detail"]


async def test_unreachable_services_are_503_and_save_nothing(
    client: httpx.AsyncClient, sidecar: FakeSidecar, state: InMemoryStateStore
) -> None:
    sidecar.down = True
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 503
    assert state.entries == {}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"payment_token": "abc"}, ALICE),
        ({}, ALICE),
        ({"payment_token": 4242424242424242}, ALICE),
        (CARD, {**ALICE, "Idempotency-Key": "x" * 101}),
    ],
)
async def test_bad_checkout_input_is_422(
    client: httpx.AsyncClient, body: dict[str, object], headers: dict[str, str]
) -> None:
    assert (await client.post("/orders", json=body, headers=headers)).status_code == 422


async def test_no_user_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.post("/orders", json=CARD)).status_code == 401


async def test_history_and_privacy(client: httpx.AsyncClient) -> None:
    first = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    second = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    history = (await client.get("/orders", headers=ALICE)).json()
    assert [o["order_id"] for o in history] == [second["order_id"], first["order_id"]]
    bob = {"X-User-Id": "bob", "X-User-Email": "bob@example.com"}
    assert (await client.get(f"/orders/{first['order_id']}", headers=bob)).status_code == 404
    assert (await client.get("/orders", headers=bob)).json() == []


async def test_payment_success_marks_paid_and_announces_it_on_every_delivery(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    order = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    for _ in range(2):
        reply = await client.post(
            "/events/payments/payment-succeeded", json=payment_event("succeeded", order["order_id"])
        )
        assert reply.json() == {"status": "SUCCESS"}
    got = (await client.get(f"/orders/{order['order_id']}", headers=ALICE)).json()
    assert (got["status"], got["payment_id"]) == ("paid", "pay_1")
    statuses = [(t, p.status) for t, _, p in publisher.published]  # type: ignore[attr-defined]
    assert statuses == [(ORDER_STATUS_TOPIC, "paid")] * 2


async def test_payment_failure_cancels_with_the_reason(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    order = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    await client.post(
        "/events/payments/payment-failed", json=payment_event("failed", order["order_id"])
    )
    got = (await client.get(f"/orders/{order['order_id']}", headers=ALICE)).json()
    assert (got["status"], got["reason"]) == ("cancelled", "card_declined")
    # A late success for a cancelled order cannot apply: dropped, not retried forever.
    late = await client.post(
        "/events/payments/payment-succeeded", json=payment_event("succeeded", order["order_id"])
    )
    assert late.json() == {"status": "DROP"}


@pytest.mark.parametrize("body", [{"id": "x"}, None, payment_event("succeeded", "no-such-order")])
async def test_unusable_events_are_dropped(client: httpx.AsyncClient, body: object) -> None:
    reply = await client.post("/events/payments/payment-succeeded", json=body)
    assert reply.json() == {"status": "DROP"}
