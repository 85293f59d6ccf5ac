"""Receipts, "on its way" mails and live status updates: the rules, free of I/O."""

import re
from dataclasses import dataclass

from pydantic import BaseModel
from shop_contracts.common import Cents
from shop_contracts.orders import OrderLine, OrderStatus, OrderStatusChanged


class StatusUpdate(BaseModel):
    """What a WebSocket client receives for each event about one of its orders. It
    carries the whole status, not a change, so a repeat (after a redelivery) is harmless."""

    order_id: str
    status: OrderStatus
    total_cents: Cents
    currency: str
    # Once shipped (left out of the message while there is none).
    tracking_number: str | None = None


# Where each status stands: an order only moves up (paid and cancelled are both the end
# of a checkout; shipped and delivered follow paid).
_RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.PAID: 1,
    OrderStatus.CANCELLED: 1,
    OrderStatus.SHIPPED: 2,
    OrderStatus.DELIVERED: 3,
}


def is_behind(status: OrderStatus, known: OrderStatus) -> bool:
    """Whether `status` comes before `known` in an order's life (a late event)."""
    return _RANK[status] < _RANK[known]


@dataclass(frozen=True)
class Receipt:
    subject: str
    body: str


def format_money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def render_receipt(order: OrderStatusChanged) -> Receipt:
    def line(item: OrderLine) -> str:
        unit = format_money(item.unit_price_cents, order.currency)
        total = format_money(item.quantity * item.unit_price_cents, order.currency)
        return f"{item.name}: {item.quantity} x {unit} = {total}"

    body = "\n".join(
        [
            f"Thank you for your order {order.order_id}. It is paid.",
            "",
            *(line(item) for item in order.lines),
            "",
            f"Total: {format_money(order.total_cents, order.currency)}",
            "",
        ]
    )
    return Receipt(subject=f"Your receipt for order {order.order_id}", body=body)


def render_on_its_way(order: OrderStatusChanged) -> Receipt:
    """The mail of a shipped order, with its tracking number."""
    body = "\n".join(
        [
            f"Your order {order.order_id} is on its way.",
            "",
            f"Tracking number: {order.tracking_number or 'not known yet'}",
            "",
            *(f"{item.name}: {item.quantity}" for item in order.lines),
            "",
        ]
    )
    return Receipt(subject=f"Your order {order.order_id} is on its way", body=body)


# One plain address. The SMTP binding splits its recipient list on ';' and writes it into
# a header, so separators and line breaks must never reach it from event data.
_ADDRESS = re.compile(r"[^@\s;,<>\"]+@[^@\s;,<>\"]+")


def is_mailable(address: str) -> bool:
    return _ADDRESS.fullmatch(address) is not None
