"""Test doubles and event builders shared by the notifications tests."""

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
