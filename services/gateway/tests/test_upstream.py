"""Upstream calls go through the sidecar by app id, except for apps given a direct
address (benchmarks only)."""

import httpx

from gateway.service import Upstream


async def test_calls_go_through_the_sidecar_unless_the_app_is_direct() -> None:
    seen: list[tuple[str, str | None]] = []

    def record(where: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            seen.append((where, request.headers.get("dapr-app-id")))
            return httpx.Response(200, json={})

        return httpx.MockTransport(handle)

    sidecar = httpx.AsyncClient(transport=record("sidecar"), base_url="http://sidecar")
    catalog = httpx.AsyncClient(transport=record("catalog"), base_url="http://catalog")
    upstream = Upstream(sidecar, {"catalog": catalog})
    await upstream.call("catalog", "GET", "/products/mug")
    await upstream.call("cart", "GET", "/carts/u1")
    assert seen == [("catalog", "catalog"), ("sidecar", "cart")]
