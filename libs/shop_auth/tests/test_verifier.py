"""JwtVerifier against tokens made here, with keys generated per test."""

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from shop_contracts.identity import JWT_AUDIENCE, JWT_ISSUER

from shop_auth import Claims, InvalidToken, JwksError, JwtVerifier

KID = "key-1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def jwk(key: Ed25519PrivateKey, kid: str = KID) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(public_raw(key)),
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
    }


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "sub": "u1",
        "email": "ann@example.org",
        "name": "Ann",
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": "j1",
    }
    return {**base, **overrides}


def sign(key: Ed25519PrivateKey, payload: dict[str, Any], kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(payload, key, algorithm="EdDSA", headers=headers)


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    parts = (b64url(json.dumps(part).encode()) for part in (header, payload))
    return ".".join(parts) + "."


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def verifier(key: Ed25519PrivateKey) -> JwtVerifier:
    return JwtVerifier.from_jwks({"keys": [jwk(key)]})


def test_valid_token_gives_its_claims(key: Ed25519PrivateKey, verifier: JwtVerifier) -> None:
    payload = claims()
    assert verifier.verify(sign(key, payload)) == Claims(
        user_id="u1",
        email="ann@example.org",
        name="Ann",
        expires_at=datetime.fromtimestamp(payload["exp"], tz=UTC),
    )


def test_small_clock_skew_is_tolerated(key: Ed25519PrivateKey, verifier: JwtVerifier) -> None:
    now = int(time.time())
    token = sign(key, claims(iat=now + 10, nbf=now + 10, exp=now - 10))
    assert verifier.verify(token).user_id == "u1"


def refused(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert not token or token not in str(caught.value)
    return caught.value.reason


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "token expired"),
        ({"nbf": int(time.time()) + 120}, "token not yet valid"),
        ({"aud": "someone-else"}, "wrong audience"),
        ({"iss": "evil-identity"}, "wrong issuer"),
        ({"jti": None}, "claim 'jti' missing"),
    ],
)
def test_bad_claims_are_refused(
    key: Ed25519PrivateKey, verifier: JwtVerifier, overrides: dict[str, Any], reason: str
) -> None:
    payload = {k: v for k, v in claims(**overrides).items() if v is not None}
    assert refused(verifier, sign(key, payload)) == reason


def test_signature_by_another_key_is_refused(verifier: JwtVerifier) -> None:
    forger = Ed25519PrivateKey.generate()
    assert refused(verifier, sign(forger, claims())) == "signature invalid"


def test_tampered_payload_is_refused(key: Ed25519PrivateKey, verifier: JwtVerifier) -> None:
    header, _, signature = sign(key, claims()).split(".")
    payload = b64url(json.dumps(claims(sub="admin")).encode())
    assert refused(verifier, f"{header}.{payload}.{signature}") == "signature invalid"


def test_unknown_key_id_is_refused(key: Ed25519PrivateKey, verifier: JwtVerifier) -> None:
    assert refused(verifier, sign(key, claims(), kid="key-2")) == "unknown key id"


def test_token_without_key_id_is_refused(key: Ed25519PrivateKey, verifier: JwtVerifier) -> None:
    assert refused(verifier, sign(key, claims(), kid=None)) == "token has no key id"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(verifier: JwtVerifier, alg: str) -> None:
    token = unsigned({"alg": alg, "typ": "JWT", "kid": KID}, claims())
    assert refused(verifier, token) == "algorithm not allowed (only EdDSA)"


def test_hs256_keyed_with_the_public_key_is_refused(
    key: Ed25519PrivateKey, verifier: JwtVerifier
) -> None:
    # The classic confusion attack: the public key, known to all, used as an HMAC secret.
    token = jwt.encode(claims(), public_raw(key), algorithm="HS256", headers={"kid": KID})
    assert refused(verifier, token) == "algorithm not allowed (only EdDSA)"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b", "ü.ö.ä", "x" * 10_000])
def test_garbage_is_a_malformed_token(verifier: JwtVerifier, token: str) -> None:
    assert refused(verifier, token) == "malformed token"


def test_non_string_identity_claims_are_refused(
    key: Ed25519PrivateKey, verifier: JwtVerifier
) -> None:
    reason = refused(verifier, sign(key, claims(email=["a", "b"])))
    assert reason.startswith("malformed token")


def test_keys_the_verifier_cannot_use_are_skipped(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    jwks = {
        "keys": [
            {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
            {**jwk(other, kid="enc"), "use": "enc"},
            {k: v for k, v in jwk(other, kid="x").items() if k != "kid"},
            jwk(key),
        ]
    }
    verifier = JwtVerifier.from_jwks(jwks)
    assert verifier.verify(sign(key, claims())).user_id == "u1"
    assert refused(verifier, sign(other, claims(), kid="enc")) == "unknown key id"


@pytest.mark.parametrize(
    "jwks",
    [
        {},
        {"keys": "nope"},
        {"keys": []},
        {"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "too-short"}]},
    ],
)
def test_unusable_jwks_is_refused(jwks: dict[str, Any]) -> None:
    with pytest.raises(JwksError):
        JwtVerifier.from_jwks(jwks)
