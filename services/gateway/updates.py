"""Live order statuses at /ws/orders, relayed from notifications.

WebSockets cannot pass through Dapr service invocation, so the gateway connects to the
notifications app itself (NOTIFICATIONS_URL) and relays its messages and its close code
and reason unchanged (services/notifications/api.py has the protocol). The storefront
thus reaches them on its own origin, and the gateway stays the only public entry."""

import asyncio
import logging
from typing import Annotated

import aiohttp
from fastapi import APIRouter, Depends, WebSocket, status
from shop_dapr.app import provided

log = logging.getLogger(__name__)
router = APIRouter()

UNAVAILABLE = "order updates are unavailable: try again shortly"
# Close codes that only report a close and may not be sent in one (RFC 6455, 7.4.1).
_NOT_SENDABLE = {1004, 1005, 1006, 1015}


class OrderUpdatesRelay:
    def __init__(
        self, session: aiohttp.ClientSession, notifications_url: str, timeout: float
    ) -> None:
        self.session = session
        self.url = f"{notifications_url.rstrip('/')}/ws/orders"
        self.timeout = timeout

    async def relay(self, client: WebSocket, token: str) -> None:
        # Accepted first, as notifications does: a refusal after the handshake reaches the
        # client with its code and reason, one before it as a bare HTTP 403.
        await client.accept()
        try:
            async with asyncio.timeout(self.timeout):
                upstream = await self.session.ws_connect(self.url, params={"token": token})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("cannot reach notifications at %s: %r", self.url, exc)
            await client.close(status.WS_1013_TRY_AGAIN_LATER, UNAVAILABLE)
            return
        async with upstream:
            forward = asyncio.create_task(_forward(upstream, client))
            leaving = asyncio.create_task(_until_disconnected(client))
            try:
                await asyncio.wait([forward, leaving], return_when=asyncio.FIRST_COMPLETED)
            finally:
                forward.cancel()
                leaving.cancel()
            for task in (forward, leaving):
                if task.done() and not task.cancelled() and (error := task.exception()):
                    log.info("order updates relay ends: %r", error)  # the client vanished
            if forward.done() and not forward.cancelled() and forward.exception() is None:
                await client.close(*forward.result())


async def _forward(upstream: aiohttp.ClientWebSocketResponse, client: WebSocket) -> tuple[int, str]:
    """Send notifications' messages on until it closes; its close code and reason."""
    while True:
        message = await upstream.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            await client.send_text(message.data)
        elif message.type == aiohttp.WSMsgType.CLOSE:
            code = message.data
            if code in _NOT_SENDABLE or not 1000 <= code < 5000:
                return status.WS_1013_TRY_AGAIN_LATER, UNAVAILABLE
            return code, message.extra or ""
        elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            return status.WS_1013_TRY_AGAIN_LATER, UNAVAILABLE


async def _until_disconnected(client: WebSocket) -> None:
    # What the client sends is ignored (the protocol says so); this notices it leaving.
    while (await client.receive())["type"] != "websocket.disconnect":
        pass


@router.websocket("/ws/orders")
async def order_updates(
    websocket: WebSocket,
    relay: Annotated[OrderUpdatesRelay, Depends(provided(OrderUpdatesRelay))],
    token: str = "",
) -> None:
    """See services/notifications/api.py: `/ws/orders?token=<access token>`."""
    await relay.relay(websocket, token)
