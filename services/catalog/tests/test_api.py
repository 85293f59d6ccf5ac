"""The catalog API in-process, with in-memory adapters."""

from collections.abc import AsyncIterator

import httpx
import pytest
from shop_contracts.catalog import PRODUCT_CHANGED_TOPIC, ProductChanged
from shop_dapr import InMemoryPublisher, InMemorySecretStore, InMemoryStateStore

from catalog.main import Adapters, create_app
from catalog.settings import Settings

ADMIN = {"Authorization": "Bearer s3cret"}
MUG = {"name": "Mug", "price_cents": 1250, "stock": 3}


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
def state() -> InMemoryStateStore:
    return InMemoryStateStore()


@pytest.fixture
async def client(
    state: InMemoryStateStore, publisher: InMemoryPublisher
) -> AsyncIterator[httpx.AsyncClient]:
    adapters = Adapters(state, publisher, InMemorySecretStore({"catalog-admin-token": "s3cret"}))
    app = create_app(Settings(), adapters)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as c:
            yield c


async def test_put_then_get_returns_product_with_etag(client: httpx.AsyncClient) -> None:
    put = await client.put("/products/mug", json=MUG, headers=ADMIN)
    assert put.status_code == 200
    got = await client.get("/products/mug")
    assert got.status_code == 200
    assert got.json() == {"id": "mug", **MUG}
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
    assert (await client.get("/products/mug")).json()["stock"] == 2


async def test_batch_is_all_or_nothing_on_duplicate_ids(
    client: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    batch = [{"id": "a", **MUG}, {"id": "a", **MUG}]
    response = await client.post("/products:batch", json=batch, headers=ADMIN)
    assert response.status_code == 422
    assert state.entries == {}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({**MUG, "price_cents": -1}, "price_cents"),
        ({**MUG, "stock": "many"}, "stock"),
        ({"price_cents": 1, "stock": 1}, "name"),
        ({**MUG, "colour": "red"}, "colour"),
    ],
)
async def test_bad_product_is_a_422_naming_the_field(
    client: httpx.AsyncClient, state: InMemoryStateStore, body: dict[str, object], where: str
) -> None:
    response = await client.put("/products/mug", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert any(where in err["loc"] for err in response.json()["detail"])
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
