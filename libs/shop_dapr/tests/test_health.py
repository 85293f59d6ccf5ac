"""Readiness asks the sidecar, then each required component through it, and says which
one is missing."""

import httpx
from fastapi import FastAPI

from shop_dapr.health import broker, health_router, state_store


class FakeSidecar:
    def __init__(self) -> None:
        self.down: set[str] = set()  # "sidecar", "state", "publish"
        self.calls: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        path = request.url.path
        if "sidecar" in self.down:
            raise httpx.ConnectError("connection refused")
        if path.startswith("/v1.0/state/") and "state" in self.down:
            return httpx.Response(500, json={"errorCode": "ERR_STATE_GET"})
        if path.startswith("/v1.0/publish/") and "publish" in self.down:
            raise httpx.ReadTimeout("no answer")
        return httpx.Response(204)


async def readyz(sidecar: FakeSidecar) -> httpx.Response:
    app = FastAPI()
    app.include_router(health_router([state_store("statestore"), broker("pubsub")]))
    app.state.sidecar = httpx.AsyncClient(
        transport=httpx.MockTransport(sidecar.handle), base_url="http://sidecar"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        return await c.get("/readyz")


async def test_ready_when_the_sidecar_and_every_component_answer() -> None:
    sidecar = FakeSidecar()
    answer = await readyz(sidecar)
    assert (answer.status_code, answer.json()) == (200, {"status": "ready"})
    paths = sorted(call.url.path for call in sidecar.calls)
    assert paths == [
        "/v1.0/healthz/outbound",
        "/v1.0/publish/pubsub/shop.readiness",
        "/v1.0/state/statestore/readyz",
    ]
    # Probes ask the sidecars not to trace them.
    assert all(call.headers["traceparent"].endswith("-00") for call in sidecar.calls)


async def test_not_ready_names_the_sidecar_when_it_is_down() -> None:
    sidecar = FakeSidecar()
    sidecar.down = {"sidecar"}
    answer = await readyz(sidecar)
    assert answer.status_code == 503
    assert answer.json()["reason"].startswith("sidecar: unreachable")


async def test_not_ready_names_each_component_that_fails() -> None:
    sidecar = FakeSidecar()
    sidecar.down = {"state", "publish"}
    reason = (await readyz(sidecar)).json()["reason"]
    assert "state store statestore: HTTP 500" in reason
    assert "broker pubsub: no answer within 2s" in reason


async def test_always_ready_without_a_sidecar() -> None:
    app = FastAPI()
    app.include_router(health_router(None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.get("/readyz")).status_code == 200
