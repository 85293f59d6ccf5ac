"""The order's life cycle rules, free of I/O: shipping's part."""

from datetime import UTC, datetime

import pytest
from shop_contracts.orders import OrderStatus
from shop_contracts.shipping import ShipmentRecord

from orders import domain
from orders.domain import InvalidTransition
from orders.tests.fakes import PENDING_ORDER

ORDER = PENDING_ORDER.model_copy(update={"status": OrderStatus.PAID, "payment_id": "pay_1"})
DISPATCHED_AT = datetime(2026, 1, 5, 10, tzinfo=UTC)
DELIVERED_AT = datetime(2026, 1, 7, 15, 30, tzinfo=UTC)


def record(status: str = "dispatched", tracking_number: str = "SHP-1") -> ShipmentRecord:
    return ShipmentRecord.model_validate(
        {
            "order_id": "o1",
            "status": status,
            "tracking_number": tracking_number,
            "carrier": "DHL",
            "created_at": datetime(2026, 1, 5, 9, tzinfo=UTC),
            "dispatched_at": DISPATCHED_AT if status != "preparing" else None,
            "delivered_at": DELIVERED_AT if status == "delivered" else None,
        }
    )


def test_ship_a_paid_order() -> None:
    shipped = domain.ship(ORDER, record())
    assert shipped.status is OrderStatus.SHIPPED
    assert shipped.shipment == domain.Shipment(
        tracking_number="SHP-1", carrier="DHL", shipped_at=DISPATCHED_AT
    )
    assert (shipped.payment_id, shipped.total_cents) == ("pay_1", 2500)


def test_ship_and_deliver_are_idempotent() -> None:
    shipped = domain.ship(ORDER, record())
    assert domain.ship(shipped, record()) is shipped
    delivered = domain.deliver(shipped, record("delivered"))
    assert delivered.status is OrderStatus.DELIVERED
    assert delivered.shipment is not None
    assert (delivered.shipment.shipped_at, delivered.shipment.delivered_at) == (
        DISPATCHED_AT,
        DELIVERED_AT,
    )
    assert domain.deliver(delivered, record("delivered")) is delivered
    # A dispatch after the delivery changes nothing either.
    assert domain.ship(delivered, record("delivered")) is delivered


def test_deliver_a_paid_order_goes_through_shipped() -> None:
    delivered = domain.deliver(ORDER, record("delivered"))
    assert delivered.status is OrderStatus.DELIVERED
    assert delivered.shipment is not None
    assert delivered.shipment.shipped_at == DISPATCHED_AT


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.CANCELLED])
def test_only_paid_orders_ship(status: OrderStatus) -> None:
    order = ORDER.model_copy(update={"status": status})
    with pytest.raises(InvalidTransition, match=f"is {status}"):
        domain.ship(order, record())
    with pytest.raises(InvalidTransition, match=f"is {status}"):
        domain.deliver(order, record("delivered"))


def test_another_tracking_number_for_a_shipped_order_is_refused() -> None:
    shipped = domain.ship(ORDER, record())
    with pytest.raises(InvalidTransition, match="SHP-2"):
        domain.ship(shipped, record(tracking_number="SHP-2"))
    with pytest.raises(InvalidTransition, match="SHP-2"):
        domain.deliver(shipped, record("delivered", "SHP-2"))


def test_payment_never_moves_a_shipped_order_back() -> None:
    shipped = domain.ship(ORDER, record())
    assert domain.mark_paid(shipped, "pay_1") is shipped
    with pytest.raises(InvalidTransition):
        domain.cancel(shipped, "payment_failed")


def test_status_events_carry_the_tracking_number() -> None:
    assert domain.status_event(ORDER).tracking_number is None
    delivered = domain.deliver(ORDER, record("delivered"))
    event = domain.status_event(delivered)
    assert (event.status, event.tracking_number) == (OrderStatus.DELIVERED, "SHP-1")
    earlier = domain.status_event(delivered, OrderStatus.SHIPPED)
    assert (earlier.status, earlier.tracking_number) == (OrderStatus.SHIPPED, "SHP-1")
