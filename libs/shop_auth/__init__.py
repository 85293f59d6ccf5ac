"""Verifying the access tokens identity issues, against identity's published keys.

`Authenticator.verify` is what a service uses: it fetches the key set by invoking
identity (`fetch_jwks`), keeps the `JwtVerifier` built from it, and fetches again when
identity rotates its key; it returns the token's `Claims` or raises `InvalidToken`
(`JwksError` when there are no keys to verify with).
"""

from typing import TYPE_CHECKING, Any

from shop_auth.authenticator import Authenticator
from shop_auth.claims import Claims, InvalidToken
from shop_auth.jwks import JwksError, fetch_jwks

if TYPE_CHECKING:
    from shop_auth.verifier import JwtVerifier

__all__ = ["Authenticator", "Claims", "InvalidToken", "JwksError", "JwtVerifier", "fetch_jwks"]


def __getattr__(name: str) -> Any:
    # JwtVerifier loads PyJWT (~9 MB): imported when first named, not with the package
    # (see Authenticator._refresh).
    if name == "JwtVerifier":
        from shop_auth.verifier import JwtVerifier

        return JwtVerifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
