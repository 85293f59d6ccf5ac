"""Orders' sweeper through the real sidecars: a checkout that held stock and died before
its order was saved is given up, and its stock comes back."""

import uuid
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.system.launcher import Sidecar
from tests.system.shopper import admin_put_product, available, eventually

pytestmark = pytest.mark.system

SHARDS = 16  # services/orders/inflight.py


def test_a_checkout_that_died_after_holding_stock_is_abandoned_and_released(
    shop: dict[str, Sidecar], gateway: Sidecar, secrets: dict[str, str]
) -> None:
    orders, catalog = shop["orders"], shop["catalog"]
    product_id = f"sweep-{uuid.uuid4().hex[:10]}"
    admin_put_product(catalog, secrets["catalog-admin-token"], product_id, stock=5)
    order_id = uuid.uuid4().hex

    # What a checkout leaves when it dies between holding the stock and saving the
    # order: the units held at the catalog (through orders' sidecar, as orders does,
    # so access control is the real one) and its in-flight record, opened a while ago.
    held = orders.api.put(
        f"/v1.0/invoke/catalog/method/reservations/{order_id}",
        json={"items": [{"product_id": product_id, "quantity": 2}]},
    )
    assert held.status_code == 200, held.text
    assert available(gateway.app_url, product_id) == 3
    opened = datetime.now(UTC) - timedelta(minutes=5)
    event = {
        "order_id": order_id,
        "user_id": "sweeper-test",
        "email": "sweeper@example.com",
        "lines": [
            {"product_id": product_id, "name": product_id, "quantity": 2, "unit_price_cents": 1}
        ],
        "total_cents": 2,
        "currency": "EUR",
        "payment_token": "4242424242424242",
        "created_at": opened.isoformat(),
    }
    add_open_checkout(orders, order_id, {"opened_at": opened.isoformat(), "event": event})

    eventually(
        lambda: available(gateway.app_url, product_id) == 5,
        "the sweeper to release the stock of the abandoned checkout (orders' log: .data/logs/)",
        timeout=45,
    )
    stored = orders.api.get(f"/v1.0/state/statestore/order:{order_id}").json()
    assert (stored["status"], stored["reason"]) == ("cancelled", "checkout_abandoned")
    # The id is taken: a late reservation for it is refused, so nothing can leak.
    late = orders.api.put(
        f"/v1.0/invoke/catalog/method/reservations/{order_id}",
        json={"items": [{"product_id": product_id, "quantity": 2}]},
    )
    assert late.status_code == 409, late.text


def add_open_checkout(orders: Sidecar, order_id: str, checkout: dict[str, object]) -> None:
    """Add the record to its shard in orders' store, with an ETag write, as orders does."""
    key = f"open-checkouts:{zlib.crc32(order_id.encode()) % SHARDS}"
    for _ in range(20):
        current = orders.api.get(f"/v1.0/state/statestore/{key}")
        shard = current.json() if current.status_code == 200 else {"checkouts": {}}
        shard["checkouts"][order_id] = checkout
        item: dict[str, object] = {"key": key, "value": shard}
        if current.status_code == 200:
            item |= {"etag": current.headers["ETag"], "options": {"concurrency": "first-write"}}
        written = orders.api.post("/v1.0/state/statestore", json=[item])
        if written.status_code == 204:
            return
    raise AssertionError(f"could not write {key} in orders' store: {written.text}")
