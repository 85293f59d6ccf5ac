"""/ws/orders relayed to a real WebSocket server playing notifications (uvicorn in a
thread), through the gateway in Starlette's test client."""

import socket
from collections.abc import Iterator
from typing import cast

import aiohttp
import pytest
from fastapi.testclient import TestClient
from shop_dapr.testing import fake_dapr, served_on_a_port
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.main import create_app
from gateway.settings import Settings
from gateway.updates import UNAVAILABLE, _forward

UPDATES = ['{"order_id":"o1","status":"pending"}', '{"order_id":"o1","status":"paid"}']


async def notifications(websocket: WebSocket) -> None:
    await websocket.accept()
    if websocket.query_params.get("token") != "good":
        await websocket.close(1008, "invalid token: signature invalid")
        return
    for update in UPDATES:
        await websocket.send_text(update)
    await websocket.receive()  # until the gateway leaves


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    app = Starlette(routes=[WebSocketRoute("/ws/orders", notifications)])
    with served_on_a_port(app) as url:
        yield url


def gateway(notifications_url: str) -> TestClient:
    settings = Settings(notifications_url=notifications_url, ws_connect_timeout_seconds=2)
    return TestClient(create_app(settings, dapr=fake_dapr()))


def test_updates_are_relayed_in_order(upstream: str) -> None:
    with gateway(upstream) as client, client.websocket_connect("/ws/orders?token=good") as ws:
        assert [ws.receive_text(), ws.receive_text()] == UPDATES


def test_a_refused_token_closes_with_notifications_code_and_reason(upstream: str) -> None:
    with (
        gateway(upstream) as client,
        client.websocket_connect("/ws/orders?token=bad") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert closed.value.code == 1008
    assert closed.value.reason == "invalid token: signature invalid"


def test_notifications_unreachable_closes_with_try_again_later() -> None:
    with (
        gateway(f"http://127.0.0.1:{free_port()}") as client,
        client.websocket_connect("/ws/orders?token=good") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert closed.value.code == 1013
    assert closed.value.reason == UNAVAILABLE


class ClosingWithout:
    """An upstream whose close frame carries a code that may not be sent on."""

    def __init__(self, code: int) -> None:
        self.code = code

    async def receive(self) -> aiohttp.WSMessage:
        return aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, self.code, "")


@pytest.mark.parametrize("code", [1005, 1006, 999])
async def test_a_close_code_that_cannot_be_sent_on_becomes_try_again_later(code: int) -> None:
    upstream = cast(aiohttp.ClientWebSocketResponse, ClosingWithout(code))
    assert await _forward(upstream, cast(WebSocket, None)) == (1013, UNAVAILABLE)
