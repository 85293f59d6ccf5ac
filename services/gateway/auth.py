"""Who is calling: the bearer JWT, verified against identity's published keys."""

import asyncio
import time
from typing import Annotated

import httpx
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from shop_auth import Claims, InvalidToken, JwksError, JwtVerifier, fetch_jwks

_bearer = HTTPBearer(auto_error=False, description="an access token from /api/v1/auth/token")


class Authenticator:
    """Fetches identity's key set on first use (identity may start after the gateway)
    and again when a token names a key it does not know (key rotation)."""

    # Forged tokens naming made-up key ids must not turn into a flood of JWKS fetches.
    MIN_REFRESH_INTERVAL_SECONDS = 30.0

    def __init__(self, sidecar: httpx.AsyncClient, identity_app_id: str) -> None:
        self._sidecar = sidecar
        self._identity = identity_app_id
        self._verifier: JwtVerifier | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Claims:
        verifier = self._verifier or await self._refresh(None)
        try:
            return verifier.verify(token)
        except InvalidToken as exc:
            recently = time.monotonic() - self._fetched_at < self.MIN_REFRESH_INTERVAL_SECONDS
            if exc.reason != "unknown key id" or recently:
                raise
        return (await self._refresh(verifier)).verify(token)

    async def _refresh(self, stale: JwtVerifier | None) -> JwtVerifier:
        async with self._lock:
            if self._verifier is None or self._verifier is stale:
                jwks = await fetch_jwks(self._sidecar, self._identity)
                self._verifier = JwtVerifier.from_jwks(jwks)
                self._fetched_at = time.monotonic()
            return self._verifier


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Claims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token: log in at /api/v1/auth/token")
    authenticator: Authenticator = request.app.state.authenticator
    try:
        return await authenticator.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(f"invalid token: {exc.reason}") from None
    except JwksError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot verify tokens now: {exc}"
        ) from None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


CurrentUser = Annotated[Claims, Depends(current_user)]
