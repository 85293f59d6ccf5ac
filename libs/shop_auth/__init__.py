"""Verifying the access tokens identity issues, against identity's published keys.

`fetch_jwks` gets the key set through the caller's sidecar; `JwtVerifier.from_jwks`
builds a verifier from it; `verify` returns the token's `Claims` or raises `InvalidToken`.
"""

from shop_auth.jwks import JwksError, fetch_jwks
from shop_auth.verifier import Claims, InvalidToken, JwtVerifier

__all__ = ["Claims", "InvalidToken", "JwksError", "JwtVerifier", "fetch_jwks"]
