"""Verifying identity's EdDSA access tokens."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
from shop_contracts.identity import JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER

from shop_auth.claims import UNKNOWN_KEY_ID, Claims, InvalidToken
from shop_auth.jwks import JwksError

# Clocks on different hosts disagree a little; a token is not refused for that alone.
DEFAULT_LEEWAY_SECONDS = 30.0
# Far more than any token identity issues: a longer one is refused before it is parsed.
_MAX_TOKEN_LENGTH = 8192
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]

# Defined in claims.py (which needs no PyJWT), named here as the verifier's answers.
__all__ = ["UNKNOWN_KEY_ID", "Claims", "InvalidToken", "JwtVerifier"]


class JwtVerifier:
    def __init__(
        self,
        keys: Mapping[str, jwt.PyJWK],
        *,
        issuer: str = JWT_ISSUER,
        audience: str = JWT_AUDIENCE,
        leeway_seconds: float = DEFAULT_LEEWAY_SECONDS,
    ) -> None:
        self._keys = dict(keys)
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    @classmethod
    def from_jwks(
        cls,
        jwks: Mapping[str, Any],
        *,
        issuer: str = JWT_ISSUER,
        audience: str = JWT_AUDIENCE,
        leeway_seconds: float = DEFAULT_LEEWAY_SECONDS,
    ) -> "JwtVerifier":
        """A verifier trusting the set's Ed25519 signing keys that carry a `kid`; other
        keys are ignored, as RFC 7517 asks of keys a reader does not understand."""
        entries = jwks.get("keys")
        if not isinstance(entries, list):
            raise JwksError("the JWKS has no 'keys' list")
        keys: dict[str, jwt.PyJWK] = {}
        for entry in entries:
            if not _is_eddsa_signing_key(entry):
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=JWT_ALGORITHM)
            except jwt.PyJWTError as exc:
                raise JwksError(f"key '{entry['kid']}' of the JWKS is unusable: {exc}") from None
        if not keys:
            raise JwksError("the JWKS holds no Ed25519 signing key with a 'kid'")
        return cls(keys, issuer=issuer, audience=audience, leeway_seconds=leeway_seconds)

    def verify(self, token: str) -> Claims:
        if len(token) > _MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        # Checked before any key is chosen: a token must not pick its own algorithm
        # (alg "none", or HS256 keyed with our public key: RFC 8725 section 2.1).
        if header.get("alg") != JWT_ALGORITHM:
            raise InvalidToken(f"algorithm not allowed (only {JWT_ALGORITHM})")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id")
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(UNKNOWN_KEY_ID)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[JWT_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(_reason(exc)) from None
        return _claims(payload)


def _is_eddsa_signing_key(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("kty") == "OKP"
        and entry.get("crv") == "Ed25519"
        and isinstance(entry.get("kid"), str)
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", JWT_ALGORITHM) == JWT_ALGORITHM
    )


def _reason(exc: jwt.PyJWTError) -> str:
    # Most specific first: InvalidSignatureError is a DecodeError.
    match exc:
        case jwt.ExpiredSignatureError():
            return "token expired"
        case jwt.ImmatureSignatureError():
            return "token not yet valid"
        case jwt.InvalidAudienceError():
            return "wrong audience"
        case jwt.InvalidIssuerError():
            return "wrong issuer"
        case jwt.InvalidSignatureError():
            return "signature invalid"
        case jwt.MissingRequiredClaimError():
            return f"claim '{exc.claim}' missing"
        case jwt.InvalidAlgorithmError():
            return f"algorithm not allowed (only {JWT_ALGORITHM})"
        case _:
            return "malformed token"


def _claims(payload: dict[str, Any]) -> Claims:
    user_id, email, name, exp = (payload.get(k) for k in ("sub", "email", "name", "exp"))
    if not (isinstance(user_id, str) and isinstance(email, str) and isinstance(name, str)):
        raise InvalidToken("malformed token: 'sub', 'email' and 'name' must be strings")
    # PyJWT accepts any exp that int() takes, a numeric string too; a Claims needs a time.
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise InvalidToken("malformed token: 'exp' must be a number")
    try:
        expires_at = datetime.fromtimestamp(exp, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise InvalidToken("malformed token: 'exp' is out of range") from None
    return Claims(user_id=user_id, email=email, name=name, expires_at=expires_at)
