"""Shipping, the Go service, in the real shop: a paid order is shipped and delivered
through the gateway, with a tracking number that shipping vouches for and an e-mail to
the buyer; an order that was not paid is never shipped, whatever is published."""

import uuid
from typing import Any

import httpx
import pytest

from tests.system.deadletters import dead_letters
from tests.system.launcher import Sidecar
from tests.system.shopper import DECLINED, Shopper, StatusFeed, eventually

pytestmark = pytest.mark.system


def shipment(shipping: Sidecar, order_id: str) -> httpx.Response:
    """Shipping's own answer, from its app (as its sidecar would ask it)."""
    return httpx.get(
        f"{shipping.app_url}/shipments/{order_id}",
        headers={"dapr-api-token": shipping.app_token},
        timeout=10,
    )


def test_a_paid_order_is_shipped_then_delivered_with_its_tracking_number(
    checkout_style: str, shopper: Shopper, product: str, shop: dict[str, Sidecar]
) -> None:
    assert shopper.put_in_cart(product, 2).status_code == 200
    feed = StatusFeed(shop["gateway"], shopper.token)
    try:
        placed = shopper.check_out()
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]

        shipped = shopper.order_when(order_id, "shipped")
        tracking = shipped["shipment"]["tracking_number"]
        assert tracking.startswith("SHP-"), shipped
        delivered = shopper.order_when(order_id, "delivered")
        assert delivered["shipment"]["tracking_number"] == tracking
        assert delivered["payment"]["status"] == "succeeded"

        # What orders shows is what shipping recorded.
        record = shipment(shop["shipping"], order_id)
        assert record.status_code == 200, record.text
        assert (record.json()["status"], record.json()["tracking_number"]) == (
            "delivered",
            tracking,
        )
        eventually(
            lambda: feed.statuses(order_id)[-2:] == ["shipped", "delivered"],
            f"shipped and delivered pushed live (so far {feed.statuses(order_id)})",
        )
    finally:
        feed.close()

    def on_its_way() -> list[Any]:
        return [m for m in shopper.mails() if "on its way" in str(m["Subject"])]

    [mail] = eventually(on_its_way, "the 'on its way' e-mail at the SMTP sink")
    assert order_id in mail["Subject"]
    assert tracking in mail.get_content()


def test_an_order_not_paid_is_never_shipped_whatever_is_published(
    shopper: Shopper, product: str, shop: dict[str, Sidecar]
) -> None:
    shopper.put_in_cart(product, 1)
    placed = shopper.check_out(card=DECLINED)
    order_id = placed.json()["order_id"]
    cancelled = shopper.order_when(order_id, "cancelled")

    forged_paid = {
        **{k: cancelled[k] for k in ("order_id", "user_id", "lines", "total_cents", "currency")},
        "email": shopper.email,
        "status": "paid",
    }
    malformed = {"order_id": order_id, "status": "paid", "marker": uuid.uuid4().hex}
    orders = shop["orders"]
    with dead_letters(shop["shipping"], "orders.order-status-changed.shipping.dead-letter") as dead:
        # Published through orders' own sidecar, which may publish that topic: what a
        # faulty or compromised orders app could send. Shipping asks payments first.
        for event in (forged_paid, malformed):
            answer = orders.api.post(
                "/v1.0/publish/pubsub/orders.order-status-changed",
                json=event,
                params={"metadata.cloudevent.type": "shop.orders.order-status-changed.v1"},
                timeout=30,
            )
            assert answer.status_code == 204, answer.text

        eventually(
            lambda: forged_paid in dead and malformed in dead,
            "the forged and the malformed event in shipping's dead letters",
        )

    assert shipment(shop["shipping"], order_id).status_code == 404
    assert shopper.get(f"/api/v1/orders/{order_id}").json()["status"] == "cancelled"


def test_a_shipment_event_is_checked_against_shipping(
    shopper: Shopper, product: str, shop: dict[str, Sidecar]
) -> None:
    shopper.put_in_cart(product, 1)
    order_id = shopper.check_out(card=DECLINED).json()["order_id"]
    shopper.order_when(order_id, "cancelled")
    dispatched = {
        "order_id": order_id,
        "tracking_number": "SHP-FORGED",
        "carrier": "Parcelwise",
        "dispatched_at": "2026-01-02T03:04:05Z",
    }
    topic = "shipping.shipment-dispatched"
    params = {"metadata.cloudevent.type": "shop.shipping.shipment-dispatched.v1"}
    # Only shipping may publish it: any other sidecar refuses.
    refused = shop["orders"].api.post(
        f"/v1.0/publish/pubsub/{topic}", json=dispatched, params=params, timeout=30
    )
    assert refused.status_code == 403, refused.text
    # Through shipping's own sidecar, for an order shipping never shipped: orders asks
    # shipping, finds no shipment and gives the event up.
    with dead_letters(shop["orders"], f"{topic}.orders.dead-letter") as dead:
        answer = shop["shipping"].api.post(
            f"/v1.0/publish/pubsub/{topic}", json=dispatched, params=params, timeout=30
        )
        assert answer.status_code == 204, answer.text
        eventually(lambda: dispatched in dead, "the forged shipment event in orders' dead letters")
    assert shopper.get(f"/api/v1/orders/{order_id}").json()["status"] == "cancelled"
