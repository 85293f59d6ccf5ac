"""Verifying the access tokens identity issues, against identity's published keys.

`Authenticator.verify` is what a service uses: it fetches the key set by invoking
identity (`fetch_jwks`), keeps the `JwtVerifier` built from it, and fetches again when
identity rotates its key; it returns the token's `Claims` or raises `InvalidToken`
(`JwksError` when there are no keys to verify with).
"""

from shop_auth.authenticator import Authenticator
from shop_auth.jwks import JwksError, fetch_jwks
from shop_auth.verifier import Claims, InvalidToken, JwtVerifier

__all__ = ["Authenticator", "Claims", "InvalidToken", "JwksError", "JwtVerifier", "fetch_jwks"]
