"""Verifying callers' tokens in a service, with identity's keys kept between requests."""

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shop_dapr.invoke import Invoker

from shop_auth.claims import UNKNOWN_KEY_ID, Claims, InvalidToken
from shop_auth.jwks import fetch_jwks

if TYPE_CHECKING:
    from shop_auth.verifier import JwtVerifier


class Authenticator:
    """Verifies identity's access tokens against its published keys. The keys are fetched
    on first use, not at start-up (identity may start after the service), then kept; a
    failed fetch is not kept, so the next token tries again. A token naming a key id the
    kept keys lack makes it fetch them again (identity has rotated its signing key)."""

    # Forged tokens naming made-up key ids must not turn into a flood of JWKS fetches.
    MIN_REFRESH_INTERVAL_SECONDS = 30.0

    def __init__(
        self,
        invoker: Invoker,
        identity_app_id: str = "identity",
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._invoker = invoker
        self._identity = identity_app_id
        self._clock = clock
        self._verifier: JwtVerifier | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Claims:
        """The token's claims; raises InvalidToken, or JwksError when identity's keys
        cannot be had."""
        verifier = self._verifier or await self._refresh(None)
        try:
            return verifier.verify(token)
        except InvalidToken as exc:
            recently = self._clock() - self._fetched_at < self.MIN_REFRESH_INTERVAL_SECONDS
            if exc.reason != UNKNOWN_KEY_ID or recently:
                raise
        return (await self._refresh(verifier)).verify(token)

    async def _refresh(self, stale: "JwtVerifier | None") -> "JwtVerifier":
        # Under the lock, and only if nobody replaced `stale` meanwhile: the requests that
        # waited for one fetch use its keys instead of fetching again each.
        async with self._lock:
            if self._verifier is None or self._verifier is stale:
                # Imported with the first key set, not at start: PyJWT and the parts of
                # cryptography it loads hold ~9 MB, which a process that has verified no
                # token yet (an idle gateway) does without; the first token pays 0.1-0.3 s.
                from shop_auth.verifier import JwtVerifier

                jwks = await fetch_jwks(self._invoker, self._identity)
                self._verifier = JwtVerifier.from_jwks(jwks)
                self._fetched_at = self._clock()
            return self._verifier
