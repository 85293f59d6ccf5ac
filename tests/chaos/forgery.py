"""Forged payment events: `payments.payment-succeeded` for a pending order whose card
declines, for one cent, under a payment id payments never made. Published in turn

- through the cart's sidecar: cart does not own that topic, so its sidecar must refuse
  (403, publishing scopes);
- through the payments sidecar, the topic's owner, as a compromised or buggy payments
  would: orders must refuse to apply it (the amount, the currency, and payments does not
  know the payment).
"""

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.buyers import Buyer
from tests.chaos.clock import Clock
from tests.chaos.report import DECLINING_CARDS, FORGED_PREFIX, ForgedPublish
from tests.system.launcher import Sidecar

TOPIC = "payments.payment-succeeded"
# A publish that gets no answer (its sidecar is being restarted) is tried this long.
PUBLISH_DEADLINE = 15.0


@dataclass
class Forger:
    """Forges for at most `count` orders, `spacing` seconds apart, alternating between
    the cart's and the payments sidecar."""

    shop: dict[str, Sidecar]
    clock: Clock
    count: int
    spacing: float
    published: list[ForgedPublish] = field(default_factory=list)
    targets: dict[str, str] = field(default_factory=dict)  # order id -> via

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -self.spacing

    def on_accepted(self, buyer: Buyer, order: dict[str, Any]) -> None:
        """Called as each order is accepted: forge for it if it fits."""
        if buyer.card not in DECLINING_CARDS or order.get("status") != "pending":
            return
        with self._lock:
            if len(self.targets) >= self.count or self.clock.now() - self._last < self.spacing:
                return
            via = ("cart", "payments")[len(self.targets) % 2]
            self.targets[order["order_id"]] = via
            self._last = self.clock.now()
        # Declines take milliseconds: say whether the forgery met the order still pending.
        before = self._status(buyer, order["order_id"])
        self.published.append(self._publish(via, order, before))

    def _status(self, buyer: Buyer, order_id: str) -> str:
        gateway = self.shop["gateway"].app_url
        try:
            answer = httpx.get(f"{gateway}/api/v1/orders/{order_id}", headers=buyer.auth, timeout=5)
        except httpx.TransportError:
            return "unknown"
        if answer.status_code != 200:
            return "unknown"
        try:
            return str(answer.json().get("status"))
        except ValueError:  # a body broken on its way: the buyers' report counts those
            return f"unreadable ({answer.text[:60]!r})"

    def _publish(self, via: str, order: dict[str, Any], status_before: str) -> ForgedPublish:
        payment_id = f"{FORGED_PREFIX}{uuid.uuid4().hex[:12]}"
        event = {
            "order_id": order["order_id"],
            "payment_id": payment_id,
            "amount_cents": 1,
            "currency": "EUR",
        }
        sidecar = self.shop[via]
        until = time.monotonic() + PUBLISH_DEADLINE
        while True:
            try:
                answer = sidecar.api.post(f"/v1.0/publish/pubsub/{TOPIC}", json=event, timeout=10)
                status: int | None = answer.status_code
            except httpx.TransportError:
                status = None
            if (status is not None and status < 500) or time.monotonic() >= until:
                break
            time.sleep(0.5)  # its sidecar may be restarting: try again shortly
        self.clock.say(
            f"forged {TOPIC} for {status_before} order {order['order_id']} through the {via} "
            f"sidecar: {status if status is not None else 'no answer'}"
        )
        return ForgedPublish(
            via, order["order_id"], payment_id, status, round(self.clock.now(), 2), status_before
        )
