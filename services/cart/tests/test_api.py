"""The cart API in-process: in-memory state, and a fake sidecar that plays the catalog."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from shop_dapr.testing import InMemoryStateStore, fake_dapr, serving

from cart.domain import CartContents
from cart.main import create_app
from cart.settings import Settings

TTL = 3600


class FakeCatalog:
    """Answers `POST /products:lookup` as the catalog would, behind the sidecar."""

    def __init__(self) -> None:
        self.products: dict[str, dict[str, Any]] = {
            "mug": {"id": "mug", "name": "Mug", "price_cents": 1250, "available": 3},
            "tea": {"id": "tea", "name": "Tea", "price_cents": 400, "available": 1000},
        }
        self.calls = 0
        self.down = False
        self.status = 200

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        assert request.headers["dapr-app-id"] == "catalog"
        assert (request.method, request.url.path) == ("POST", "/products:lookup")
        self.calls += 1
        if self.status != 200:
            return httpx.Response(self.status, json={"detail": "boom"})
        ids = json.loads(request.content)["ids"]
        return httpx.Response(
            200,
            json={
                "products": [self.products[i] for i in ids if i in self.products],
                "missing": [i for i in ids if i not in self.products],
            },
        )

    def add(self, count: int) -> list[str]:
        ids = [f"p{n}" for n in range(count)]
        for i in ids:
            self.products[i] = {"id": i, "name": i, "price_cents": 1, "available": 10}
        return ids


class RecordingStore(InMemoryStateStore):
    """Remembers the TTL of every save, not only the last one per key."""

    def __init__(self) -> None:
        super().__init__()
        self.saved_ttls: list[tuple[str, int | None]] = []

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        await super().save(key, value, etag, ttl_seconds)
        self.saved_ttls.append((key, ttl_seconds))


class RacingStore(InMemoryStateStore):
    """Lets another writer slip in between a read and an ETag write, `races` times."""

    def __init__(self) -> None:
        super().__init__()
        self.races = 0
        self.rival_product = "tea"

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        await self._rival_writes(key, etag)
        await super().save(key, value, etag, ttl_seconds)

    async def delete(self, key: str, etag: str | None = None) -> None:
        await self._rival_writes(key, etag)
        await super().delete(key, etag)

    async def _rival_writes(self, key: str, etag: str | None) -> None:
        """Before a conditional write (a save or a delete): the rival's write wins."""
        if etag is not None and self.races > 0:
            self.races -= 1
            current = CartContents.model_validate_json(self.entries[key].value)
            rival = current.with_quantity(self.rival_product, 2)
            await super().save(key, rival.model_dump_json().encode())


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def state() -> RecordingStore:
    return RecordingStore()


@asynccontextmanager
async def serve(
    state: InMemoryStateStore, catalog: FakeCatalog
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(cart_ttl_seconds=TTL), fake_dapr(state=state, sidecar=catalog.handle))
    async with serving(app) as c:
        yield c


@pytest.fixture
async def client(state: RecordingStore, catalog: FakeCatalog) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(state, catalog) as c:
        yield c


async def put(client: httpx.AsyncClient, product: str, quantity: object) -> httpx.Response:
    return await client.put(f"/carts/u1/items/{product}", json={"quantity": quantity})


def order_created(user_id: object = "u1", event_id: str = "e1") -> dict[str, object]:
    return {
        "id": event_id,
        "source": "orders",
        "type": "shop.orders.order-created.v1",
        "specversion": "1.0",
        "data": {
            "order_id": "o1",
            "user_id": user_id,
            "email": "u1@example.com",
            "lines": [{"product_id": "mug", "name": "Mug", "quantity": 1, "unit_price_cents": 1}],
            "total_cents": 1,
            "currency": "EUR",
            "payment_token": "4242424242424242",
            "created_at": "2025-01-01T00:00:00Z",
        },
    }


def quantities(cart: dict[str, Any]) -> dict[str, int]:
    return {line["product_id"]: line["quantity"] for line in cart["lines"]}


async def test_put_sets_the_quantity_and_returns_the_priced_cart(
    client: httpx.AsyncClient,
) -> None:
    await put(client, "mug", 1)
    response = await put(client, "mug", 2)
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "u1",
        "lines": [
            {
                "product_id": "mug",
                "name": "Mug",
                "quantity": 2,
                "unit_price_cents": 1250,
                "line_total_cents": 2500,
            }
        ],
        "total_cents": 2500,
        "currency": "EUR",
    }
    assert (await client.get("/carts/u1")).json() == response.json()


async def test_lines_keep_the_order_they_were_added_in(client: httpx.AsyncClient) -> None:
    await put(client, "tea", 5)
    await put(client, "mug", 1)
    await put(client, "tea", 6)
    cart = (await client.get("/carts/u1")).json()
    assert [line["product_id"] for line in cart["lines"]] == ["tea", "mug"]
    assert cart["total_cents"] == 6 * 400 + 1250


async def test_prices_come_from_the_catalog_at_read_time(
    client: httpx.AsyncClient, catalog: FakeCatalog, state: RecordingStore
) -> None:
    await put(client, "mug", 2)
    catalog.products["mug"]["price_cents"] = 999
    cart = (await client.get("/carts/u1")).json()
    assert cart["lines"][0]["unit_price_cents"] == 999
    assert cart["total_cents"] == 1998
    assert b"price" not in state.entries["cart:u1"].value


async def test_products_gone_from_the_catalog_are_left_out(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    await put(client, "mug", 1)
    await put(client, "tea", 2)
    del catalog.products["mug"]
    cart = (await client.get("/carts/u1")).json()
    assert quantities(cart) == {"tea": 2}
    assert cart["total_cents"] == 800


async def test_absent_cart_is_empty_without_asking_the_catalog(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    response = await client.get("/carts/nobody")
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "nobody",
        "lines": [],
        "total_cents": 0,
        "currency": "EUR",
    }
    assert catalog.calls == 0


async def test_remove_a_line_is_idempotent(
    client: httpx.AsyncClient, state: RecordingStore
) -> None:
    await put(client, "mug", 1)
    await put(client, "tea", 1)
    for _ in range(2):
        assert (await client.delete("/carts/u1/items/mug")).status_code == 204
    assert quantities((await client.get("/carts/u1")).json()) == {"tea": 1}
    await client.delete("/carts/u1/items/tea")
    assert "cart:u1" not in state.entries
    assert (await client.delete("/carts/nobody/items/tea")).status_code == 204


async def test_removing_what_is_not_there_writes_nothing(
    client: httpx.AsyncClient, state: RecordingStore
) -> None:
    await put(client, "mug", 1)
    assert (await client.delete("/carts/u1/items/tea")).status_code == 204
    assert (await client.delete("/carts/nobody/items/tea")).status_code == 204
    assert state.saved_ttls == [("cart:u1", TTL)]
    assert list(state.entries) == ["cart:u1"]


async def test_clear_is_idempotent(client: httpx.AsyncClient, state: RecordingStore) -> None:
    await put(client, "mug", 1)
    for _ in range(2):
        assert (await client.delete("/carts/u1")).status_code == 204
    assert state.entries == {}


async def test_carts_are_per_user(client: httpx.AsyncClient) -> None:
    await put(client, "mug", 1)
    await client.put("/carts/u2/items/tea", json={"quantity": 3})
    await client.delete("/carts/u2")
    assert quantities((await client.get("/carts/u1")).json()) == {"mug": 1}


async def test_unknown_product_is_404(client: httpx.AsyncClient, state: RecordingStore) -> None:
    response = await put(client, "nope", 1)
    assert response.status_code == 404
    assert response.json() == {"detail": "product 'nope' not found"}
    assert state.entries == {}


async def test_more_than_available_is_409_naming_the_count(
    client: httpx.AsyncClient, state: RecordingStore
) -> None:
    response = await put(client, "mug", 4)
    assert response.status_code == 409
    assert "only 3 of product 'mug' available" in response.json()["detail"]
    assert state.entries == {}


@pytest.mark.parametrize("quantity", [0, -1, 1001, 10**12, 1.5, 2.5, "2", True, None, [1]])
async def test_bad_quantity_is_422(
    client: httpx.AsyncClient, state: RecordingStore, quantity: object
) -> None:
    response = await put(client, "mug", quantity)
    assert response.status_code == 422
    assert any("quantity" in err["loc"] for err in response.json()["errors"])
    assert state.entries == {}


async def test_a_quantity_with_no_fraction_is_an_integer(
    client: httpx.AsyncClient, state: RecordingStore
) -> None:
    # JSON Schema's integer, which the published schema promises.
    response = await put(client, "mug", 2.0)
    assert response.status_code == 200
    assert response.json()["lines"][0]["quantity"] == 2


@pytest.mark.parametrize("body", [{}, {"quantity": 1, "colour": "red"}, [1]])
async def test_bad_body_is_422(client: httpx.AsyncClient, body: object) -> None:
    response = await client.put("/carts/u1/items/mug", json=body)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/carts/bad%20user"),
        ("GET", "/carts/" + "u" * 65),
        ("DELETE", "/carts/bad.user"),
        ("PUT", "/carts/u1/items/Mug"),
        ("PUT", "/carts/bad!/items/mug"),
        ("DELETE", "/carts/u1/items/-mug"),
        ("DELETE", "/carts/u1/items/mug_1"),
    ],
)
async def test_bad_ids_are_422(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={"quantity": 1})
    assert response.status_code == 422
    assert response.json()["errors"]


async def test_a_cart_holds_at_most_50_lines(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    ids = catalog.add(51)
    for product in ids[:50]:
        assert (await put(client, product, 1)).status_code == 200
    response = await put(client, ids[50], 1)
    assert response.status_code == 409
    assert "at most 50 different products" in response.json()["detail"]
    assert (await put(client, ids[0], 2)).status_code == 200


async def test_a_total_beyond_the_contract_is_409_not_500(
    client: httpx.AsyncClient, catalog: FakeCatalog, state: RecordingStore
) -> None:
    catalog.products["tea"]["price_cents"] = 100_000_000
    response = await put(client, "tea", 1000)
    assert response.status_code == 409
    assert "more than one order can hold" in response.json()["detail"]
    assert state.entries == {}


async def test_every_write_sets_the_ttl(client: httpx.AsyncClient, state: RecordingStore) -> None:
    await put(client, "mug", 1)
    await put(client, "tea", 1)
    await put(client, "mug", 2)
    await client.delete("/carts/u1/items/tea")
    assert state.saved_ttls == [("cart:u1", TTL)] * 4


async def test_a_write_that_loses_a_race_is_redone_on_a_fresh_read(
    catalog: FakeCatalog,
) -> None:
    state = RacingStore()
    async with serve(state, catalog) as client:
        await put(client, "mug", 1)
        state.races = 1
        response = await put(client, "mug", 3)
        assert response.status_code == 200
        assert quantities(response.json()) == {"mug": 3, "tea": 2}
        assert quantities((await client.get("/carts/u1")).json()) == {"mug": 3, "tea": 2}


async def test_endless_races_end_in_409(catalog: FakeCatalog) -> None:
    state = RacingStore()
    async with serve(state, catalog) as client:
        await put(client, "mug", 1)
        state.races = 100
        for response in [await put(client, "mug", 2), await client.delete("/carts/u1/items/mug")]:
            assert response.status_code == 409
            assert response.json() == {"detail": "cart changed concurrently, retry"}


async def test_a_removal_that_loses_a_race_keeps_the_other_writers_line(
    catalog: FakeCatalog,
) -> None:
    state = RacingStore()
    async with serve(state, catalog) as client:
        await put(client, "mug", 1)
        state.races = 1
        assert (await client.delete("/carts/u1/items/mug")).status_code == 204
        assert quantities((await client.get("/carts/u1")).json()) == {"tea": 2}


async def test_a_cart_refilled_while_it_is_emptied_keeps_the_new_line(
    catalog: FakeCatalog,
) -> None:
    class RefilledBeforeTheDelete(InMemoryStateStore):
        refills = 1

        async def delete(self, key: str, etag: str | None = None) -> None:
            if self.refills:
                self.refills -= 1
                refilled = CartContents(quantities={"tea": 2}).model_dump_json().encode()
                await self.save(key, refilled)
            await super().delete(key, etag)

    async with serve(RefilledBeforeTheDelete(), catalog) as client:
        await put(client, "mug", 1)
        assert (await client.delete("/carts/u1/items/mug")).status_code == 204
        assert quantities((await client.get("/carts/u1")).json()) == {"tea": 2}


async def test_order_created_empties_the_cart_once(
    client: httpx.AsyncClient, state: RecordingStore
) -> None:
    await put(client, "mug", 1)
    reply = await client.post("/events/orders/order-created", json=order_created())
    assert reply.json() == {"status": "SUCCESS"}
    assert "cart:u1" not in state.entries
    # A redelivery after the user has started a new cart must not empty that one.
    await put(client, "tea", 1)
    again = await client.post("/events/orders/order-created", json=order_created())
    assert again.json() == {"status": "SUCCESS"}
    assert quantities((await client.get("/carts/u1")).json()) == {"tea": 1}


async def test_a_handled_event_is_remembered_for_its_ttl(
    client: httpx.AsyncClient, state: RecordingStore
) -> None:
    await client.post("/events/orders/order-created", json=order_created(event_id="e7"))
    assert state.saved_ttls == [("cart-order-created:e7", Settings().handled_event_ttl_seconds)]


async def test_order_created_for_an_absent_cart_is_fine(client: httpx.AsyncClient) -> None:
    reply = await client.post("/events/orders/order-created", json=order_created("nobody"))
    assert reply.json() == {"status": "SUCCESS"}


@pytest.mark.parametrize(
    "body",
    [{"not": "a cloudevent"}, order_created(user_id=None), order_created("../u1"), [1], None],
)
async def test_malformed_order_created_is_dropped(
    client: httpx.AsyncClient, state: RecordingStore, body: object
) -> None:
    await put(client, "mug", 1)
    reply = await client.post("/events/orders/order-created", json=body)
    assert reply.status_code == 200
    assert reply.json() == {"status": "DROP"}
    assert "cart:u1" in state.entries


async def test_order_created_asks_for_redelivery_when_the_store_fails(
    catalog: FakeCatalog,
) -> None:
    class BrokenStore(InMemoryStateStore):
        async def delete(self, key: str, etag: str | None = None) -> None:
            raise ConnectionError("state store unreachable")

    async with serve(BrokenStore(), catalog) as client:
        reply = await client.post("/events/orders/order-created", json=order_created())
        assert reply.json() == {"status": "RETRY"}


@pytest.mark.parametrize("failure", ["down", "status"])
async def test_catalog_unavailable_is_503(
    client: httpx.AsyncClient, catalog: FakeCatalog, state: RecordingStore, failure: str
) -> None:
    await put(client, "mug", 1)
    if failure == "down":
        catalog.down = True
    else:
        catalog.status = 500
    got = await client.get("/carts/u1")
    assert got.status_code == 503
    # The platform's 503 for any unreachable peer, naming it.
    assert "catalog" in got.json()["detail"]
    assert got.headers["Retry-After"] == "1"
    assert (await put(client, "tea", 1)).status_code == 503
    assert state.saved_ttls == [("cart:u1", TTL)]


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 204
    assert (await client.get("/readyz")).json() == {"status": "ready"}
