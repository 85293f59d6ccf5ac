"""Users, credentials rules and token signing: identity's rules, free of I/O."""

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from pydantic import BaseModel
from shop_contracts.identity import JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, Profile


class User(Profile):
    """The stored record."""

    password_hash: str

    def profile(self) -> Profile:
        return Profile(user_id=self.user_id, email=self.email, name=self.name)


class EmailOwner(BaseModel):
    """The email index's record: who holds an address (one record an address, written
    create-only, so that of two registrations of one address exactly one wins)."""

    user_id: str


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the key's required members (for OKP: crv, kty, x), in
    lexicographic order and without whitespace. Stable for a key, so it makes a kid that
    changes exactly when the key does."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


class InvalidSigningKey(ValueError):
    pass


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    kid: str

    @classmethod
    def from_pem(cls, pem: str) -> "SigningKey":
        try:
            key = load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # The message says what is wrong, never what the secret holds.
            raise InvalidSigningKey(f"not an unencrypted PKCS8 PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidSigningKey(f"an Ed25519 key is needed, not {type(key).__name__}")
        return cls(private_key=key, kid=jwk_thumbprint(_public_jwk(key)))

    def public_jwk(self) -> dict[str, str]:
        return {
            **_public_jwk(self.private_key),
            "kid": self.kid,
            "use": "sig",
            "alg": JWT_ALGORITHM,
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm=JWT_ALGORITHM, headers={"kid": self.kid}
        )


def _public_jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def access_token_claims(
    profile: Profile, *, now: int, ttl_seconds: int, jti: str
) -> dict[str, Any]:
    return {
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "sub": profile.user_id,
        "email": profile.email,
        "name": profile.name,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": jti,
    }
