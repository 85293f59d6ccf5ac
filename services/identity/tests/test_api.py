"""The identity API in-process, with in-memory adapters."""

import asyncio
import base64
import hashlib
import json
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from shop_auth import JwtVerifier
from shop_contracts.identity import JWKS_PATH, JWT_SIGNING_KEY_SECRET
from shop_dapr import SecretNotFound
from shop_dapr.testing import InMemorySecretStore, InMemoryStateStore, fake_dapr, serving

from identity.domain import InvalidSigningKey
from identity.main import create_app
from identity.tests.conftest import cheap_settings

PASSWORD = "correct horse battery"
ANN = {"email": "Ann@Example.org", "password": PASSWORD, "name": "Ann"}


async def register(client: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    return await client.post("/register", json={**ANN, **overrides})


async def login(
    client: httpx.AsyncClient, username: str = "ann@example.org", password: str = PASSWORD
) -> httpx.Response:
    form = {"grant_type": "password", "username": username, "password": password}
    return await client.post("/token", data=form)


async def test_register_then_login_gives_a_token_the_jwks_verifies(
    client: httpx.AsyncClient,
) -> None:
    registered = await register(client)
    assert registered.status_code == 201
    profile = registered.json()
    assert profile == {"user_id": profile["user_id"], "email": "ann@example.org", "name": "Ann"}

    before = int(time.time())
    answer = await login(client)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900

    verifier = JwtVerifier.from_jwks((await client.get(JWKS_PATH)).json())
    claims = verifier.verify(body["access_token"])
    assert (claims.user_id, claims.email, claims.name) == (
        profile["user_id"],
        "ann@example.org",
        "Ann",
    )
    assert before + 900 <= claims.expires_at.timestamp() <= time.time() + 900


async def test_token_carries_kid_and_the_standard_claims(client: httpx.AsyncClient) -> None:
    await register(client)
    token = (await login(client)).json()["access_token"]
    header, payload = (json.loads(base64.urlsafe_b64decode(p + "==")) for p in token.split(".")[:2])
    assert header["alg"] == "EdDSA"
    assert header["kid"] == (await client.get(JWKS_PATH)).json()["keys"][0]["kid"]
    assert payload["iss"] == "shop-identity"
    assert payload["aud"] == "shop"
    assert payload["nbf"] == payload["iat"]
    assert payload["exp"] == payload["iat"] + 900
    assert len(payload["jti"]) == 32


async def test_email_is_case_insensitive_at_login(client: httpx.AsyncClient) -> None:
    await register(client)
    assert (await login(client, username=" ANN@example.ORG")).status_code == 200


async def test_jwks_has_exactly_one_key_named_by_its_thumbprint(
    client: httpx.AsyncClient, signing_key: Ed25519PrivateKey
) -> None:
    raw = signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")
    response = await client.get(JWKS_PATH)
    assert response.status_code == 200
    assert response.json() == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": x,
                "kid": kid.decode(),
                "use": "sig",
                "alg": "EdDSA",
            }
        ]
    }


async def test_duplicate_email_is_409_whatever_its_case(client: httpx.AsyncClient) -> None:
    await register(client)
    again = await register(client, email="ANN@example.org", name="Impostor")
    assert again.status_code == 409
    assert again.json() == {
        "detail": "email 'ann@example.org' is already registered: log in instead"
    }


async def test_concurrent_registrations_of_one_email_let_one_win(
    client: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    answers = await asyncio.gather(*(register(client, name=f"Ann {i}") for i in range(5)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409]
    assert len([key for key in state.entries if key.startswith("user:")]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ANN, "email": "not-an-email"}, "email"),
        ({**ANN, "email": "ann@localhost"}, "email"),
        ({**ANN, "password": "too-short"}, "password"),
        ({**ANN, "password": "x" * 129}, "password"),
        ({**ANN, "name": "   "}, "name"),
        ({**ANN, "name": "n" * 101}, "name"),
        ({"email": ANN["email"], "password": PASSWORD}, "name"),
        ({"email": ANN["email"], "name": "Ann"}, "password"),
        ({**ANN, "is_admin": True}, "is_admin"),
    ],
)
async def test_bad_registration_is_a_422_naming_the_field(
    client: httpx.AsyncClient, state: InMemoryStateStore, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/register", json=body)
    assert response.status_code == 422
    assert any(err["loc"] == ["body", field] for err in response.json()["errors"])
    assert state.entries == {}


async def test_422_never_echoes_the_password(client: httpx.AsyncClient) -> None:
    # A missing name reports the whole body as its input, password included, by default.
    response = await client.post("/register", json={"email": "a@b.org", "password": PASSWORD})
    short = await client.post("/register", json={**ANN, "password": "s3cret"})
    assert PASSWORD not in response.text
    assert "s3cret" not in short.text


async def test_malformed_json_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/register", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"


async def test_wrong_password_and_unknown_user_get_the_same_401(client: httpx.AsyncClient) -> None:
    await register(client)
    answers = [
        await login(client, password="wrong password!"),
        await login(client, username="nobody@example.org"),
    ]
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answers[0].json() == answers[1].json() == {"detail": "incorrect email or password"}


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"grant_type": "password", "password": PASSWORD}, "username"),
        ({"grant_type": "password", "username": "ann@example.org"}, "password"),
        ({"grant_type": "client_credentials", "username": "a", "password": "b"}, "grant_type"),
    ],
)
async def test_bad_token_request_is_a_422_naming_the_field(
    client: httpx.AsyncClient, form: dict[str, str], field: str
) -> None:
    response = await client.post("/token", data=form)
    assert response.status_code == 422
    assert any(err["loc"] == ["body", field] for err in response.json()["errors"])


async def test_users_me_is_the_callers_profile(client: httpx.AsyncClient) -> None:
    profile = (await register(client)).json()
    response = await client.get("/users/me", headers={"X-User-Id": profile["user_id"]})
    assert response.status_code == 200
    assert response.json() == profile


async def test_users_me_without_caller_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "X-User-Id" in response.json()["detail"]


async def test_users_me_for_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me", headers={"X-User-Id": "f" * 32})
    assert response.status_code == 404


async def test_users_me_with_malformed_user_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me", headers={"X-User-Id": "../user:x||y"})
    assert response.status_code == 422


async def test_stored_record_holds_an_argon2id_hash_not_the_password(
    client: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    user_id = (await register(client)).json()["user_id"]
    assert json.loads(state.entries["user-by-email:ann@example.org"].value) == {"user_id": user_id}
    record = json.loads(state.entries[f"user:{user_id}"].value)
    assert record["password_hash"].startswith("$argon2id$")
    assert all(PASSWORD not in entry.value.decode() for entry in state.entries.values())


async def test_login_upgrades_a_hash_made_with_weaker_parameters(
    state: InMemoryStateStore, secrets: InMemorySecretStore
) -> None:
    async def run(time_cost: int, *calls: str) -> list[int]:
        app = create_app(cheap_settings(time_cost), fake_dapr(state=state, secrets=secrets))
        async with serving(app) as c:
            return [
                (await (register(c) if call == "register" else login(c))).status_code
                for call in calls
            ]

    def stored_hash() -> str:
        key = next(k for k in state.entries if k.startswith("user:"))
        return str(json.loads(state.entries[key].value)["password_hash"])

    assert await run(1, "register") == [201]
    assert ",t=1," in stored_hash()
    assert await run(2, "login", "login") == [200, 200]
    assert ",t=2," in stored_hash()


class FailingUserWrites(InMemoryStateStore):
    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        if key.startswith("user:"):
            raise RuntimeError("state store down")
        await super().save(key, value, etag, ttl_seconds)


async def test_failed_registration_releases_the_email(secrets: InMemorySecretStore) -> None:
    state = FailingUserWrites()
    app = create_app(cheap_settings(), fake_dapr(state=state, secrets=secrets))
    async with serving(app) as c:
        with pytest.raises(RuntimeError, match="state store down"):
            await register(c)
    assert state.entries == {}


def _pem_of_p256_key() -> str:
    key = generate_private_key(SECP256R1())
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.mark.parametrize(
    ("stored", "error", "message"),
    [
        ({}, SecretNotFound, JWT_SIGNING_KEY_SECRET),
        ({JWT_SIGNING_KEY_SECRET: "oops"}, InvalidSigningKey, "openssl genpkey"),
        ({JWT_SIGNING_KEY_SECRET: _pem_of_p256_key()}, InvalidSigningKey, "Ed25519"),
    ],
)
async def test_start_up_fails_clearly_without_a_usable_signing_key(
    stored: dict[str, str], error: type[Exception], message: str
) -> None:
    app = create_app(cheap_settings(), fake_dapr(secrets=InMemorySecretStore(stored)))
    with pytest.raises(error, match=message) as caught:
        async with app.router.lifespan_context(app):
            pass
    assert all(value not in str(caught.value) for value in stored.values())


async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 204
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_absurdly_long_username_is_just_a_401(client: httpx.AsyncClient) -> None:
    answer = await login(client, username="a" * 100_000 + "@example.org")
    assert answer.status_code == 401
