"""The direct gateway in-process: the apps named in DIRECT_UPSTREAMS are called at their
own address with the app token, every other app through the sidecar with its token."""

from collections.abc import AsyncIterator

import httpx
import pytest
from gateway.settings import Settings
from pydantic import SecretStr
from shop_dapr.testing import serving

from bench.direct_gateway import Direct, direct_gateway


class Network:
    """Plays the sidecar and the catalog, at their own addresses."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, str | None]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("dapr-api-token")
        self.seen.append((str(request.url), request.headers["host"], token))
        return httpx.Response(200, json={"id": "mug"})


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
async def client(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("DIRECT_UPSTREAMS", '{"catalog": "http://127.0.0.1:8101"}')
    settings = Settings(
        dapr_http_port=3500,
        dapr_api_token=SecretStr("sidecar-token"),
        app_api_token=SecretStr("app-token"),
    )
    app = direct_gateway(settings, Direct(), httpx.MockTransport(network.handle))
    async with serving(app) as c:
        yield c


async def test_direct_apps_are_called_straight_and_others_through_the_sidecar(
    client: httpx.AsyncClient, network: Network
) -> None:
    assert (await client.get("/api/v1/products/mug")).json() == {"id": "mug"}
    body = {"email": "ada@example.com", "password": "correct horse", "name": "Ada"}
    await client.post("/api/v1/auth/register", json=body)

    assert network.seen == [
        ("http://127.0.0.1:8101/products/mug", "127.0.0.1:8101", "app-token"),
        ("http://127.0.0.1:3500/register", "127.0.0.1:3500", "sidecar-token"),
    ]
