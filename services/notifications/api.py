"""The live order status WebSocket.

Connect to `/ws/orders?token=<identity access token>`. The server then sends one JSON
text message for each status change of any of that user's orders:
`{"order_id": ..., "status": ..., "total_cents": ..., "currency": ...}`, `pending` when
the order is created, then `paid` or `cancelled`, then `shipped` and `delivered` (these
two with `"tracking_number": ...`). A status never goes back: when the broker delivers
`paid` before `pending` (they come by two topics), or `delivered` before `shipped`, the
older one is not sent.
What the client sends is ignored.
A missing or invalid token closes the socket with code 1008 (policy violation);
identity's keys being unavailable closes it with 1013 (try again later). The close
reason says which.
"""

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, WebSocket, status
from shop_auth import Authenticator, InvalidToken, JwksError
from shop_dapr.app import provided

from notifications.service import NotificationService, StatusHub
from notifications.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter()

ServiceDep = Annotated[NotificationService, Depends(provided(NotificationService))]


@router.websocket("/ws/orders")
async def order_updates(
    websocket: WebSocket,
    authenticator: Annotated[Authenticator, Depends(provided(Authenticator))],
    hub: Annotated[StatusHub, Depends(provided(StatusHub))],
    settings: Annotated[Settings, Depends(provided(Settings))],
    token: str = "",
) -> None:
    # Accepted before the token is checked: a refusal before the handshake reaches the
    # client as a bare HTTP 403, while after it the client can read the code and reason.
    await websocket.accept()
    if not token:
        await websocket.close(
            status.WS_1008_POLICY_VIOLATION, "missing token: connect to /ws/orders?token=<jwt>"
        )
        return
    try:
        user_id = (await authenticator.verify(token)).user_id
    except InvalidToken as exc:
        await websocket.close(status.WS_1008_POLICY_VIOLATION, f"invalid token: {exc.reason}")
        return
    except JwksError as exc:
        log.warning("cannot verify WebSocket tokens: %s", exc)
        await websocket.close(
            status.WS_1013_TRY_AGAIN_LATER, "identity's keys are unavailable: try again shortly"
        )
        return
    with hub.connect(user_id) as updates:
        await _relay(websocket, updates, settings.ws_send_timeout_seconds)


async def _relay(websocket: WebSocket, updates: asyncio.Queue[str], send_timeout: float) -> None:
    """Send the queued updates until the client leaves or stops reading them."""
    sender = asyncio.create_task(_send(websocket, updates, send_timeout))
    listener = asyncio.create_task(_until_disconnected(websocket))
    try:
        done, _ = await asyncio.wait([sender, listener], return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Not awaited: they hold nothing to clean up, and awaiting them while this task is
        # itself being cancelled (at shutdown) can turn that cancellation into an error.
        sender.cancel()
        listener.cancel()
    for task in done:
        if (error := task.exception()) is not None:
            # A client that vanished or stalled; the server closes the connection.
            log.info("order updates socket ends: %r", error)


async def _send(websocket: WebSocket, updates: asyncio.Queue[str], send_timeout: float) -> None:
    while True:
        message = await updates.get()
        async with asyncio.timeout(send_timeout):
            await websocket.send_text(message)


async def _until_disconnected(websocket: WebSocket) -> None:
    # Clients send nothing we need, but reading is how their leaving is noticed.
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
