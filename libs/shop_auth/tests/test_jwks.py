"""fetch_jwks through an Invoker, with an httpx MockTransport playing the caller's sidecar."""

from typing import Any

import httpx
import pytest
from shop_contracts.identity import JWKS_PATH
from shop_dapr.invoke import Invoker

from shop_auth import JwksError, fetch_jwks

JWKS: dict[str, Any] = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA", "kid": "k"}]}


def sidecar(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://sidecar")


async def test_jwks_is_fetched_from_identity_through_the_sidecar() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=JWKS)

    async with sidecar(handle) as client:
        assert await fetch_jwks(Invoker(client)) == JWKS
    assert seen[0].url.path == JWKS_PATH
    assert seen[0].headers["dapr-app-id"] == "identity"


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (_down, "could not fetch"),
        (lambda r: httpx.Response(500, text="boom"), "failed \\(500\\)"),
        (lambda r: httpx.Response(403, text="denied"), "HTTP 403"),
        (lambda r: httpx.Response(200, text="<html>"), "not JSON"),
        (lambda r: httpx.Response(200, json={"kid": "k"}), "not a JWKS"),
    ],
)
async def test_failures_are_a_clear_jwks_error(handler: Any, message: str) -> None:
    async with sidecar(handler) as client:
        with pytest.raises(JwksError, match=message):
            await fetch_jwks(Invoker(client), identity_app_id="identity")
