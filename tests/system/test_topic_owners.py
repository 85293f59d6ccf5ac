"""Only a topic's owner publishes it, and orders applies only payment outcomes that
payments vouches for: forged events through real sidecars."""

import re
import uuid

import httpx
import pytest

from tests.system.launcher import Sidecar
from tests.system.shopper import DECLINED, Shopper, admin_put_product, eventually

pytestmark = pytest.mark.system


@pytest.mark.parametrize(
    ("publisher", "topic"),
    [
        ("cart", "payments.payment-succeeded"),
        ("cart", "orders.order-created"),
        ("catalog", "orders.order-status-changed"),
        ("notifications", "payments.payment-failed"),
        ("orders", "catalog.product-changed"),
        ("gateway", "shop.anything-new"),
    ],
)
def test_a_sidecar_refuses_to_publish_a_topic_its_app_does_not_own(
    shop: dict[str, Sidecar], publisher: str, topic: str
) -> None:
    answer = shop[publisher].api.post(
        f"/v1.0/publish/pubsub/{topic}", json={"order_id": "forged"}, timeout=30
    )
    assert answer.status_code == 403, answer.text
    assert "not allowed" in answer.text.lower(), answer.text


def refused_outcomes(orders: Sidecar) -> float:
    """shop_payment_outcomes_refused_total of the orders app, all topics."""
    text = httpx.get(f"{orders.app_url}/metrics", timeout=10).text
    found = re.findall(r"^shop_payment_outcomes_refused_total\{[^}]*\} (\S+)$", text, re.M)
    return sum(float(value) for value in found)


def test_a_forged_payment_through_the_owners_sidecar_is_refused(
    shop: dict[str, Sidecar], gateway: Sidecar, secrets: dict[str, str]
) -> None:
    """The issue's attack: a declining card's order, payments held back, a success
    published for it. The topic's owner may publish it, but orders asks payments."""
    product_id = f"forge-{uuid.uuid4().hex[:10]}"
    admin_put_product(shop["catalog"], secrets["catalog-admin-token"], product_id)
    shopper = Shopper(gateway.app_url).register_and_log_in()
    assert shopper.put_in_cart(product_id, 1).status_code == 200
    before = refused_outcomes(shop["orders"])

    shop["payments"].pause_app()
    try:
        placed = shopper.check_out(card=DECLINED)
        assert placed.status_code == 201, placed.text
        order = placed.json()
        for forged in (
            {"payment_id": "forged", "amount_cents": 1, "currency": "EUR"},
            {"payment_id": "forged", "amount_cents": order["total_cents"], "currency": "EUR"},
        ):
            answer = shop["payments"].api.post(
                "/v1.0/publish/pubsub/payments.payment-succeeded",
                json={"order_id": order["order_id"], **forged},
                timeout=30,
            )
            assert answer.status_code == 204, answer.text
        # The wrong amount is refused at once; the right one needs payments' word,
        # which it cannot give while frozen: that event waits, redelivered.
        eventually(
            lambda: refused_outcomes(shop["orders"]) >= before + 1,
            "orders to refuse the forged payment of the wrong amount",
        )
        # Read from orders' own store: the gateway's order page also asks payments.
        stored = shop["orders"].api.get(f"/v1.0/state/statestore/order:{order['order_id']}")
        assert stored.json()["status"] == "pending"
    finally:
        shop["payments"].resume_app()
    eventually(
        lambda: refused_outcomes(shop["orders"]) >= before + 2,
        "orders to refuse the forged payment payments never made",
        timeout=60,
    )
    # The real outcome still applies: declined, so cancelled, never paid.
    cancelled = shopper.order_when(order["order_id"], "cancelled", timeout=60)
    assert cancelled["payment_id"] is None
