"""Shipping's events in orders: paid -> shipped -> delivered, each event checked with
shipping (GET /shipments/{order_id}) before it is applied, every move announced."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from shop_contracts.orders import ORDER_STATUS_TOPIC, OrderStatusChanged
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore, InMemoryWorkflows
from shop_dapr.workflows import AppLoop

from orders.domain import created_event
from orders.service import OrdersService, PaymentOutcome
from orders.tests.fakes import (
    ALICE,
    CARD,
    TRACKING,
    FakeSidecar,
    open_checkouts,
    payment_event,
    shipment_event,
)
from orders.workflow import WorkflowCheckout

DISPATCHED = "/events/shipping/shipment-dispatched"
DELIVERED = "/events/shipping/shipment-delivered"


async def paid_order(client: httpx.AsyncClient, sidecar: FakeSidecar) -> str:
    order_id: str = (await client.post("/orders", json=CARD, headers=ALICE)).json()["order_id"]
    sidecar.charged(order_id)
    reply = await client.post(
        "/events/payments/payment-succeeded", json=payment_event("succeeded", order_id)
    )
    assert reply.json() == {"status": "SUCCESS"}
    return order_id


async def deliver(client: httpx.AsyncClient, path: str, event: dict[str, object]) -> str:
    reply = await client.post(path, json=event)
    status: str = reply.json()["status"]
    return status


def announced(publisher: InMemoryPublisher) -> list[tuple[str | None, str | None]]:
    """(event id, tracking number) of every order-status-changed published."""
    found: list[tuple[str | None, str | None]] = []
    for (topic, _, event), event_id in zip(publisher.published, publisher.ids, strict=True):
        if topic == ORDER_STATUS_TOPIC:
            assert isinstance(event, OrderStatusChanged)
            assert event_id == f"{event.order_id}.{event.status}"
            found.append((event_id, event.tracking_number))
    return found


async def counted(client: httpx.AsyncClient, series: str) -> float:
    """The value of one series of the app's /metrics (0 when absent)."""
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_dispatched_paid_order_is_shipped_with_its_tracking_number(
    client: httpx.AsyncClient, sidecar: FakeSidecar, publisher: InMemoryPublisher
) -> None:
    order_id = await paid_order(client, sidecar)
    publisher.published.clear()
    publisher.ids.clear()
    sidecar.shipment(order_id, "dispatched")
    assert await deliver(client, DISPATCHED, shipment_event("dispatched", order_id)) == "SUCCESS"
    got = (await client.get(f"/orders/{order_id}", headers=ALICE)).json()
    assert got["status"] == "shipped"
    assert got["shipment"] == {
        "tracking_number": TRACKING,
        "carrier": "DHL",
        "shipped_at": "2026-01-05T10:00:00Z",
        "delivered_at": None,
    }
    assert announced(publisher) == [(f"{order_id}.shipped", TRACKING)]
    series = 'shop_order_shipments_total{status="shipped"}'
    assert await counted(client, series) >= 1


async def test_a_redelivered_dispatch_is_a_no_op_announced_again(
    client: httpx.AsyncClient, sidecar: FakeSidecar, publisher: InMemoryPublisher
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    series = 'shop_order_shipments_total{status="shipped"}'
    before = await counted(client, series)
    publisher.published.clear()
    publisher.ids.clear()
    for _ in range(3):
        assert await deliver(client, DISPATCHED, shipment_event("dispatched", order_id)) == (
            "SUCCESS"
        )
    got = (await client.get(f"/orders/{order_id}", headers=ALICE)).json()
    assert (got["status"], got["shipment"]["tracking_number"]) == ("shipped", TRACKING)
    # Announced on every delivery (the earlier announcement may be what failed), always
    # under the same id: consumers see a repeat.
    assert announced(publisher) == [(f"{order_id}.shipped", TRACKING)] * 3
    assert await counted(client, series) == before + 1


async def test_a_failed_announcement_is_made_by_the_redelivery(
    client: httpx.AsyncClient, sidecar: FakeSidecar, publisher: InMemoryPublisher
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    publisher.failure = RuntimeError("broker down")
    assert await deliver(client, DISPATCHED, shipment_event("dispatched", order_id)) == "RETRY"
    publisher.failure = None
    publisher.published.clear()
    publisher.ids.clear()
    assert await deliver(client, DISPATCHED, shipment_event("dispatched", order_id)) == "SUCCESS"
    assert announced(publisher) == [(f"{order_id}.shipped", TRACKING)]


async def test_shipped_then_delivered(
    client: httpx.AsyncClient, sidecar: FakeSidecar, publisher: InMemoryPublisher
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    await deliver(client, DISPATCHED, shipment_event("dispatched", order_id))
    sidecar.shipment(order_id, "delivered")
    publisher.published.clear()
    publisher.ids.clear()
    for _ in range(2):
        assert await deliver(client, DELIVERED, shipment_event("delivered", order_id)) == (
            "SUCCESS"
        )
    got = (await client.get(f"/orders/{order_id}", headers=ALICE)).json()
    assert got["status"] == "delivered"
    assert got["shipment"] == {
        "tracking_number": TRACKING,
        "carrier": "DHL",
        "shipped_at": "2026-01-05T10:00:00Z",
        "delivered_at": "2026-01-07T15:30:00Z",
    }
    # The first delivery moved it from shipped: delivered only. The repeat found it
    # delivered already, and cannot tell whether its first delivery got to announce
    # shipped: both, under their ids.
    assert announced(publisher) == [
        (f"{order_id}.delivered", TRACKING),
        (f"{order_id}.shipped", TRACKING),
        (f"{order_id}.delivered", TRACKING),
    ]


async def test_delivered_before_dispatched_goes_through_shipped(
    client: httpx.AsyncClient, sidecar: FakeSidecar, publisher: InMemoryPublisher
) -> None:
    """Two topics, no order between them: delivered may come first."""
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "delivered")
    publisher.published.clear()
    publisher.ids.clear()
    assert await deliver(client, DELIVERED, shipment_event("delivered", order_id)) == "SUCCESS"
    got = (await client.get(f"/orders/{order_id}", headers=ALICE)).json()
    assert got["status"] == "delivered"
    assert got["shipment"]["shipped_at"] == "2026-01-05T10:00:00Z"
    assert announced(publisher) == [
        (f"{order_id}.shipped", TRACKING),
        (f"{order_id}.delivered", TRACKING),
    ]
    # The late dispatch changes nothing and says nothing older again.
    publisher.published.clear()
    publisher.ids.clear()
    assert await deliver(client, DISPATCHED, shipment_event("dispatched", order_id)) == "SUCCESS"
    assert (await client.get(f"/orders/{order_id}", headers=ALICE)).json()["status"] == (
        "delivered"
    )
    assert announced(publisher) == []


@pytest.mark.parametrize(
    ("kind", "known", "known_tracking", "event_tracking"),
    [
        ("dispatched", None, TRACKING, TRACKING),  # shipping has no shipment
        ("delivered", None, TRACKING, TRACKING),
        ("dispatched", "dispatched", TRACKING, "SHP-FORGED"),  # another parcel
        ("delivered", "delivered", TRACKING, "SHP-FORGED"),
        ("dispatched", "preparing", TRACKING, TRACKING),  # not handed over yet
        ("delivered", "dispatched", TRACKING, TRACKING),  # not delivered yet
        ("delivered", "preparing", TRACKING, TRACKING),
    ],
)
async def test_shipment_events_shipping_does_not_stand_behind_are_dead_lettered(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
    kind: str,
    known: str | None,
    known_tracking: str,
    event_tracking: str,
) -> None:
    order_id = await paid_order(client, sidecar)
    if known is not None:
        sidecar.shipment(order_id, known, known_tracking)
    series = f'shop_shipment_events_refused_total{{topic="shipping.shipment-{kind}"}}'
    before = await counted(client, series)
    publisher.published.clear()
    event = shipment_event(kind, order_id, event_tracking)
    assert await deliver(client, f"/events/shipping/shipment-{kind}", event) == "DROP"
    got = (await client.get(f"/orders/{order_id}", headers=ALICE)).json()
    assert (got["status"], got["shipment"]) == ("paid", None)
    assert publisher.published == []
    assert await counted(client, series) == before + 1


async def test_a_shipment_event_for_an_unknown_order_is_dead_lettered(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    sidecar.shipment("no-such-order", "dispatched")
    event = shipment_event("dispatched", "no-such-order")
    assert await deliver(client, DISPATCHED, event) == "DROP"


@pytest.mark.parametrize("kind", ["dispatched", "delivered"])
@pytest.mark.parametrize("how", ["failing", "unreachable"])
async def test_shipping_unavailable_means_retry_later(
    client: httpx.AsyncClient, sidecar: FakeSidecar, kind: str, how: str
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "delivered")
    if how == "failing":
        sidecar.shipping_down = True
    else:
        sidecar.down = True
    event = shipment_event(kind, order_id)
    assert await deliver(client, f"/events/shipping/shipment-{kind}", event) == "RETRY"
    sidecar.down = sidecar.shipping_down = False
    assert (await client.get(f"/orders/{order_id}", headers=ALICE)).json()["status"] == "paid"


@pytest.mark.parametrize("kind", ["dispatched", "delivered"])
async def test_a_shipment_for_a_cancelled_or_pending_order_is_dropped(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Shipping never ships those: even with a record behind it, a bug or a forgery."""
    cancelled = (await client.post("/orders", json=CARD, headers=ALICE)).json()["order_id"]
    sidecar.declined(cancelled)
    await client.post("/events/payments/payment-failed", json=payment_event("failed", cancelled))
    pending = (await client.post("/orders", json=CARD, headers=ALICE)).json()["order_id"]
    publisher.published.clear()
    for order_id, status in ((cancelled, "cancelled"), (pending, "pending")):
        sidecar.shipment(order_id, "delivered")
        event = shipment_event(kind, order_id)
        assert await deliver(client, f"/events/shipping/shipment-{kind}", event) == "DROP"
        got = (await client.get(f"/orders/{order_id}", headers=ALICE)).json()
        assert (got["status"], got["shipment"]) == (status, None)
        assert any(
            r.levelname == "ERROR" and f"is {status}" in r.getMessage() for r in caplog.records
        )
    assert publisher.published == []


async def test_shipping_changing_the_tracking_number_is_refused(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    await deliver(client, DISPATCHED, shipment_event("dispatched", order_id))
    sidecar.shipment(order_id, "delivered", "SHP-OTHER")
    event = shipment_event("delivered", order_id, "SHP-OTHER")
    assert await deliver(client, DELIVERED, event) == "DROP"
    got = (await client.get(f"/orders/{order_id}", headers=ALICE)).json()
    assert (got["status"], got["shipment"]["tracking_number"]) == ("shipped", TRACKING)


async def test_history_shows_the_shipment(client: httpx.AsyncClient, sidecar: FakeSidecar) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    await deliver(client, DISPATCHED, shipment_event("dispatched", order_id))
    [listed] = (await client.get("/orders", headers=ALICE)).json()
    assert (listed["status"], listed["shipment"]["tracking_number"]) == ("shipped", TRACKING)


# --- what came before shipping stays put ------------------------------------------------


async def test_a_late_payment_event_leaves_a_shipped_order_shipped(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
    state: InMemoryStateStore,
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    await deliver(client, DISPATCHED, shipment_event("dispatched", order_id))
    publisher.published.clear()
    publisher.ids.clear()
    late = await client.post(
        "/events/payments/payment-succeeded", json=payment_event("succeeded", order_id)
    )
    assert late.json() == {"status": "SUCCESS"}
    assert (await client.get(f"/orders/{order_id}", headers=ALICE)).json()["status"] == "shipped"
    # Paid was announced before shipping shipped it; nothing older is said again.
    assert publisher.published == []
    assert open_checkouts(state) == {}


async def test_the_sweeper_forgets_a_shipped_order_left_open_without_announcing_it(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
    service: OrdersService,
    state: InMemoryStateStore,
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "delivered")
    await deliver(client, DELIVERED, shipment_event("delivered", order_id))
    # Left open, as if the paid announcement's close had failed.
    order = await service.find(order_id)
    assert order is not None
    await service.track(created_event(order, "4242424242424242"))
    publisher.published.clear()
    assert await service.sweep(timedelta(0)) == 1
    assert publisher.published == []
    assert open_checkouts(state) == {}
    assert (await client.get(f"/orders/{order_id}", headers=ALICE)).json()["status"] == (
        "delivered"
    )


# --- the workflow style -----------------------------------------------------------------


def workflow_style(service: OrdersService, workflows: InMemoryWorkflows) -> WorkflowCheckout:
    checkout = WorkflowCheckout(
        service,
        workflows,
        AppLoop(asyncio.get_running_loop()),
        confirmation_timeout=timedelta(seconds=60),
        acceptance_deadline=timedelta(seconds=1),
    )
    service.chain_with(checkout.checkout, checkout.apply_outcome, checkout.moving)
    return checkout


async def test_the_workflow_never_moves_a_shipped_order_back(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
    service: OrdersService,
    state: InMemoryStateStore,
) -> None:
    """A workflow's confirm_order repeated after the order shipped (a crash lost the
    activity's result) confirms it: no refund, no cancellation, nothing announced."""
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    await deliver(client, DISPATCHED, shipment_event("dispatched", order_id))
    workflows = InMemoryWorkflows()
    checkout = workflow_style(service, workflows)
    publisher.published.clear()
    confirmed = await checkout._confirm_order({"order_id": order_id, "payment_id": "pay_1"})
    assert confirmed is True  # not False, which would refund it
    # A late confirmation from payments is not raised to the finished workflow.
    await checkout.apply_outcome(
        PaymentOutcome(order_id=order_id, status="succeeded", payment_id="pay_1")
    )
    assert workflows.raised == []
    assert (await client.get(f"/orders/{order_id}", headers=ALICE)).json()["status"] == "shipped"
    assert publisher.published == []
    assert open_checkouts(state) == {}


async def test_the_workflow_sweeper_forgets_a_shipped_order_and_asks_no_workflow(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
    service: OrdersService,
    state: InMemoryStateStore,
) -> None:
    order_id = await paid_order(client, sidecar)
    sidecar.shipment(order_id, "dispatched")
    await deliver(client, DISPATCHED, shipment_event("dispatched", order_id))
    order = await service.find(order_id)
    assert order is not None
    await service.track(created_event(order, None))  # in flight, as the workflow tracks
    workflows = InMemoryWorkflows()
    workflow_style(service, workflows)
    publisher.published.clear()
    assert await service.sweep(timedelta(0)) == 1
    assert publisher.published == []
    assert workflows.started == {} and workflows.raised == []
    assert open_checkouts(state) == {}
    assert (await service.find(order_id)) == order


async def test_a_workflow_checkout_is_shipped_like_any_other(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
    service: OrdersService,
) -> None:
    """The shipment handlers do not depend on the style: with the workflow chaining
    checkouts, a paid order ships and is announced the same."""
    order_id = await paid_order(client, sidecar)
    workflows = InMemoryWorkflows()
    workflow_style(service, workflows)
    sidecar.shipment(order_id, "delivered")
    publisher.published.clear()
    publisher.ids.clear()
    assert await deliver(client, DELIVERED, shipment_event("delivered", order_id)) == "SUCCESS"
    assert (await client.get(f"/orders/{order_id}", headers=ALICE)).json()["status"] == (
        "delivered"
    )
    assert announced(publisher) == [
        (f"{order_id}.shipped", TRACKING),
        (f"{order_id}.delivered", TRACKING),
    ]
    assert workflows.raised == []
