"""Topic handlers in-process: the receipt, its idempotency, and the replies to the sidecar."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from shop_dapr.app import Dapr
from shop_dapr.bindings import MailNotSent
from shop_dapr.testing import (
    InMemoryMailSender,
    InMemoryPublisher,
    InMemoryStateStore,
    Mail,
    fake_dapr,
    serving,
)

from notifications.main import create_app
from notifications.settings import Settings
from notifications.tests.fakes import order_created, status_changed

CREATED = "/events/orders/order-created"
CHANGED = "/events/orders/order-status-changed"


class BrokenMailSender:
    async def send(self, to: str, subject: str, body: str) -> None:
        raise MailNotSent("binding 'smtp' did not send the mail: connection refused")


async def serve(dapr: Dapr) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(), dapr)
    async with serving(app) as c:
        yield c


@pytest.fixture
async def client(
    state: InMemoryStateStore, mail: InMemoryMailSender
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in serve(fake_dapr(state=state, mail=mail)):
        yield c


async def test_paid_sends_one_receipt_to_the_orders_address(
    client: httpx.AsyncClient, mail: InMemoryMailSender
) -> None:
    response = await client.post(CHANGED, json=status_changed("paid"))

    assert response.json() == {"status": "SUCCESS"}
    assert mail.sent == [
        Mail(
            to="ada@example.com",
            subject="Your receipt for order o-1",
            body="Thank you for your order o-1. It is paid.\n\n"
            "Mug: 2 x 12.50 EUR = 25.00 EUR\n"
            "Tea: 1 x 4.05 EUR = 4.05 EUR\n\n"
            "Total: 29.05 EUR\n",
        )
    ]


async def test_redelivered_paid_event_sends_no_second_receipt(
    client: httpx.AsyncClient, mail: InMemoryMailSender, state: InMemoryStateStore
) -> None:
    first = await client.post(CHANGED, json=status_changed("paid"))
    again = await client.post(CHANGED, json=status_changed("paid"))

    assert first.json() == again.json() == {"status": "SUCCESS"}
    assert len(mail.sent) == 1
    assert "receipt:o-1" in state.entries
    assert json.loads(state.entries["receipt:o-1"].value) == {"event_id": "paid-o-1"}


async def test_mail_failure_asks_for_redelivery_and_leaves_no_marker(
    state: InMemoryStateStore,
) -> None:
    async for client in serve(fake_dapr(state=state, mail=BrokenMailSender())):
        response = await client.post(CHANGED, json=status_changed("paid"))

    assert response.json() == {"status": "RETRY"}
    assert state.entries == {}


async def test_receipt_is_sent_on_the_redelivery_after_a_failure(
    state: InMemoryStateStore, mail: InMemoryMailSender
) -> None:
    async for client in serve(fake_dapr(state=state, mail=BrokenMailSender())):
        await client.post(CHANGED, json=status_changed("paid"))
    async for client in serve(fake_dapr(state=state, mail=mail)):
        response = await client.post(CHANGED, json=status_changed("paid"))

    assert response.json() == {"status": "SUCCESS"}
    assert [m.subject for m in mail.sent] == ["Your receipt for order o-1"]


@pytest.mark.parametrize("status", ["pending", "cancelled", "delivered"])
async def test_only_payment_sends_a_receipt(
    client: httpx.AsyncClient, mail: InMemoryMailSender, status: str
) -> None:
    response = await client.post(CHANGED, json=status_changed(status))

    assert response.json() == {"status": "SUCCESS"}
    assert mail.sent == []


async def test_order_created_sends_no_mail(
    client: httpx.AsyncClient, mail: InMemoryMailSender
) -> None:
    response = await client.post(CREATED, json=order_created())

    assert response.json() == {"status": "SUCCESS"}
    assert mail.sent == []


@pytest.mark.parametrize("email", ["not-an-address", "a@b.c\r\nBcc: x@evil.example", "a@b;c@d"])
async def test_unmailable_address_is_dropped_unsent(
    client: httpx.AsyncClient, mail: InMemoryMailSender, email: str
) -> None:
    response = await client.post(CHANGED, json=status_changed("paid", email=email))

    assert response.json() == {"status": "DROP"}
    assert mail.sent == []


MALFORMED: list[object] = [
    None,
    "not an object",
    {"id": "e1", "source": "orders", "type": "t", "specversion": "1.0"},
    {**status_changed("paid"), "data": {"order_id": "o-1"}},
    {**status_changed("paid"), "id": ""},
    {**status_changed("refunded")},
]


@pytest.mark.parametrize("route", [CREATED, CHANGED])
@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_event_is_dropped_never_a_422(
    client: httpx.AsyncClient, mail: InMemoryMailSender, route: str, body: object
) -> None:
    response = await client.post(route, json=body)

    assert response.status_code == 200
    assert response.json() == {"status": "DROP"}
    assert mail.sent == []


@pytest.mark.parametrize("route", [CREATED, CHANGED])
async def test_body_that_is_not_json_is_dropped(client: httpx.AsyncClient, route: str) -> None:
    response = await client.post(
        route, content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 200
    assert response.json() == {"status": "DROP"}


# --- shipped: "on its way", once -------------------------------------------------------


async def test_shipped_sends_one_on_its_way_mail_with_the_tracking_number(
    client: httpx.AsyncClient, mail: InMemoryMailSender, state: InMemoryStateStore
) -> None:
    event = status_changed("shipped", tracking_number="SHP-0042")
    first = await client.post(CHANGED, json=event)
    again = await client.post(CHANGED, json=event)  # redelivered

    assert first.json() == again.json() == {"status": "SUCCESS"}
    [sent] = mail.sent
    assert (sent.to, sent.subject) == ("ada@example.com", "Your order o-1 is on its way")
    assert "Tracking number: SHP-0042" in sent.body
    assert json.loads(state.entries["on-its-way:o-1"].value) == {"event_id": "shipped-o-1"}


async def test_receipt_and_on_its_way_are_each_sent_once(
    client: httpx.AsyncClient, mail: InMemoryMailSender
) -> None:
    for status in ("paid", "shipped", "paid", "delivered", "shipped", "delivered"):
        response = await client.post(CHANGED, json=status_changed(status))
        assert response.json() == {"status": "SUCCESS"}

    assert [m.subject for m in mail.sent] == [
        "Your receipt for order o-1",
        "Your order o-1 is on its way",
    ]


async def test_on_its_way_is_sent_on_the_redelivery_after_a_failure(
    state: InMemoryStateStore, mail: InMemoryMailSender
) -> None:
    async for client in serve(fake_dapr(state=state, mail=BrokenMailSender())):
        failed = await client.post(CHANGED, json=status_changed("shipped"))
    assert failed.json() == {"status": "RETRY"}
    assert state.entries == {}
    async for client in serve(fake_dapr(state=state, mail=mail)):
        response = await client.post(CHANGED, json=status_changed("shipped"))

    assert response.json() == {"status": "SUCCESS"}
    assert [m.subject for m in mail.sent] == ["Your order o-1 is on its way"]


async def test_on_its_way_to_an_unmailable_address_is_dropped(
    client: httpx.AsyncClient, mail: InMemoryMailSender
) -> None:
    response = await client.post(CHANGED, json=status_changed("shipped", email="nope"))

    assert response.json() == {"status": "DROP"}
    assert mail.sent == []


async def test_a_status_the_broker_cannot_take_is_retried_before_any_mail(
    state: InMemoryStateStore, mail: InMemoryMailSender
) -> None:
    # The live feeds hear of it by the broadcast: without it, the event is redelivered,
    # and the receipt goes out then (the status first, then the mail).
    broadcaster = InMemoryPublisher(failure=RuntimeError("broker down"))
    async for client in serve(fake_dapr(state=state, mail=mail, broadcaster=broadcaster)):
        response = await client.post(CHANGED, json=status_changed("paid"))
        assert response.json() == {"status": "RETRY"}
        assert mail.sent == []
        broadcaster.failure = None
        again = await client.post(CHANGED, json=status_changed("paid"))
        assert again.json() == {"status": "SUCCESS"}
        assert [topic for topic, _, _ in broadcaster.published] == ["notifications.order-update"]
        assert len(mail.sent) == 1
