"""Test doubles and event builders shared by the notifications tests."""

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from shop_auth.testing import FakeIdentity

# Signs the clients' tokens and serves its keys through the fake sidecar.
IDENTITY = FakeIdentity()


LINES = [
    {"product_id": "mug", "name": "Mug", "quantity": 2, "unit_price_cents": 1250},
    {"product_id": "tea", "name": "Tea", "quantity": 1, "unit_price_cents": 405},
]


def cloud_event(data: dict[str, object], event_type: str, event_id: str) -> dict[str, object]:
    return {
        "id": event_id,
        "source": "orders",
        "type": event_type,
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "data": data,
    }


def order_created(order_id: str = "o-1", user_id: str = "ada") -> dict[str, object]:
    data: dict[str, object] = {
        "order_id": order_id,
        "user_id": user_id,
        "email": f"{user_id}@example.com",
        "lines": LINES,
        "total_cents": 2905,
        "currency": "EUR",
        "payment_token": "4242424242424242",
        "created_at": "2025-01-01T12:00:00Z",
    }
    return cloud_event(data, "shop.orders.order-created.v1", f"created-{order_id}")


def status_changed(
    status: str,
    order_id: str = "o-1",
    user_id: str = "ada",
    email: str | None = None,
    tracking_number: str | None = None,
) -> dict[str, object]:
    """As orders announces a status; shipped and delivered carry a tracking number
    (SHP-0001 unless given)."""
    if tracking_number is None and status in ("shipped", "delivered"):
        tracking_number = "SHP-0001"
    data: dict[str, object] = {
        "order_id": order_id,
        "user_id": user_id,
        "email": email or f"{user_id}@example.com",
        "status": status,
        "total_cents": 2905,
        "currency": "EUR",
        "lines": LINES,
        "tracking_number": tracking_number,
    }
    return cloud_event(data, "shop.orders.order-status-changed.v1", f"{status}-{order_id}")


class Loopback:
    """The `broadcast` component: what an instance broadcasts comes back to the event
    route of every instance in `apps` (this one included), as their sidecars would
    deliver it. Add the apps once they are made."""

    def __init__(self) -> None:
        self.apps: list[FastAPI] = []
        self.published: list[tuple[str, BaseModel]] = []

    async def publish(
        self, topic: str, event_type: str, payload: BaseModel, event_id: str | None = None
    ) -> None:
        assert self.apps, "no app subscribed: add it to Loopback.apps"
        self.published.append((topic, payload))
        event = cloud_event(payload.model_dump(mode="json"), event_type, f"e{len(self.published)}")
        for app in self.apps:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                reply = await client.post(f"/events/{topic.replace('.', '/')}", json=event)
            assert reply.json() == {"status": "SUCCESS"}, reply.text
