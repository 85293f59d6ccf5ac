"""The live status WebSocket in-process, driven by the topic handlers."""

from collections.abc import Iterator
from functools import partial

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shop_auth import Authenticator
from shop_auth.testing import FakeIdentity
from shop_dapr.app import provided_by
from shop_dapr.testing import fake_dapr, serving
from starlette.websockets import WebSocketDisconnect

from notifications.main import create_app
from notifications.service import StatusHub
from notifications.settings import Settings
from notifications.tests.fakes import IDENTITY, Loopback, order_created, status_changed

CREATED = "/events/orders/order-created"
CHANGED = "/events/orders/order-status-changed"
ADA = f"/ws/orders?token={IDENTITY.token('ada')}"


def looped_app(identity: FakeIdentity = IDENTITY, loopback: Loopback | None = None) -> FastAPI:
    """An instance of notifications, subscribed to `loopback` (its own if none): what
    any instance on it broadcasts reaches this one's clients."""
    loopback = loopback or Loopback()
    app = create_app(Settings(), fake_dapr(sidecar=identity.handle, broadcaster=loopback))
    loopback.apps.append(app)
    return app


@pytest.fixture
def app() -> FastAPI:
    return looped_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def update(order_id: str, status: str) -> dict[str, object]:
    return {"order_id": order_id, "status": status, "total_cents": 2905, "currency": "EUR"}


def test_client_gets_its_own_orders_statuses_in_order(client: TestClient) -> None:
    with client.websocket_connect(ADA) as ws:
        # Another user's events come first: were they delivered, they would be read first.
        client.post(CREATED, json=order_created("o-2", user_id="bob"))
        client.post(CHANGED, json=status_changed("paid", "o-2", user_id="bob"))
        client.post(CREATED, json=order_created("o-1", user_id="ada"))
        client.post(CHANGED, json=status_changed("paid", "o-1", user_id="ada"))
        client.post(CREATED, json=order_created("o-3", user_id="ada"))
        client.post(CHANGED, json=status_changed("cancelled", "o-3", user_id="ada"))

        received = [ws.receive_json() for _ in range(4)]

    assert received == [
        update("o-1", "pending"),
        update("o-1", "paid"),
        update("o-3", "pending"),
        update("o-3", "cancelled"),
    ]


def test_a_pending_that_arrives_after_the_payment_is_not_pushed(client: TestClient) -> None:
    # Two topics, no order between them: the broker may deliver `paid` first.
    with client.websocket_connect(ADA) as ws:
        client.post(CHANGED, json=status_changed("paid", "o-1", user_id="ada"))
        client.post(CREATED, json=order_created("o-1", user_id="ada"))
        client.post(CREATED, json=order_created("o-2", user_id="ada"))

        received = [ws.receive_json() for _ in range(2)]

    assert received == [update("o-1", "paid"), update("o-2", "pending")]


def test_shipped_and_delivered_are_pushed_with_the_tracking_number(client: TestClient) -> None:
    with client.websocket_connect(ADA) as ws:
        client.post(CHANGED, json=status_changed("paid", "o-1", user_id="ada"))
        client.post(CHANGED, json=status_changed("shipped", "o-1", user_id="ada"))
        client.post(CHANGED, json=status_changed("delivered", "o-1", user_id="ada"))

        received = [ws.receive_json() for _ in range(3)]

    assert received == [
        update("o-1", "paid"),
        {**update("o-1", "shipped"), "tracking_number": "SHP-0001"},
        {**update("o-1", "delivered"), "tracking_number": "SHP-0001"},
    ]


def test_a_status_overtaken_by_a_later_one_is_not_pushed(client: TestClient) -> None:
    """delivered before shipped, or a repeated shipped after delivered: the client
    already has the newer status."""
    with client.websocket_connect(ADA) as ws:
        client.post(CHANGED, json=status_changed("delivered", "o-1", user_id="ada"))
        client.post(CHANGED, json=status_changed("shipped", "o-1", user_id="ada"))
        client.post(CHANGED, json=status_changed("paid", "o-1", user_id="ada"))
        client.post(CREATED, json=order_created("o-1", user_id="ada"))
        client.post(CHANGED, json=status_changed("delivered", "o-1", user_id="ada"))
        client.post(CHANGED, json=status_changed("shipped", "o-2", user_id="ada"))

        received = [ws.receive_json() for _ in range(3)]

    assert [(m["order_id"], m["status"]) for m in received] == [
        ("o-1", "delivered"),
        ("o-1", "delivered"),  # a repeat of the same status is harmless, and pushed
        ("o-2", "shipped"),
    ]


def test_every_socket_of_the_user_gets_the_update(client: TestClient) -> None:
    with (
        client.websocket_connect(ADA) as phone,
        client.websocket_connect(ADA) as laptop,
    ):
        client.post(CREATED, json=order_created("o-1", user_id="ada"))

        assert phone.receive_json() == laptop.receive_json() == update("o-1", "pending")


def test_closed_socket_leaves_the_registry_and_others_still_get_updates(
    app: FastAPI, client: TestClient
) -> None:
    hub = provided_by(app, StatusHub)
    with client.websocket_connect(ADA) as staying:
        with client.websocket_connect(ADA):
            assert hub.connections("ada") == 2
        assert hub.connections("ada") == 1

        response = client.post(CREATED, json=order_created("o-1", user_id="ada"))

        assert response.json() == {"status": "SUCCESS"}
        assert staying.receive_json() == update("o-1", "pending")
    assert hub.connections("ada") == 0


def test_events_without_listeners_still_succeed(client: TestClient) -> None:
    response = client.post(CHANGED, json=status_changed("cancelled"))

    assert response.json() == {"status": "SUCCESS"}


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "missing token"),
        ("?token=", "missing token"),
        (f"?token={IDENTITY.forged()}", "invalid token: signature invalid"),
        ("?token=forged", "invalid token: malformed token"),
    ],
)
def test_bad_token_closes_with_policy_violation(
    client: TestClient, query: str, reason: str
) -> None:
    with (
        client.websocket_connect(f"/ws/orders{query}") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()

    assert closed.value.code == 1008
    assert closed.value.reason.startswith(reason)


def test_keys_rotated_by_identity_are_fetched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Authenticator, "MIN_REFRESH_INTERVAL_SECONDS", 0.0)
    identity = FakeIdentity()
    old = identity.token("ada")
    with TestClient(looped_app(identity)) as client:
        with client.websocket_connect(f"/ws/orders?token={old}") as first:
            client.post(CREATED, json=order_created("o-1", user_id="ada"))
            assert first.receive_json() == update("o-1", "pending")
        identity.rotate("k2")
        with (
            client.websocket_connect(f"/ws/orders?token={identity.token('ada')}") as new,
            client.websocket_connect(f"/ws/orders?token={old}") as still,
        ):
            client.post(CREATED, json=order_created("o-2", user_id="ada"))

            assert new.receive_json() == still.receive_json() == update("o-2", "pending")
    assert identity.fetches == 2


def test_unavailable_keys_close_with_try_again_later() -> None:
    identity = FakeIdentity()
    identity.down = True
    with (
        TestClient(looped_app(identity)) as client,
        client.websocket_connect(f"/ws/orders?token={identity.token()}") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()

    assert closed.value.code == 1013
    assert closed.value.reason.startswith("identity's keys are unavailable")


def test_a_client_of_one_instance_gets_what_another_instance_received() -> None:
    # Two instances: the order events go to one of them (their consumer group), the
    # buyer's socket is on the other. Both run on the second's event loop, as two
    # processes each run on their own: one loop, never a queue touched from two.
    loopback = Loopback()
    receiver, other = looped_app(loopback=loopback), looped_app(loopback=loopback)
    with TestClient(other) as client:
        portal = client.portal
        assert portal is not None  # set while the client is open
        with (
            portal.wrap_async_context_manager(serving(receiver)) as receiving,
            client.websocket_connect(ADA) as ws,
        ):
            for path, event in [
                (CREATED, order_created("o-1", user_id="ada")),
                (CHANGED, status_changed("paid", "o-1", user_id="ada")),
            ]:
                reply = portal.call(partial(receiving.post, path, json=event))
                assert reply.json() == {"status": "SUCCESS"}
            received = [ws.receive_json() for _ in range(2)]
    assert received == [update("o-1", "pending"), update("o-1", "paid")]
