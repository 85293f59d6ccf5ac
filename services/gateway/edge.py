"""What every request meets first: a body size limit and a per-client rate limit.
Plain ASGI middleware, so an oversize body is refused before the app reads it."""

import math
from collections.abc import Awaitable, Callable

from shop_dapr.asgi import send_json_error
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.domain import RateLimiter


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = f"request body over {self.max_bytes} bytes"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await send_json_error(send, 413, too_big)
            return
        if length is not None:
            await self.app(scope, receive, send)
            return
        # No Content-Length (a chunked body): read it here, up to the limit, then hand
        # the app the buffered body.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                await send_json_error(send, 413, too_big)
                return
            if not message.get("more_body", False):
                break
        buffered: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]

        async def replay() -> Message:
            return buffered.pop() if buffered else await receive()

        await self.app(scope, replay, send)


class RateLimit:
    """One bucket per verified user, so that users behind one address do not share
    one; every other request (no token, or one that does not verify) shares its peer
    address's bucket, so that made-up tokens buy no fresh bucket. `verified_user`
    (gateway.auth) checks the token's signature: that check is paid by every request
    carrying a token, before it is counted, and the route reuses its answer."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        verified_user: Callable[[Scope], Awaitable[str | None]],
        prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.verified_user = verified_user
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        user_id = await self.verified_user(scope)
        wait = self.limiter.take(_client(scope, user_id))
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait))).encode()
            await send_json_error(
                send, 429, "too many requests: slow down", ((b"retry-after", retry_after),)
            )
            return
        await self.app(scope, receive, send)


def _client(scope: Scope, user_id: str | None) -> str:
    """The verified user, else the peer address (as uvicorn reports it: behind a trusted
    proxy, the address it forwards)."""
    if user_id is not None:
        return f"u:{user_id}"
    client = scope.get("client")
    return f"a:{client[0] if client else 'unknown'}"
