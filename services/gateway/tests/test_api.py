"""The gateway in-process; an httpx MockTransport plays the sidecar and the services
behind it (shop_dapr.testing.fake_dapr). Tokens are signed with a key made here, served
as identity's JWKS."""

import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from shop_auth import Authenticator, Claims, JwtVerifier
from shop_contracts.identity import JWT_AUDIENCE, JWT_ISSUER
from shop_dapr.testing import fake_dapr, serving

from gateway.main import create_app
from gateway.settings import Settings

MUG = {"id": "mug", "name": "Mug", "price_cents": 1250, "available": 3}
KEY = Ed25519PrivateKey.generate()
KID = "k1"


def jwks(*keys: dict[str, object]) -> dict[str, object]:
    return {"keys": list(keys) or [jwk(KEY, KID)]}


def jwk(key: Ed25519PrivateKey, kid: str) -> dict[str, object]:
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "EdDSA"}


def token(key: Ed25519PrivateKey = KEY, kid: str = KID, **claims: object) -> str:
    now = int(time.time())
    payload = {
        "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": "alice", "email": "alice@example.com",
        "name": "Alice", "iat": now, "nbf": now, "exp": now + 600, "jti": uuid.uuid4().hex,
    } | claims  # fmt: skip
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})


class FakeSidecar:
    def __init__(self) -> None:
        self.products = {"mug": dict(MUG)}
        self.jwks = jwks()
        self.calls: list[tuple[str, str, str]] = []
        self.seen_headers: list[httpx.Headers] = []
        self.down = False
        # What orders answers for GET /orders/o1 and GET /orders.
        self.order: dict[str, object] = {"order_id": "o1", "status": "paid"}
        self.history: list[dict[str, object]] = [self.order]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("sidecar down", request=request)
        app, path = request.headers["dapr-app-id"], request.url.path
        self.calls.append((app, request.method, path))
        self.seen_headers.append(request.headers)
        if (app, path) == ("identity", "/.well-known/jwks.json"):
            return httpx.Response(200, json=self.jwks)
        if app == "catalog" and path.startswith("/products/"):
            product = self.products.get(path.removeprefix("/products/"))
            return (
                httpx.Response(200, json=product)
                if product
                else httpx.Response(404, json={"detail": "nf"})
            )
        if app == "catalog" and path == "/products":
            return httpx.Response(200, json={"query": str(request.url.params)})
        if app == "orders" and path == "/orders" and request.method == "GET":
            return httpx.Response(200, json=self.history)
        if app == "orders" and path == "/orders":
            return httpx.Response(201, json={"order_id": "o1", "status": "pending"})
        if app == "orders" and path == "/orders/o1":
            return httpx.Response(200, json=self.order)
        if app == "payments" and path == "/payments/o1":
            return httpx.Response(200, json={"status": "succeeded"})
        if app == "cart":
            return httpx.Response(500)
        return httpx.Response(404, json={"detail": "not found"})


@pytest.fixture
def sidecar() -> FakeSidecar:
    return FakeSidecar()


async def serve(sidecar: FakeSidecar, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, fake_dapr(sidecar=sidecar.handle))
    async with serving(app) as c:
        yield c


@pytest.fixture
async def client(sidecar: FakeSidecar) -> AsyncIterator[httpx.AsyncClient]:
    async for c in serve(sidecar, Settings()):
        yield c


def bearer(value: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {value or token()}"}


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
    assert sidecar.calls == [("catalog", "GET", "/products/mug")]


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


@pytest.mark.parametrize("body", [{"not": "a cloudevent"}, product_changed(None), [1, 2, 3], None])
async def test_malformed_event_is_dropped_not_retried(
    client: httpx.AsyncClient, body: object
) -> None:
    reply = await client.post("/events/catalog/product-changed", json=body)
    assert reply.status_code == 200
    assert reply.json() == {"status": "DROP"}


async def test_event_that_is_not_json_is_dropped(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/events/catalog/product-changed",
        content=b"{bad",
        headers={"Content-Type": "application/json"},
    )
    assert reply.json() == {"status": "DROP"}


async def test_listing_forwards_the_query(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/products", params={"q": "tea pot", "page": 2})
    # In a fixed order, so that one page is cached once however it is asked for.
    assert answer.json() == {"query": "page=2&q=tea+pot"}


async def test_unknown_product_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/products/nope")).status_code == 404


async def test_unreachable_service_is_503_with_reason(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    sidecar.down = True
    response = await client.get("/api/v1/products/mug")
    assert response.status_code == 503
    assert "catalog unreachable" in response.json()["detail"]


async def test_failing_service_is_503(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/cart", headers=bearer())
    assert response.status_code == 503
    assert response.json() == {
        "detail": "a backing service is unavailable, retry shortly: cart failed (500)"
    }
    assert response.headers["Retry-After"] == "1"


# --- authentication -------------------------------------------------------------------


async def test_user_comes_from_the_verified_token_only(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    response = await client.post(
        "/api/v1/orders",
        json={"payment_token": "4242424242424242"},
        headers={**bearer(), "X-User-Id": "mallory", "Idempotency-Key": "k1"},
    )
    assert response.status_code == 201
    sent = sidecar.seen_headers[-1]
    assert (sent["X-User-Id"], sent["X-User-Email"], sent["Idempotency-Key"]) == (
        "alice",
        "alice@example.com",
        "k1",
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing bearer token"),
        (bearer("not.a.jwt"), "malformed token"),
        (bearer(token(exp=int(time.time()) - 3600)), "token expired"),
        (bearer(token(Ed25519PrivateKey.generate())), "signature invalid"),
        (bearer(token(aud="elsewhere")), "wrong audience"),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "missing bearer token"),
    ],
)
async def test_missing_expired_or_forged_token_is_401(
    client: httpx.AsyncClient, headers: dict[str, str], reason: str
) -> None:
    response = await client.get("/api/v1/orders", headers=headers)
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_order_page_aggregates_order_and_payment(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/orders/o1", headers=bearer())
    assert response.json() == {
        "order_id": "o1",
        "status": "paid",
        "payment": {"status": "succeeded"},
    }


SHIPMENT = {
    "tracking_number": "SHP-0001",
    "carrier": "DHL",
    "shipped_at": "2026-01-05T10:00:00Z",
    "delivered_at": None,
}


@pytest.mark.parametrize(
    ("status", "shipment"),
    [
        ("shipped", SHIPMENT),
        ("delivered", {**SHIPMENT, "delivered_at": "2026-01-07T15:30:00Z"}),
    ],
)
async def test_order_page_and_history_carry_the_shipment(
    client: httpx.AsyncClient, sidecar: FakeSidecar, status: str, shipment: dict[str, object]
) -> None:
    sidecar.order.update(status=status, shipment=shipment)
    page = (await client.get("/api/v1/orders/o1", headers=bearer())).json()
    assert page == {
        "order_id": "o1",
        "status": status,
        "shipment": shipment,
        "payment": {"status": "succeeded"},
    }
    [listed] = (await client.get("/api/v1/orders", headers=bearer())).json()
    assert (listed["status"], listed["shipment"]) == (status, shipment)


async def test_openapi_shows_an_order_with_its_shipment(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    def example(path: str) -> object:
        content = paths[path]["get"]["responses"]["200"]["content"]
        return content["application/json"]["example"]

    page = example("/api/v1/orders/{order_id}")
    assert isinstance(page, dict)
    assert page["status"] == "shipped"
    assert page["shipment"]["tracking_number"].startswith("SHP-")
    assert page["payment"]["status"] == "succeeded"
    assert example("/api/v1/orders") == [{k: v for k, v in page.items() if k != "payment"}]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/orders", {"payment_token": "12"}),
        ("/api/v1/orders", {"payment_token": 4242424242424242}),
        ("/api/v1/cart/items/mug", {"quantity": 0}),
        ("/api/v1/cart/items/mug", {"quantity": -3}),
        ("/api/v1/cart/items/mug", {"quantity": "two"}),
    ],
)
async def test_bad_bodies_are_422_at_the_edge(
    client: httpx.AsyncClient, sidecar: FakeSidecar, path: str, body: dict[str, object]
) -> None:
    method = "POST" if path.endswith("orders") else "PUT"
    response = await client.request(method, path, json=body, headers=bearer())
    assert response.status_code == 422
    assert not [c for c in sidecar.calls if c[0] != "identity"]


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/orders", content=b"{oops", headers={**bearer(), "Content-Type": "application/json"}
    )
    assert response.status_code == 422


# --- edge limits ----------------------------------------------------------------------


async def test_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    big = {"payment_token": "4242424242424242", "pad": "x" * 70_000}
    response = await client.post("/api/v1/orders", json=big, headers=bearer())
    assert response.status_code == 413
    assert "over 65536 bytes" in response.json()["detail"]


async def test_oversize_chunked_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    response = await client.post("/api/v1/auth/register", content=chunks())
    assert response.status_code == 413


async def test_abusive_client_gets_429_with_retry_after(sidecar: FakeSidecar) -> None:
    async for client in serve(sidecar, Settings(rate_limit_per_second=1, rate_limit_burst=3)):
        codes = [(await client.get("/api/v1/products/mug")).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        refused = await client.get("/api/v1/products/mug")
        assert refused.headers["Retry-After"] == "1"
        # Another client (its own token) is not affected.
        assert (await client.get("/api/v1/products/mug", headers=bearer())).status_code == 200
        # Health checks are never limited.
        assert (await client.get("/healthz")).status_code == 204


def made_up_token() -> str:
    """Looks like one of ours (EdDSA, a known key id) but is signed with another key."""
    return token(Ed25519PrivateKey.generate(), sub=f"u-{uuid.uuid4().hex}")


async def test_made_up_tokens_share_their_address_bucket(sidecar: FakeSidecar) -> None:
    async for client in serve(sidecar, Settings(rate_limit_per_second=1, rate_limit_burst=3)):
        forged = [
            bearer(made_up_token()),
            bearer(uuid.uuid4().hex),
            {"Authorization": "Bearer " + "not.a.jwt"},
            bearer(token(exp=int(time.time()) - 3600)),
        ]
        codes = [(await client.get("/api/v1/products/mug", headers=h)).status_code for h in forged]
        assert codes == [200, 200, 200, 429]
        # The address's own requests, token or none, wait with them.
        assert (await client.get("/api/v1/products/mug")).status_code == 429
        refused = await client.get("/api/v1/orders", headers=bearer(made_up_token()))
        assert refused.status_code == 429


async def test_verified_users_behind_one_address_have_their_own_buckets(
    sidecar: FakeSidecar,
) -> None:
    async for client in serve(sidecar, Settings(rate_limit_per_second=1, rate_limit_burst=3)):
        alice, bob = bearer(token(sub="alice")), bearer(token(sub="bob"))
        # The address's bucket is spent by anonymous requests first.
        anonymous = [(await client.get("/api/v1/products/mug")).status_code for _ in range(4)]
        assert anonymous == [200, 200, 200, 429]
        for user in (alice, bob):
            codes = [
                (await client.get("/api/v1/products/mug", headers=user)).status_code
                for _ in range(4)
            ]
            assert codes == [200, 200, 200, 429]
        # A new token of the same user is the same bucket.
        again = await client.get("/api/v1/products/mug", headers=bearer(token(sub="alice")))
        assert again.status_code == 429


async def test_a_request_verifies_its_token_once(
    sidecar: FakeSidecar, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    verify = JwtVerifier.verify

    def counting(self: JwtVerifier, raw: str) -> Claims:
        calls.append(raw)
        return verify(self, raw)

    monkeypatch.setattr(JwtVerifier, "verify", counting)
    async for client in serve(sidecar, Settings()):
        assert (await client.get("/api/v1/orders/o1", headers=bearer())).status_code == 200
        forged = await client.get("/api/v1/orders/o1", headers=bearer(made_up_token()))
        assert forged.status_code == 401
        assert "signature invalid" in forged.json()["detail"]
    assert len(calls) == 2


async def test_a_rotated_identity_key_is_fetched_and_accepted(
    sidecar: FakeSidecar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Authenticator, "MIN_REFRESH_INTERVAL_SECONDS", 0.0)
    rotated = Ed25519PrivateKey.generate()
    async for client in serve(sidecar, Settings()):
        assert (await client.get("/api/v1/orders/o1", headers=bearer())).status_code == 200
        # identity publishes its new key beside the old one and signs with the new one.
        sidecar.jwks = jwks(jwk(KEY, KID), jwk(rotated, "k2"))
        new = await client.get("/api/v1/orders/o1", headers=bearer(token(rotated, "k2")))
        old = await client.get("/api/v1/orders/o1", headers=bearer())
    assert (new.status_code, old.status_code) == (200, 200)
    assert sidecar.calls.count(("identity", "GET", "/.well-known/jwks.json")) == 2


async def test_refused_requests_are_measured(sidecar: FakeSidecar) -> None:
    async for client in serve(sidecar, Settings(rate_limit_per_second=1, rate_limit_burst=1)):
        before = refused_count(await client.get("/metrics"))
        codes = [(await client.get("/api/v1/products/mug")).status_code for _ in range(2)]
        assert codes == [200, 429]
        assert refused_count(await client.get("/metrics")) == before + 1


def refused_count(metrics: httpx.Response) -> float:
    series = 'shop_http_requests_total{method="GET",route="unmatched",status="429"}'
    found = [line for line in metrics.text.splitlines() if line.startswith(series)]
    return float(found[0].split()[-1]) if found else 0.0


async def test_only_event_routes_need_the_app_token(sidecar: FakeSidecar) -> None:
    async for client in serve(sidecar, Settings(app_api_token=SecretStr("app-token"))):
        assert (await client.get("/api/v1/products/mug")).status_code == 200
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "shop"
        assert (await client.get("/docs")).status_code == 200
        event = product_changed("mug")
        refused = await client.post("/events/catalog/product-changed", json=event)
        assert refused.status_code == 401
        delivered = await client.post(
            "/events/catalog/product-changed", json=event, headers={"dapr-api-token": "app-token"}
        )
        assert delivered.json() == {"status": "SUCCESS"}
