"""The pure rules: receipt and "on its way" texts, money, mailable addresses, the order
of statuses."""

from shop_contracts.orders import OrderStatus, OrderStatusChanged

from notifications.domain import (
    format_money,
    is_behind,
    is_mailable,
    render_on_its_way,
    render_receipt,
)
from notifications.tests.fakes import status_changed


def test_receipt_lists_each_line_and_the_total() -> None:
    order = OrderStatusChanged.model_validate(status_changed("paid", order_id="o-42")["data"])

    receipt = render_receipt(order)

    assert receipt.subject == "Your receipt for order o-42"
    assert receipt.body.splitlines() == [
        "Thank you for your order o-42. It is paid.",
        "",
        "Mug: 2 x 12.50 EUR = 25.00 EUR",
        "Tea: 1 x 4.05 EUR = 4.05 EUR",
        "",
        "Total: 29.05 EUR",
    ]


def test_money_is_formatted_from_cents() -> None:
    assert format_money(1250, "EUR") == "12.50 EUR"
    assert format_money(5, "EUR") == "0.05 EUR"
    assert format_money(0, "USD") == "0.00 USD"
    assert format_money(123456789, "EUR") == "1234567.89 EUR"


def test_only_one_plain_address_is_mailable() -> None:
    assert is_mailable("ada@example.com")
    assert is_mailable("ada+shop@mail.example.co.uk")
    for bad in ["", "ada", "ada@", "@example.com", "a@b@c", "a@b.c;d@e.f", "a@b.c,d@e.f"]:
        assert not is_mailable(bad), bad
    assert not is_mailable("ada@example.com\r\nBcc: eve@example.com")
    assert not is_mailable("Ada <ada@example.com>")


def test_on_its_way_names_the_order_and_its_tracking_number() -> None:
    order = OrderStatusChanged.model_validate(
        status_changed("shipped", order_id="o-42", tracking_number="SHP-7")["data"]
    )

    mail = render_on_its_way(order)

    assert mail.subject == "Your order o-42 is on its way"
    assert mail.body.splitlines() == [
        "Your order o-42 is on its way.",
        "",
        "Tracking number: SHP-7",
        "",
        "Mug: 2",
        "Tea: 1",
    ]


def test_statuses_only_move_on() -> None:
    order = [OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
    for i, earlier in enumerate(order):
        for later in order[i + 1 :]:
            assert is_behind(earlier, later)
            assert not is_behind(later, earlier)
    assert not is_behind(OrderStatus.SHIPPED, OrderStatus.SHIPPED)
    assert is_behind(OrderStatus.CANCELLED, OrderStatus.SHIPPED)
    assert not is_behind(OrderStatus.PAID, OrderStatus.CANCELLED)
