"""The gateway in-process; an httpx MockTransport plays the sidecar."""

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.main import create_app
from gateway.settings import Settings

MUG = {"id": "mug", "name": "Mug", "price_cents": 1250, "stock": 3}


class FakeSidecar:
    """Answers invocations of the catalog; counts them."""

    def __init__(self) -> None:
        self.products = {"mug": dict(MUG)}
        self.calls = 0
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("sidecar down", request=request)
        assert request.headers["dapr-app-id"] == "catalog"
        self.calls += 1
        product_id = request.url.path.removeprefix("/products/")
        if product_id in self.products:
            return httpx.Response(200, json=self.products[product_id])
        return httpx.Response(404, json={"detail": "not found"})


@pytest.fixture
def sidecar() -> FakeSidecar:
    return FakeSidecar()


@pytest.fixture
async def client(sidecar: FakeSidecar) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(), sidecar_transport=httpx.MockTransport(sidecar.handle))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
            yield c


def product_changed(product_id: object, event_id: str = "e1") -> dict[str, object]:
    return {
        "id": event_id,
        "source": "catalog",
        "type": "shop.catalog.product-changed.v1",
        "specversion": "1.0",
        "data": {"product_id": product_id, "change": "upserted"},
    }


async def test_product_is_served_then_cached(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    first = await client.get("/api/v1/products/mug")
    second = await client.get("/api/v1/products/mug")
    assert first.json() == second.json() == MUG
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert sidecar.calls == 1


async def test_product_changed_event_evicts_the_cache(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    await client.get("/api/v1/products/mug")
    sidecar.products["mug"]["price_cents"] = 999
    reply = await client.post("/events/catalog/product-changed", json=product_changed("mug"))
    assert reply.json() == {"status": "SUCCESS"}
    again = await client.get("/api/v1/products/mug")
    assert again.headers["X-Cache"] == "miss"
    assert again.json()["price_cents"] == 999


@pytest.mark.parametrize(
    "body",
    [
        {"not": "a cloudevent"},
        product_changed(None),
        [1, 2, 3],
        None,
    ],
)
async def test_malformed_event_is_dropped_not_retried(
    client: httpx.AsyncClient, body: object
) -> None:
    reply = await client.post("/events/catalog/product-changed", json=body)
    assert reply.status_code == 200
    assert reply.json() == {"status": "DROP"}


async def test_unknown_product_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/products/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "product 'nope' not found"}


async def test_unreachable_catalog_is_503_with_reason(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    sidecar.down = True
    response = await client.get("/api/v1/products/mug")
    assert response.status_code == 503
    assert "catalog unreachable" in response.json()["detail"]


async def test_invalid_product_id_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/products/..%2F..%2Fadmin")).status_code in (404, 422)
