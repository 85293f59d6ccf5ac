"""Identity played for unit tests: access tokens signed here, and its key set served to
the service under test as its fake sidecar would (an httpx.MockTransport handler, for
`shop_dapr.testing.fake_dapr(sidecar=...)`). Production code never imports this."""

import time
import uuid

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from shop_contracts.identity import JWKS_PATH, JWT_AUDIENCE, JWT_ISSUER


class FakeIdentity:
    """Signs with its newest key and publishes every key it has had, as identity does
    while tokens of a rotated key are still in use."""

    def __init__(self, app_id: str = "identity") -> None:
        self.app_id = app_id
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.kid = ""
        self.fetches = 0  # key sets asked for
        self.down = False  # unreachable while set
        self.rotate("k1")

    def rotate(self, kid: str) -> None:
        """Sign with a new key, published under `kid`, from now on."""
        self.keys[kid] = Ed25519PrivateKey.generate()
        self.kid = kid

    def jwks(self) -> dict[str, object]:
        return {"keys": [_jwk(kid, key) for kid, key in self.keys.items()]}

    def token(self, sub: str = "ada", *, kid: str | None = None, **claims: object) -> str:
        """An access token of user `sub`, signed with the current key; valid unless
        `kid` names another key or `claims` make it so."""
        return self._sign(self.keys[self.kid], kid or self.kid, sub, claims)

    def forged(self, sub: str = "ada") -> str:
        """A token naming the current key id, signed with a key identity never had."""
        return self._sign(Ed25519PrivateKey.generate(), self.kid, sub, {})

    def _sign(self, key: Ed25519PrivateKey, kid: str, sub: str, claims: dict[str, object]) -> str:
        now = int(time.time())
        payload = {
            "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": sub, "email": f"{sub}@example.com",
            "name": sub.title(), "iat": now, "nbf": now, "exp": now + 600, "jti": uuid.uuid4().hex,
        } | claims  # fmt: skip
        return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The sidecar's answer to an invocation: identity's key set, else a 404."""
        if (request.headers.get("dapr-app-id"), request.url.path) != (self.app_id, JWKS_PATH):
            return httpx.Response(404, json={"detail": "not found"})
        self.fetches += 1
        if self.down:
            raise httpx.ConnectError("identity is down", request=request)
        return httpx.Response(200, json=self.jwks())


def _jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, object]:
    public = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**public, "kid": kid, "use": "sig", "alg": "EdDSA"}
