"""The catalog API in-process, with in-memory fakes of the building blocks."""

import httpx
import pytest
from shop_contracts.catalog import PRODUCT_CHANGED_TOPIC, ProductChanged
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore

from catalog.readmodel import shelf_of
from catalog.settings import SEED_FILE
from catalog.tests.conftest import ADMIN, MUG, serve


async def reserve(client: httpx.AsyncClient, order_id: str, **items: int) -> httpx.Response:
    body = {"items": [{"product_id": p.replace("_", "-"), "quantity": q} for p, q in items.items()]}
    return await client.put(f"/reservations/{order_id}", json=body)


async def available(client: httpx.AsyncClient, product_id: str) -> int:
    return int((await client.get(f"/products/{product_id}")).json()["available"])


# --- admin writes ---------------------------------------------------------------------


async def test_put_then_get_returns_product_with_etag(client: httpx.AsyncClient) -> None:
    put = await client.put("/products/mug", json=MUG, headers=ADMIN)
    assert put.status_code == 200
    got = await client.get("/products/mug")
    assert got.status_code == 200
    assert got.json() == {
        "id": "mug",
        "name": "Mug",
        "description": "Blue",
        "category": "kitchen",
        "price_cents": 1250,
        "currency": "EUR",
        "available": 3,
    }
    assert got.headers["ETag"] == put.headers["ETag"]


async def test_write_announces_product_changed(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    await client.put("/products/mug", json=MUG, headers=ADMIN)
    await client.delete("/products/mug", headers=ADMIN)
    assert [(t, p) for t, _, p in publisher.published] == [
        (PRODUCT_CHANGED_TOPIC, ProductChanged(product_id="mug", change="upserted")),
        (PRODUCT_CHANGED_TOPIC, ProductChanged(product_id="mug", change="deleted")),
    ]


async def test_stale_if_match_is_refused_and_nothing_changes(client: httpx.AsyncClient) -> None:
    first = await client.put("/products/mug", json=MUG, headers=ADMIN)
    await client.put("/products/mug", json={**MUG, "stock": 2}, headers=ADMIN)
    stale = await client.put(
        "/products/mug",
        json={**MUG, "stock": 99},
        headers={**ADMIN, "If-Match": first.headers["ETag"]},
    )
    assert stale.status_code == 412
    assert "changed since it was read" in stale.json()["detail"]
    assert await available(client, "mug") == 2


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({**MUG, "price_cents": -1}, "price_cents"),
        ({**MUG, "stock": "many"}, "stock"),
        ({"price_cents": 1, "stock": 1}, "name"),
        ({**MUG, "colour": "red"}, "colour"),
        ({**MUG, "category": "Bad/Category"}, "category"),
    ],
)
async def test_bad_product_is_a_422_naming_the_field(
    client: httpx.AsyncClient, state: InMemoryStateStore, body: dict[str, object], where: str
) -> None:
    response = await client.put("/products/mug", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert any(where in err["loc"] for err in response.json()["errors"])
    assert state.entries == {}


async def test_malformed_json_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/products/mug", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic s3cret", "s3cret"])
async def test_writes_need_the_admin_token(client: httpx.AsyncClient, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = await client.put("/products/mug", json=MUG, headers=headers)
    assert response.status_code == 401
    assert "s3cret" not in response.text


async def test_unknown_product_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/products/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "product 'nope' not found"}


async def test_invalid_product_id_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/products/Not_An_Id")).status_code == 422


async def test_stock_cannot_drop_below_reserved_units(client: httpx.AsyncClient) -> None:
    await client.put("/products/mug", json=MUG, headers=ADMIN)
    await reserve(client, "o1", mug=2)
    refused = await client.put("/products/mug", json={**MUG, "stock": 1}, headers=ADMIN)
    assert refused.status_code == 409
    assert "reserved by pending orders" in refused.json()["detail"]


# --- browsing -------------------------------------------------------------------------


async def test_seed_loads_once(seeded: httpx.AsyncClient, state: InMemoryStateStore) -> None:
    first = (await seeded.get("/products", params={"page_size": 100})).json()
    assert first["total"] == 12
    async for again in serve(state, InMemoryPublisher(), SEED_FILE):
        assert (await again.get("/products")).json()["total"] == 12


async def test_search_filters_sorts_and_pages(seeded: httpx.AsyncClient) -> None:
    tea = (await seeded.get("/products", params={"q": "TEA hot"})).json()
    assert [p["id"] for p in tea["items"]] == ["teapot"]

    kitchen = await seeded.get(
        "/products", params={"category": "kitchen", "sort": "-price", "page_size": 2, "page": 2}
    )
    body = kitchen.json()
    assert body["total"] == 4
    assert [p["id"] for p in body["items"]] == ["cutting-board", "mug"]

    cheap = (await seeded.get("/products", params={"max_price_cents": 1500})).json()
    assert {p["id"] for p in cheap["items"]} == {"mug", "ink-blue"}


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page_size": 101}, {"sort": "random"}, {"min_price_cents": -1}]
)
async def test_bad_listing_parameters_are_422(
    seeded: httpx.AsyncClient, params: dict[str, int | str]
) -> None:
    assert (await seeded.get("/products", params=params)).status_code == 422


async def test_categories_count_products(seeded: httpx.AsyncClient) -> None:
    assert (await seeded.get("/categories")).json() == {
        "home": 3,
        "kitchen": 4,
        "outdoor": 2,
        "stationery": 3,
    }


async def test_lookup_prices_several_products(seeded: httpx.AsyncClient) -> None:
    answer = await seeded.post("/products:lookup", json={"ids": ["mug", "nope", "candle"]})
    body = answer.json()
    assert [(p["id"], p["price_cents"], p["available"]) for p in body["products"]] == [
        ("mug", 1250, 40),
        ("candle", 1600, 50),
    ]
    assert body["missing"] == ["nope"]


# --- reservations ---------------------------------------------------------------------


async def test_reservation_holds_stock_idempotently(seeded: httpx.AsyncClient) -> None:
    assert (await reserve(seeded, "o1", mug=5, candle=1)).status_code == 200
    assert (await reserve(seeded, "o1", mug=5, candle=1)).status_code == 200
    assert await available(seeded, "mug") == 35
    assert await available(seeded, "candle") == 49


async def test_insufficient_stock_holds_nothing(seeded: httpx.AsyncClient) -> None:
    refused = await reserve(seeded, "o1", candle=1, wool_blanket=7)
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "only 6 of product 'wool-blanket' available",
        "product_id": "wool-blanket",
        "available": 6,
    }
    assert await available(seeded, "candle") == 50
    # The same order id keeps its answer.
    assert (await reserve(seeded, "o1", candle=1, wool_blanket=7)).status_code == 409


async def test_release_gives_units_back_once(seeded: httpx.AsyncClient) -> None:
    await reserve(seeded, "o1", mug=5)
    assert (await seeded.delete("/reservations/o1")).status_code == 204
    assert (await seeded.delete("/reservations/o1")).status_code == 204
    assert await available(seeded, "mug") == 40


async def test_paid_order_commits_and_cancelled_releases(seeded: httpx.AsyncClient) -> None:
    await reserve(seeded, "paid-1", mug=5)
    await reserve(seeded, "cancelled-1", mug=3)
    for order_id, status in (("paid-1", "paid"), ("cancelled-1", "cancelled")):
        for _ in range(2):  # redelivered: no second effect
            reply = await seeded.post(
                "/events/orders/order-status-changed", json=status_event(order_id, status)
            )
            assert reply.json() == {"status": "SUCCESS"}
    assert await available(seeded, "mug") == 35


async def test_a_reservation_repeated_after_its_commit_holds_nothing(
    seeded: httpx.AsyncClient,
) -> None:
    """Seen in the chaos suite (workflow style): a second checkout for the same order
    reserved again after the first was paid, and `paid` announced again took the units
    out of the stock twice."""
    await reserve(seeded, "paid-1", mug=5)
    paid = status_event("paid-1", "paid")
    await seeded.post("/events/orders/order-status-changed", json=paid)
    assert (await reserve(seeded, "paid-1", mug=5)).status_code == 200
    await seeded.post("/events/orders/order-status-changed", json=paid)
    assert await available(seeded, "mug") == 35


async def test_shipped_and_delivered_change_no_stock(
    seeded: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    """A paid order's units were committed at `paid`; what shipping does later is no
    business of the stock, whatever order the events come in."""
    await reserve(seeded, "paid-1", mug=5)
    await seeded.post("/events/orders/order-status-changed", json=status_event("paid-1", "paid"))
    held = await reserve(seeded, "held-1", mug=2)  # never paid: still held
    assert held.status_code == 200
    before = {k: v.value for k, v in state.entries.items()}
    for order_id in ("paid-1", "held-1", "unknown-1"):
        for status in ("shipped", "delivered", "shipped"):
            reply = await seeded.post(
                "/events/orders/order-status-changed", json=status_event(order_id, status)
            )
            assert reply.json() == {"status": "SUCCESS"}
    assert {k: v.value for k, v in state.entries.items()} == before
    assert await available(seeded, "mug") == 33


async def test_records_keep_their_keys(
    seeded: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    # Products are read by key from outside too (system tests, the chaos suite, the
    # benchmark's large catalog): `product:<id>`, and the summaries on their shelves.
    await reserve(seeded, "o1", mug=1)
    assert {"product:mug", "reservation:o1", f"catalog-index:{shelf_of('mug')}"} <= set(
        state.entries
    )


async def test_unknown_product_in_reservation_is_404(seeded: httpx.AsyncClient) -> None:
    assert (await reserve(seeded, "o1", nope=1)).status_code == 404


@pytest.mark.parametrize(
    "items",
    [[], [{"product_id": "mug", "quantity": 0}], [{"product_id": "mug", "quantity": 1}] * 2],
)
async def test_bad_reservation_is_422(seeded: httpx.AsyncClient, items: list[object]) -> None:
    answer = await seeded.put("/reservations/o1", json={"items": items})
    assert answer.status_code == 422


async def test_malformed_event_is_dropped(seeded: httpx.AsyncClient) -> None:
    reply = await seeded.post("/events/orders/order-status-changed", json={"id": "x"})
    assert reply.json() == {"status": "DROP"}


def status_event(order_id: str, status: str) -> dict[str, object]:
    return {
        "id": f"e-{order_id}-{status}",
        "source": "orders",
        "type": "shop.orders.order-status-changed.v1",
        "specversion": "1.0",
        "data": {
            "order_id": order_id,
            "user_id": "u1",
            "email": "a@example.com",
            "status": status,
            "total_cents": 1,
            "currency": "EUR",
            "lines": [],
        },
    }


async def test_unreachable_state_store_is_a_503_with_reason(publisher: InMemoryPublisher) -> None:
    class Down(InMemoryStateStore):
        """Up while the catalog starts (it loads its listing then), down after."""

        down = False

        async def get(self, key: str) -> None:
            if self.down:
                raise TimeoutError("state store timed out")

    store = Down()
    async for client in serve(store, publisher):
        store.down = True
        response = await client.get("/products/mug")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert "state store timed out" in response.json()["detail"]
