"""The report's rules, from recorded observations: no shop needed."""

from dataclasses import replace

from tests.chaos.report import (
    Charge,
    ForgedPublish,
    Kill,
    Order,
    Product,
    Shipment,
    doubled_charge,
    seconds_to_settle,
    shipping_problem,
    stock_problems,
    summarise,
)

PAYS = "4242424242424242"
DECLINES = "4000000000000002"


def order(order_id: str = "o1", **fields: object) -> Order:
    base = Order(
        order_id=order_id,
        card=PAYS,
        accepted_at=10.0,
        status="delivered",
        settled_at=12.0,
        payment_id="pay_1",
        units={"p": 1},
        charge=Charge("succeeded", "pay_1", 1000),
        tracking_number="SHP-1",
        shipment=Shipment("delivered", "SHP-1"),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


# --- seconds_to_settle ----------------------------------------------------------------


def test_settling_without_a_restart_counts_from_acceptance() -> None:
    assert seconds_to_settle(order(accepted_at=10.0, settled_at=12.5), []) == 2.5


def test_settling_counts_from_the_most_recent_restart_before_it() -> None:
    restarts = [5.0, 20.0, 31.0, 40.0]
    assert seconds_to_settle(order(accepted_at=10.0, settled_at=33.0), restarts) == 2.0


def test_an_acceptance_after_the_last_restart_is_where_it_starts() -> None:
    assert seconds_to_settle(order(accepted_at=25.0, settled_at=26.0), [20.0]) == 1.0


def test_an_order_not_settled_has_no_settling_time() -> None:
    assert seconds_to_settle(order(status="pending", settled_at=None), [1.0]) is None


def test_a_paid_order_not_yet_delivered_has_no_settling_time() -> None:
    assert seconds_to_settle(order(status="paid", settled_at=None), [1.0]) is None


# --- shipping_problem -----------------------------------------------------------------


def test_a_delivered_order_that_shipping_delivered_is_right() -> None:
    assert shipping_problem(order()) is None
    assert shipping_problem(order(status="paid", tracking_number=None, shipment=None)) is None


def test_a_shipment_for_an_order_not_paid_is_wrong() -> None:
    shipment = Shipment("preparing", "SHP-1")
    cancelled = order(status="cancelled", charge=Charge("declined", None, 1000))
    assert "cancelled" in str(shipping_problem(replace(cancelled, shipment=shipment)))
    declined = order(status="paid", card=DECLINES, shipment=shipment)
    assert shipping_problem(declined) is not None
    not_charged = order(status="paid", charge=None, shipment=shipment)
    assert "charge: none" in str(shipping_problem(not_charged))


def test_orders_and_shipping_must_agree_on_the_shipment() -> None:
    assert "no shipment" in str(shipping_problem(order(shipment=None)))
    other = order(shipment=Shipment("delivered", "SHP-2"))
    assert "SHP-2" in str(shipping_problem(other))
    assert "dispatched" in str(shipping_problem(order(shipment=Shipment("dispatched", "SHP-1"))))
    assert (
        shipping_problem(order(status="shipped", shipment=Shipment("dispatched", "SHP-1"))) is None
    )


# --- doubled_charge -------------------------------------------------------------------


def test_a_paid_order_charged_under_its_own_payment_is_not_doubled() -> None:
    assert doubled_charge(order()) is None
    assert doubled_charge(order(ledger=Charge("succeeded", "pay_1", 1000))) is None


def test_a_paid_order_charged_under_another_payment_is_doubled() -> None:
    assert doubled_charge(order(payment_id="pay_2")) == "paid under pay_2, charged under pay_1"
    ledger = Charge("succeeded", "pay_9", 1000)
    assert "provider charged pay_9" in str(doubled_charge(order(ledger=ledger)))


def test_a_cancelled_order_whose_money_was_kept_is_doubled() -> None:
    cancelled = order(status="cancelled", payment_id=None)
    assert doubled_charge(cancelled) == "cancelled, yet money was taken and kept"
    refunded = replace(cancelled, charge=Charge("succeeded", "pay_1", 1000, refunded_cents=1000))
    assert doubled_charge(refunded) is None
    declined = replace(cancelled, charge=Charge("declined", None, 0))
    assert doubled_charge(declined) is None


def test_a_ledger_and_a_record_disagreeing_is_a_second_charge() -> None:
    pending = order(status="pending", payment_id=None, ledger=Charge("succeeded", "pay_2", 1000))
    assert doubled_charge(pending) == "charged twice: pay_1 and pay_2"


def test_no_ledger_entry_is_unknown_not_a_failure() -> None:
    assert doubled_charge(order(ledger=None)) is None


# --- stock ----------------------------------------------------------------------------


def test_stock_is_conserved_when_paid_units_and_available_add_up() -> None:
    orders = [order("a", units={"p": 2}), order("b", status="cancelled", units={"p": 1})]
    assert stock_problems([Product("p", 5, stock=3)], orders) == []


def test_stock_problems_name_the_product_and_why() -> None:
    paid = [order(units={"p": 1})]
    assert stock_problems([Product("p", 5, stock=5)], paid) == [
        "p: 5 available + 1 sold != 5 at the start"
    ]
    left = stock_problems([Product("p", 5, stock=4, reservations={"x": 1})], paid)
    assert left == [
        "p: 3 available + 1 sold != 5 at the start",
        "p: reservations left {'x': 1}",
    ]
    assert stock_problems([Product("p", 5, stock=None)], paid) == ["p: gone from the catalog"]


# --- summarise ------------------------------------------------------------------------


def test_a_clean_run_passes_with_its_figures() -> None:
    orders = [
        order("a", accepted_at=1.0, settled_at=3.0),
        order(
            "b",
            card=DECLINES,
            status="cancelled",
            payment_id=None,
            accepted_at=2.0,
            settled_at=9.0,
            charge=Charge("declined", None, 0),
            forged_via="payments",
            tracking_number=None,
            shipment=None,
        ),
    ]
    kills = [Kill("orders/app", 4.0, 8.0, 10.0)]
    forged = [
        ForgedPublish("cart", "b", "forged-1", 403, 2.1, "pending"),
        ForgedPublish("payments", "b", "forged-2", 204, 2.2, "pending"),
    ]
    report = summarise({"profile": "redis"}, kills, orders, [Product("p", 3, stock=2)], forged)
    assert report["passed"], report["failures"]
    assert (report["accepted"], report["paid"], report["cancelled"]) == (2, 1, 1)
    assert (report["stuck"], report["lost"], report["doubled_charges"]) == (0, 0, 0)
    assert report["stock_conserved"] is True
    assert report["seconds_to_settle"] == 2.0  # b: 9.0 - restart at 8.0 ... a: 3.0 - 1.0
    assert report["forged_publishes_refused"] == 1
    assert report["forged_on_pending_orders"] == 1  # the one the sidecar let through
    assert report["kills"] == [
        {"target": "orders/app", "killed_at": 4.0, "restarted_at": 8.0, "healthy_at": 10.0}
    ]
    assert report["profile"] == "redis"


def test_every_failure_is_named_with_its_orders() -> None:
    orders = [
        order(
            "stuck", status="pending", settled_at=None, payment_id=None, charge=None, shipment=None
        ),
        order("stranded", status="paid", settled_at=None, shipment=None),
        order("astray", status="cancelled", payment_id=None, charge=None),
        order(
            "lost", status="missing", settled_at=None, payment_id=None, charge=None, shipment=None
        ),
        order("forged", card=DECLINES, payment_id="forged-1", charge=None, forged_via="cart"),
        order("twice", payment_id="pay_2"),
        order(
            "late", accepted_at=None, status="pending", settled_at=None, charge=None, shipment=None
        ),
    ]
    forged = [ForgedPublish("cart", "forged", "forged-1", 204, 1.0)]
    report = summarise({"error": None}, [], orders, [Product("p", 10, stock=10)], forged)
    assert not report["passed"]
    assert (report["stuck"], report["lost"], report["doubled_charges"]) == (1, 1, 1)
    assert report["undelivered"] == 1
    assert sorted(report["problem_orders"]["shipped_wrongly"]) == ["astray", "forged"]
    assert (report["declined_paid"], report["forged_events_applied"]) == (1, 1)
    assert report["stock_conserved"] is False
    assert report["unacknowledged_orders"] == 1
    failures = "\n".join(report["failures"])
    for named in (
        "stuck",
        "not delivered at the deadline: stranded",
        "astray (shipped although the order is cancelled",
        "lost",
        "twice (paid under pay_2",
        "forged",
        "403",
        "p: 10",
    ):
        assert named in failures, failures


def test_a_run_that_accepted_nothing_or_stopped_early_fails() -> None:
    report = summarise({"error": "kafka: did not start"}, [], [], [], [])
    assert report["failures"] == [
        "the run did not complete: kafka: did not start",
        "no order was accepted: the run proves nothing",
    ]
