"""A shopper driving the shop through the gateway only, as a client would."""

import concurrent.futures
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.system.launcher import ROOT, Sidecar

MAIL_DIR = ROOT / ".data" / "mail"
PAYS = "4242424242424242"
DECLINED = "4000000000000002"
# The simulated provider's 3-D Secure cards (services/payments/provider.py): confirmed
# later by its signed webhook, or never (the charge is voided after a timeout).
CONFIRMED_LATER = "4000000000003220"
NEVER_CONFIRMED = "4000008400001629"
# The statuses an order reaches by itself after each (services/shipping ships a paid
# order, seconds later in the tests: launcher.QUICK_CARRIER).
MOVES_ON = {"paid": ("shipped", "delivered"), "shipped": ("delivered",)}


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Shopper:
    gateway: str
    email: str = field(default_factory=lambda: f"buyer-{uuid.uuid4().hex[:10]}@example.com")
    password: str = "correct horse battery"
    token: str = ""

    def register_and_log_in(self) -> "Shopper":
        registered = httpx.post(
            f"{self.gateway}/api/v1/auth/register",
            json={"email": self.email, "password": self.password, "name": "Test Buyer"},
            timeout=30,
        )
        assert registered.status_code == 201, registered.text
        answer = httpx.post(
            f"{self.gateway}/api/v1/auth/token",
            data={"username": self.email, "password": self.password, "grant_type": "password"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        return self

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.gateway}{path}", headers=self.auth, timeout=30, **kwargs)

    def put_in_cart(self, product_id: str, quantity: int) -> httpx.Response:
        return httpx.put(
            f"{self.gateway}/api/v1/cart/items/{product_id}",
            json={"quantity": quantity},
            headers=self.auth,
            timeout=30,
        )

    def check_out(
        self,
        card: str = PAYS,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {
            **self.auth,
            "Idempotency-Key": idempotency_key or uuid.uuid4().hex,
            **(headers or {}),
        }
        return httpx.post(
            f"{self.gateway}/api/v1/orders",
            json={"payment_token": card},
            headers=headers,
            timeout=60,
        )

    def order_when(self, order_id: str, status: str, timeout: float = 45) -> dict[str, Any]:
        """The order once it is `status`, or has gone on from there by itself (a paid
        order is shipped, then delivered, seconds later: MOVES_ON)."""

        def settled() -> dict[str, Any] | None:
            order: dict[str, Any] = self.get(f"/api/v1/orders/{order_id}").json()
            reached = (status, *MOVES_ON.get(status, ()))
            return order if order.get("status") in reached else None

        result: dict[str, Any] = eventually(settled, f"order {order_id} to be {status}", timeout)
        return result

    def receipts(self) -> list[EmailMessage]:
        return [m for m in self.mails() if str(m["Subject"]).startswith("Your receipt")]

    def mails(self) -> list[EmailMessage]:
        found = []
        for path in sorted(MAIL_DIR.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if self.email in str(message["To"]):
                found.append(message)
        return found


def admin_put_product(
    catalog: Sidecar, admin_token: str, product_id: str, straight: bool = False, **fields: Any
) -> None:
    """Through the catalog's own sidecar: admin writes are not part of the public API.
    `straight`: to this catalog instance's app itself, with its app token (its sidecar's
    invocation may pick another instance of the app id)."""
    body = {"name": product_id, "category": "test", "price_cents": 1000, "stock": 5} | fields
    admin = {"Authorization": f"Bearer {admin_token}"}
    if straight:
        answer = httpx.put(
            f"{catalog.app_url}/products/{product_id}",
            json=body,
            headers=admin | {"dapr-api-token": catalog.app_token},
            timeout=30,
        )
    else:
        path = f"/v1.0/invoke/catalog/method/products/{product_id}"
        answer = catalog.api.put(path, json=body, headers=admin, timeout=30)
    assert answer.status_code == 200, answer.text


def race(
    product_id: str, gateways: Sequence[str], buyers: int = 20
) -> list[tuple[Shopper, httpx.Response]]:
    """`buyers` new buyers, taking turns over `gateways`, each with one of the product in
    the cart, check out at the same moment: each with the answer it got. The answers
    are 201 (placed) or 409 (sold out), or the assertion lists the others."""
    racing = [Shopper(gateways[n % len(gateways)]).register_and_log_in() for n in range(buyers)]
    for buyer in racing:
        assert buyer.put_in_cart(product_id, 1).status_code == 200
    with concurrent.futures.ThreadPoolExecutor(max_workers=buyers) as pool:
        answers = list(pool.map(lambda b: b.check_out(), racing))
    odd = [a.text for a in answers if a.status_code not in (201, 409)]
    assert not odd, odd
    return list(zip(racing, answers, strict=True))


def available(gateway: str, product_id: str) -> int:
    # Past the gateway's cache: a cached page's stock may be a minute old.
    answer = httpx.get(
        f"{gateway}/api/v1/products",
        params={"q": product_id},
        headers={"Cache-Control": "no-cache"},
        timeout=30,
    )
    [product] = [p for p in answer.json()["items"] if p["id"] == product_id]
    return int(product["available"])


class StatusFeed:
    """A WebSocket client of the order-status feed, collecting status messages. Through
    the gateway, the public entry, which relays notifications' (gateway/updates.py)."""

    def __init__(self, gateway: Sidecar, token: str) -> None:
        self.messages: list[dict[str, Any]] = []
        url = f"ws://127.0.0.1:{gateway.app_port}/ws/orders?token={token}"
        self._connection = connect(url, open_timeout=10)
        self._socket = self._connection.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._socket:
                self.messages.append(json.loads(raw))
        except Exception:
            pass

    def statuses(self, order_id: str) -> list[str]:
        return [m["status"] for m in self.messages if m.get("order_id") == order_id]

    def close(self) -> None:
        self._connection.__exit__(None, None, None)
        self._thread.join(timeout=5)
