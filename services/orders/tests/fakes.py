"""The sidecar in front of cart, catalog, payments and shipping, and event builders,
shared by the orders tests (their fixtures are in conftest.py)."""

import json

import httpx
from shop_contracts.orders import OrderLine
from shop_dapr.testing import InMemoryStateStore

from orders.domain import Order
from orders.inflight import SHARDS, Shard

ALICE = {"X-User-Id": "alice", "X-User-Email": "alice@example.com"}
CARD = {"payment_token": "4242424242424242"}
TRACKING = "SHP-0001"
# Alice's pending order of two mugs, for the tests of rules without a shop.
PENDING_ORDER = Order(
    order_id="o1",
    user_id="alice",
    email="alice@example.com",
    lines=[OrderLine(product_id="mug", name="Mug", quantity=2, unit_price_cents=1250)],
    total_cents=2500,
    currency="EUR",
    card_last4="4242",
)


class FakeSidecar:
    def __init__(self) -> None:
        self.cart = [{"product_id": "mug", "name": "Mug", "quantity": 2}]
        self.prices = {"mug": 1250, "candle": 1600}
        self.stock = {"mug": 5, "candle": 5}
        self.held: dict[str, list[dict[str, object]]] = {}
        self.reserve_calls = 0
        self.released: list[str] = []
        # What payments knows, by order id (GET /payments/{order_id}).
        self.payments: dict[str, dict[str, object]] = {}
        # What shipping knows, by order id (GET /shipments/{order_id}).
        self.shipments: dict[str, dict[str, object]] = {}
        self.shipping_down = False
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("down", request=request)
        app, path = request.headers["dapr-app-id"], request.url.path
        if app == "shipping":
            return self.shipping(request.method, path)
        if app == "cart" and path == "/carts/alice":
            lines = [
                {**line, "unit_price_cents": 999, "line_total_cents": 999} for line in self.cart
            ]
            return httpx.Response(
                200, json={"user_id": "alice", "lines": lines, "total_cents": 0, "currency": "EUR"}
            )
        if app == "catalog" and path == "/products:lookup":
            ids = json.loads(request.content)["ids"]
            found = [
                {"id": i, "name": i.title(), "price_cents": self.prices[i], "available": 5}
                for i in ids
                if i in self.prices
            ]
            missing = [i for i in ids if i not in self.prices]
            return httpx.Response(200, json={"products": found, "missing": missing})
        if app == "catalog" and request.method == "PUT" and path.startswith("/reservations/"):
            self.reserve_calls += 1
            body = json.loads(request.content)
            for item in body["items"]:
                if self.stock[item["product_id"]] < item["quantity"]:
                    return httpx.Response(409, json={"detail": "only 5 of product 'mug' available"})
            self.held[path.rsplit("/", 1)[1]] = body["items"]
            return httpx.Response(200, json={"status": "held"})
        if app == "catalog" and request.method == "DELETE":
            order_id = path.rsplit("/", 1)[1]
            self.held.pop(order_id, None)
            self.released.append(order_id)
            return httpx.Response(204)
        if app == "payments" and path.endswith("/void"):
            record = self.payments.get(path.split("/")[2])
            if record and record["status"] == "awaiting_confirmation":
                record.update(status="declined", decline_reason="confirmation_timeout")
            return httpx.Response(200, json=record) if record else httpx.Response(404)
        if app == "payments" and path.startswith("/payments/"):
            record = self.payments.get(path.rsplit("/", 1)[1])
            return httpx.Response(200, json=record) if record else httpx.Response(404)
        return httpx.Response(404)

    def charged(self, order_id: str, amount_cents: int = 2500, payment_id: str = "pay_1") -> None:
        self.payments[order_id] = {
            "order_id": order_id,
            "status": "succeeded",
            "currency": "EUR",
            "amount_cents": amount_cents,
            "payment_id": payment_id,
        }

    def declined(self, order_id: str) -> None:
        self.payments[order_id] = {
            "order_id": order_id,
            "status": "declined",
            "currency": "EUR",
            "amount_cents": 0,
            "decline_reason": "card_declined",
        }

    def shipping(self, method: str, path: str) -> httpx.Response:
        if self.shipping_down:
            return httpx.Response(503, json={"detail": "shipping is down"})
        if method == "GET" and path.startswith("/shipments/"):
            record = self.shipments.get(path.rsplit("/", 1)[1])
            return httpx.Response(200, json=record) if record else httpx.Response(404)
        return httpx.Response(404)

    def shipment(
        self, order_id: str, status: str = "dispatched", tracking_number: str = TRACKING
    ) -> None:
        """Shipping's record of the order's parcel, as far as `status`."""
        self.shipments[order_id] = {
            "order_id": order_id,
            "status": status,
            "tracking_number": tracking_number,
            "carrier": "DHL",
            "created_at": "2026-01-05T09:00:00Z",
            "dispatched_at": None if status == "preparing" else "2026-01-05T10:00:00Z",
            "delivered_at": "2026-01-07T15:30:00Z" if status == "delivered" else None,
        }


def payment_event(
    kind: str, order_id: str, amount_cents: int = 2500, payment_id: str = "pay_1"
) -> dict[str, object]:
    data: dict[str, object] = {"order_id": order_id}
    if kind == "succeeded":
        data |= {"payment_id": payment_id, "amount_cents": amount_cents, "currency": "EUR"}
    else:
        data |= {"payment_id": None, "reason": "card_declined"}
    return {
        "id": f"e-{kind}",
        "source": "payments",
        "type": f"t.{kind}",
        "specversion": "1.0",
        "data": data,
    }


def open_checkouts(state: InMemoryStateStore) -> dict[str, object]:
    shards = [state.entries.get(f"open-checkouts:{i}") for i in range(SHARDS)]
    return {
        order_id: checkout
        for entry in shards
        if entry is not None
        for order_id, checkout in Shard.model_validate_json(entry.value).checkouts.items()
    }


def shipment_event(
    kind: str, order_id: str, tracking_number: str = TRACKING, event_id: str | None = None
) -> dict[str, object]:
    """A shipping.shipment-<kind> CloudEvent (kind: dispatched or delivered)."""
    at = "2026-01-05T10:00:00Z" if kind == "dispatched" else "2026-01-07T15:30:00Z"
    data = {
        "order_id": order_id,
        "tracking_number": tracking_number,
        "carrier": "DHL",
        f"{kind}_at": at,
    }
    return {
        "id": event_id or f"{order_id}.{kind}",
        "source": "shipping",
        "type": f"shop.shipping.shipment-{kind}.v1",
        "specversion": "1.0",
        "data": data,
    }
