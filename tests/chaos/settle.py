"""After the last restart: wait for every accepted order to be delivered or cancelled
(until the deadline), then gather what the run left behind: every order of the run's
buyers with its charge record, ledger entry and shipment, and the stock of the run's
products."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx

from tests.chaos.buyers import Buyer
from tests.chaos.clock import Clock
from tests.chaos.report import FINAL, Order, Product
from tests.chaos.stored import read_charge, read_ledger, read_product, read_shipment
from tests.system.launcher import Sidecar

POLL_EVERY = 1.0
READERS = 8


def read_order(client: httpx.Client, buyer: Buyer, order_id: str) -> tuple[str, dict[str, Any]]:
    """(status, body): the order's status, "missing" on a 404, "unreadable" otherwise."""
    try:
        answer = client.get(f"/orders/{order_id}", headers=buyer.auth)
    except httpx.TransportError as exc:
        return "unreadable", {"error": repr(exc)}
    if answer.status_code == 404:
        return "missing", {}
    if answer.status_code != 200:
        return "unreadable", {"error": f"HTTP {answer.status_code} {answer.text[:200]}"}
    body: dict[str, Any] = answer.json()
    return str(body.get("status")), body


def wait_for_settlement(
    client: httpx.Client, buyers: list[Buyer], clock: Clock, deadline: float
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Order id -> (status, body) of every accepted order, polled until all are delivered
    or cancelled or the run's clock reaches `deadline`."""
    accepted = {b.order_id: b for b in buyers if b.order_id is not None}
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    waiting = dict(accepted)

    def read(order_id: str) -> tuple[str, tuple[str, dict[str, Any]]]:
        return order_id, read_order(client, accepted[order_id], order_id)

    with ThreadPoolExecutor(READERS, thread_name_prefix="settle") as pool:
        while waiting:
            for order_id, found in list(pool.map(read, list(waiting))):
                seen[order_id] = found
                if found[0] in FINAL:
                    del waiting[order_id]
            if not waiting or clock.now() >= deadline:
                break
            time.sleep(POLL_EVERY)  # the polling interval
    if waiting:
        clock.say(f"{len(waiting)} orders not delivered or cancelled at the deadline")
    return seen


def unacknowledged_orders(
    client: httpx.Client, buyers: list[Buyer]
) -> list[tuple[Buyer, dict[str, Any]]]:
    """Orders of buyers who never got theirs accepted (they gave up, or were refused):
    from each one's history. There should be none; one that exists holds stock."""

    def history(buyer: Buyer) -> list[tuple[Buyer, dict[str, Any]]]:
        try:
            answer = client.get("/orders", headers=buyer.auth)
        except httpx.TransportError:
            return []
        return [(buyer, order) for order in answer.json()] if answer.status_code == 200 else []

    unanswered = [b for b in buyers if b.order_id is None and b.token is not None]
    with ThreadPoolExecutor(READERS, thread_name_prefix="history") as pool:
        return [found for orders in pool.map(history, unanswered) for found in orders]


def observe_orders(
    client: httpx.Client,
    buyers: list[Buyer],
    payments: Sidecar,
    shipping: Sidecar,
    clock: Clock,
    deadline: float,
    forged: dict[str, str],
) -> list[Order]:
    seen = wait_for_settlement(client, buyers, clock, deadline)
    found = [(b, *seen[b.order_id]) for b in buyers if b.order_id is not None]
    found += [(b, str(o.get("status")), o) for b, o in unacknowledged_orders(client, buyers)]
    orders = []
    for buyer, status, body in found:
        order_id = body.get("order_id") or buyer.order_id or ""
        orders.append(
            Order(
                order_id=order_id,
                card=buyer.card,
                accepted_at=buyer.accepted_at if order_id == buyer.order_id else None,
                status=status,
                settled_at=_settled_at(clock, status, body),
                payment_id=body.get("payment_id"),
                units=_units(body),
                charge=read_charge(payments, order_id),
                ledger=read_ledger(payments, order_id),
                forged_via=forged.get(order_id),
                tracking_number=(body.get("shipment") or {}).get("tracking_number"),
                shipment=read_shipment(shipping, order_id),
            )
        )
    return orders


def _settled_at(clock: Clock, status: str, body: dict[str, Any]) -> float | None:
    """When the order was delivered or cancelled: its own `updated_at`, written by orders
    at that transition (polling would only say when the suite looked)."""
    if status not in FINAL or "updated_at" not in body:
        return None
    return round(clock.since_start(datetime.fromisoformat(body["updated_at"]).timestamp()), 2)


def _units(body: dict[str, Any]) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in body.get("lines", []):
        units[line["product_id"]] = units.get(line["product_id"], 0) + int(line["quantity"])
    return units


def observe_products(catalog: Sidecar, starting: dict[str, int]) -> list[Product]:
    return [read_product(catalog, product_id, stock) for product_id, stock in starting.items()]
