"""The run's figures and verdict, computed from what was observed. Pure (no I/O), so the
rules are unit-tested without a shop (tests/chaos/tests). Times are seconds since the
run started."""

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

# The simulated provider's declining test cards (services/payments/provider.py).
DECLINING_CARDS = frozenset({"4000000000000002", "4000000000009995"})
# Forged events carry payment ids with this prefix (tests/chaos/forgery.py).
FORGED_PREFIX = "forged-"
# Where every accepted order must end: a paid order goes on to be shipped and delivered
# (services/shipping), an unpaid one is cancelled.
FINAL = ("delivered", "cancelled")
# The statuses of an order whose money was taken and kept.
PAID = ("paid", "shipped", "delivered")


@dataclass(frozen=True)
class Kill:
    target: str  # "orders/app", "payments/daprd", "kafka", ...
    killed_at: float
    restarted_at: float
    healthy_at: float  # when it (and what depends on it) answered again


@dataclass(frozen=True)
class Charge:
    """What payments recorded for an order (`charge:<order id>`), or the provider
    ledger's entry (`provider-charge:<order id>`)."""

    status: str  # processing | succeeded | declined (the ledger: succeeded or declined)
    payment_id: str | None
    amount_cents: int
    refunded_cents: int = 0

    @property
    def money_kept(self) -> bool:
        """Money was taken and not all of it given back."""
        return self.payment_id is not None and self.refunded_cents < self.amount_cents


@dataclass(frozen=True)
class Shipment:
    """What shipping recorded for an order (`shipment-<order id>`)."""

    status: str  # preparing | dispatched | delivered
    tracking_number: str


@dataclass(frozen=True)
class Order:
    order_id: str
    card: str
    # When the buyer got 200/201; None for an order found only in the buyer's history
    # (its checkout never got an answer before the buyer's deadline).
    accepted_at: float | None
    # pending | paid | shipped | delivered | cancelled | missing (404) | unreadable (no
    # answer at the deadline)
    status: str
    settled_at: float | None
    payment_id: str | None
    units: dict[str, int]  # product id -> units ordered
    charge: Charge | None = None
    ledger: Charge | None = None  # None: no ledger entry (unknown, not a failure)
    forged_via: str | None = None  # "cart" or "payments": a forged event targeted it
    tracking_number: str | None = None  # as orders shows it
    shipment: Shipment | None = None  # None: shipping has none

    @property
    def declines(self) -> bool:
        return self.card in DECLINING_CARDS


@dataclass(frozen=True)
class Product:
    product_id: str
    starting_stock: int
    stock: int | None  # None: the product is gone
    reservations: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ForgedPublish:
    via: str  # the sidecar it was published through: "cart" or "payments"
    order_id: str
    payment_id: str
    http_status: int | None  # None: the sidecar never answered
    at: float
    order_status_before: str = "unknown"  # as the buyer saw it just before the publish


def seconds_to_settle(order: Order, restarts: list[float]) -> float | None:
    """From the most recent restart before the order settled, or from its acceptance if
    that came later, to its settlement: how long recovery took, not how long the run
    kept the order waiting before the fault it recovered from."""
    if order.settled_at is None or order.status not in FINAL:
        return None
    before = [r for r in restarts if r <= order.settled_at]
    starts = [*before[-1:], *([order.accepted_at] if order.accepted_at is not None else [])]
    if not starts:
        return None
    return max(0.0, order.settled_at - max(starts))


def doubled_charge(order: Order) -> str | None:
    """Why money was taken more than once, or under a payment the order does not carry;
    None when it was not. A missing ledger entry is unknown, not a failure."""
    charged = order.charge.payment_id if order.charge is not None else None
    provider = order.ledger.payment_id if order.ledger is not None else None
    kept = any(c is not None and c.money_kept for c in (order.charge, order.ledger))
    if order.status in PAID and charged is not None and charged != order.payment_id:
        return f"paid under {order.payment_id}, charged under {charged}"
    if order.status in PAID and order.ledger is not None and provider != order.payment_id:
        return f"paid under {order.payment_id}, the provider charged {provider}"
    if order.status == "cancelled" and kept:
        return "cancelled, yet money was taken and kept"
    if charged is not None and provider is not None and charged != provider:
        return f"charged twice: {charged} and {provider}"
    return None


def shipping_problem(order: Order) -> str | None:
    """Why the order's shipment is wrong: shipped without a payment that happened, or
    shown shipped or delivered by orders when shipping says otherwise; None when right."""
    shipment = order.shipment
    charged = order.charge is not None and order.charge.status == "succeeded"
    if shipment is not None and (order.status not in PAID or not charged or order.declines):
        charge = order.charge.status if order.charge is not None else "none"
        return f"shipped although the order is {order.status} (charge: {charge})"
    if order.status in ("shipped", "delivered"):
        if shipment is None:
            return f"{order.status}, but shipping has no shipment"
        if shipment.tracking_number != order.tracking_number:
            return f"tracked as {order.tracking_number}, shipped as {shipment.tracking_number}"
        if order.status == "delivered" and shipment.status != "delivered":
            return f"delivered, but shipping says {shipment.status}"
    return None


def stock_problems(products: list[Product], orders: list[Order]) -> list[str]:
    """For every product of the run: available + units in paid orders == starting stock,
    and no reservation left behind."""
    sold: dict[str, int] = {}
    for order in orders:
        if order.status in PAID:
            for product_id, units in order.units.items():
                sold[product_id] = sold.get(product_id, 0) + units
    problems = []
    for product in products:
        if product.stock is None:
            problems.append(f"{product.product_id}: gone from the catalog")
            continue
        available = product.stock - sum(product.reservations.values())
        units = sold.get(product.product_id, 0)
        if available + units != product.starting_stock:
            problems.append(
                f"{product.product_id}: {available} available + {units} sold != "
                f"{product.starting_stock} at the start"
            )
        if product.reservations:
            problems.append(f"{product.product_id}: reservations left {product.reservations}")
    return problems


def summarise(
    run: dict[str, Any],
    kills: list[Kill],
    orders: list[Order],
    products: list[Product],
    forgeries: list[ForgedPublish],
) -> dict[str, Any]:
    """The report: `run` (profile, buyers, durations, ...) and the figures, with
    `failures` (what failed and which orders) and `passed`."""
    accepted = [o for o in orders if o.accepted_at is not None]
    paid = [o.order_id for o in accepted if o.status in PAID]
    by_status = {s: [o.order_id for o in accepted if o.status == s] for s in FINAL}
    stuck = [o.order_id for o in accepted if o.status in ("pending", "unreadable")]
    # Paid, yet never delivered: stranded between payments and the carrier.
    undelivered = [o.order_id for o in accepted if o.status in ("paid", "shipped")]
    shipping = {o.order_id: r for o in orders if (r := shipping_problem(o)) is not None}
    lost = [o.order_id for o in accepted if o.status == "missing"]
    doubled = {o.order_id: r for o in orders if (r := doubled_charge(o)) is not None}
    declined_paid = [o.order_id for o in orders if o.declines and o.status in PAID]
    forged_applied = [
        o.order_id
        for o in orders
        if o.forged_via is not None
        and o.status in PAID
        and (o.declines or (o.payment_id or "").startswith(FORGED_PREFIX))
    ]
    stock = stock_problems(products, orders)
    restarts = sorted(k.restarted_at for k in kills)
    settling = sorted(
        ((s, o) for o in accepted if (s := seconds_to_settle(o, restarts)) is not None),
        key=lambda pair: pair[0],
        reverse=True,
    )
    settle_times = [s for s, _ in settling]
    through_cart = [f for f in forgeries if f.via == "cart"]
    cart_accepted = [
        f.order_id for f in through_cart if f.http_status is not None and f.http_status < 300
    ]
    unacknowledged = [o.order_id for o in orders if o.accepted_at is None]

    failures = []
    if run.get("error"):
        failures.append(f"the run did not complete: {run['error']}")
    if not accepted:
        failures.append("no order was accepted: the run proves nothing")
    named = (
        ("accepted orders still pending (or unreadable) at the deadline", stuck),
        ("paid orders not delivered at the deadline", undelivered),
        ("orders shipped wrongly", [f"{k} ({v})" for k, v in shipping.items()]),
        ("accepted orders lost (404)", lost),
        (
            "orders charged twice or under another payment",
            [f"{k} ({v})" for k, v in doubled.items()],
        ),
        ("orders paid although their card declines", declined_paid),
        ("orders paid by a forged event", forged_applied),
        ("forged publishes accepted by the cart's sidecar (must be 403)", cart_accepted),
        ("products whose stock is not conserved", stock),
    )
    for what, found in named:
        if found:
            failures.append(f"{len(found)} {what}: {', '.join(found)}")

    return {
        **run,
        "accepted": len(accepted),
        "paid": len(paid),
        "delivered": len(by_status["delivered"]),
        "cancelled": len(by_status["cancelled"]),
        "stuck": len(stuck),
        "undelivered": len(undelivered),
        "shipped_wrongly": len(shipping),
        "lost": len(lost),
        "doubled_charges": len(doubled),
        "declined_paid": len(declined_paid),
        "stock_conserved": not stock,
        "forged_events_applied": len(forged_applied),
        "seconds_to_settle": round(max(settle_times), 1) if settle_times else None,
        "seconds_to_settle_median": (
            round(statistics.median(settle_times), 1) if settle_times else None
        ),
        "slowest_to_settle": [
            {"order_id": o.order_id, "seconds": round(seconds, 1), "settled_at": o.settled_at}
            for seconds, o in settling[:5]
        ],
        "unacknowledged_orders": len(unacknowledged),
        "forged_publishes": [asdict(f) for f in forgeries],
        "forged_publishes_refused": sum(1 for f in forgeries if f.http_status == 403),
        # Forged outcomes that reached orders while their order was still pending.
        "forged_on_pending_orders": sum(
            1
            for f in forgeries
            if f.order_status_before == "pending"
            and f.http_status is not None
            and f.http_status < 300
        ),
        "kills": [asdict(k) for k in kills],
        "problem_orders": {
            "stuck": stuck,
            "undelivered": undelivered,
            "shipped_wrongly": shipping,
            "lost": lost,
            "doubled": doubled,
            "declined_paid": declined_paid,
            "forged_applied": forged_applied,
            "unacknowledged": unacknowledged,
        },
        "problem_order_details": {
            o.order_id: {
                "accepted_at": o.accepted_at,
                "status": o.status,
                "settled_at": o.settled_at,
                "declining_card": o.declines,
                "payment_id": o.payment_id,
                "charge": asdict(o.charge) if o.charge else None,
                "forged_via": o.forged_via,
                "tracking_number": o.tracking_number,
                "shipment": asdict(o.shipment) if o.shipment else None,
            }
            for o in orders
            if o.order_id
            in {*stuck, *undelivered, *shipping, *lost, *doubled, *declined_paid, *forged_applied}
            or o.accepted_at is None
        },
        "stock": {
            p.product_id: {
                "starting": p.starting_stock,
                "stock": p.stock,
                "reserved": sum(p.reservations.values()),
            }
            for p in products
        },
        "failures": failures,
        "passed": not failures,
    }
