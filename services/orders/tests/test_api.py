"""Orders in-process: checkout, history, payment outcomes and the sweeper (the fixtures
are in conftest.py, the fake sidecar in fakes.py)."""

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from shop_contracts.orders import (
    ORDER_CREATED_TOPIC,
    ORDER_CREATED_TYPE,
    ORDER_STATUS_TOPIC,
    OrderCreated,
    OrderStatus,
)
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore

from orders.domain import Order, created_event
from orders.service import OrdersService
from orders.tests.fakes import ALICE, CARD, FakeSidecar, open_checkouts, payment_event


async def test_checkout_saves_the_order_then_announces_it(
    client: httpx.AsyncClient,
    state: InMemoryStateStore,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
) -> None:
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending"
    # Priced by the catalog now, not by the cart's earlier view (999).
    assert order["total_cents"] == 2500
    assert order["card_last4"] == "4242"
    assert "4242424242424242" not in json.dumps(order)
    [(topic, event_type, event)] = publisher.published
    assert (topic, event_type) == (ORDER_CREATED_TOPIC, ORDER_CREATED_TYPE)
    assert isinstance(event, OrderCreated)
    assert (event.order_id, event.total_cents, event.payment_token) == (
        order["order_id"],
        2500,
        "4242424242424242",
    )
    # Under an id of its own, so that announcing it again is recognised as a repeat.
    assert publisher.ids == [f"{order['order_id']}.created"]
    assert sidecar.held[order["order_id"]] == [{"product_id": "mug", "quantity": 2}]
    # Open until paid or cancelled: the sweeper would finish it after a crash.
    assert list(open_checkouts(state)) == [order["order_id"]]


async def test_same_idempotency_key_makes_one_order(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, sidecar: FakeSidecar
) -> None:
    headers = {**ALICE, "Idempotency-Key": "checkout-1"}
    first = await client.post("/orders", json=CARD, headers=headers)
    again = await client.post("/orders", json=CARD, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(publisher.published) == 1
    assert sidecar.reserve_calls == 1
    other = await client.post("/orders", json=CARD, headers={**ALICE, "Idempotency-Key": "2"})
    assert other.json()["order_id"] != first.json()["order_id"]


async def test_empty_cart_is_409(client: httpx.AsyncClient, sidecar: FakeSidecar) -> None:
    sidecar.cart = []
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 409
    assert "cart is empty" in response.json()["detail"]


async def test_out_of_stock_is_409_and_saves_no_order(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    state: InMemoryStateStore,
    publisher: InMemoryPublisher,
    service: OrdersService,
) -> None:
    sidecar.cart[0]["quantity"] = 6
    headers = {**ALICE, "Idempotency-Key": "too-many"}
    response = await client.post("/orders", json=CARD, headers=headers)
    assert response.status_code == 409
    assert "only 5" in response.json()["detail"]
    assert not any(key.startswith("order:") for key in state.entries)
    assert publisher.published == []
    # The sweeper gives the order id up; the same key then gets a refusal, not an order.
    assert await service.sweep(timedelta(0)) == 1
    assert open_checkouts(state) == {}
    sidecar.cart[0]["quantity"] = 1
    again = await client.post("/orders", json=CARD, headers=headers)
    assert again.status_code == 409
    assert "send a new key" in again.json()["detail"]


async def test_product_no_longer_sold_is_409(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    del sidecar.prices["mug"]
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 409
    assert "no longer sold: mug" in response.json()["detail"]


async def test_unreachable_services_are_503_and_save_nothing(
    client: httpx.AsyncClient, sidecar: FakeSidecar, state: InMemoryStateStore
) -> None:
    sidecar.down = True
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 503
    assert state.entries == {}  # priced before anything is written


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"payment_token": "abc"}, ALICE),
        ({}, ALICE),
        ({"payment_token": 4242424242424242}, ALICE),
        (CARD, {**ALICE, "Idempotency-Key": "x" * 101}),
    ],
)
async def test_bad_checkout_input_is_422(
    client: httpx.AsyncClient, body: dict[str, object], headers: dict[str, str]
) -> None:
    assert (await client.post("/orders", json=body, headers=headers)).status_code == 422


async def test_no_user_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.post("/orders", json=CARD)).status_code == 401


async def test_history_and_privacy(client: httpx.AsyncClient) -> None:
    first = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    second = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    history = (await client.get("/orders", headers=ALICE)).json()
    assert [o["order_id"] for o in history] == [second["order_id"], first["order_id"]]
    bob = {"X-User-Id": "bob", "X-User-Email": "bob@example.com"}
    assert (await client.get(f"/orders/{first['order_id']}", headers=bob)).status_code == 404
    assert (await client.get("/orders", headers=bob)).json() == []


async def test_payment_success_marks_paid_and_announces_it_on_every_delivery(
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    sidecar: FakeSidecar,
    state: InMemoryStateStore,
) -> None:
    order = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    publisher.published.clear()
    sidecar.charged(order["order_id"])
    for _ in range(2):
        reply = await client.post(
            "/events/payments/payment-succeeded", json=payment_event("succeeded", order["order_id"])
        )
        assert reply.json() == {"status": "SUCCESS"}
    got = (await client.get(f"/orders/{order['order_id']}", headers=ALICE)).json()
    assert (got["status"], got["payment_id"]) == ("paid", "pay_1")
    statuses = [(t, p.status) for t, _, p in publisher.published]  # type: ignore[attr-defined]
    assert statuses == [(ORDER_STATUS_TOPIC, "paid")] * 2
    assert open_checkouts(state) == {}


async def test_payment_failure_cancels_with_the_reason(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    order = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    sidecar.declined(order["order_id"])
    await client.post(
        "/events/payments/payment-failed", json=payment_event("failed", order["order_id"])
    )
    got = (await client.get(f"/orders/{order['order_id']}", headers=ALICE)).json()
    assert (got["status"], got["reason"]) == ("cancelled", "card_declined")
    # A late success for a cancelled order cannot apply: dropped, not retried forever.
    late = await client.post(
        "/events/payments/payment-succeeded", json=payment_event("succeeded", order["order_id"])
    )
    assert late.json() == {"status": "DROP"}


@pytest.mark.parametrize("body", [{"id": "x"}, None, payment_event("succeeded", "no-such-order")])
async def test_unusable_events_are_dropped(client: httpx.AsyncClient, body: object) -> None:
    reply = await client.post("/events/payments/payment-succeeded", json=body)
    assert reply.json() == {"status": "DROP"}


@pytest.mark.parametrize(
    ("kind", "known", "event_amount", "event_payment"),
    [
        ("succeeded", None, 2500, "pay_1"),  # payments never charged it
        ("succeeded", "declined", 2500, "pay_1"),  # payments declined it
        ("succeeded", "succeeded", 1, "pay_1"),  # not the order's amount
        ("succeeded", "succeeded", 2500, "forged"),  # a payment payments does not know
        ("failed", None, 0, ""),  # a decline payments never saw
        ("failed", "succeeded", 0, ""),  # a decline of a charge that went through
    ],
)
async def test_payment_events_that_do_not_match_are_dead_lettered_never_applied(
    client: httpx.AsyncClient,
    sidecar: FakeSidecar,
    kind: str,
    known: str | None,
    event_amount: int,
    event_payment: str,
) -> None:
    order = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    if known == "succeeded":
        sidecar.charged(order["order_id"])
    elif known == "declined":
        sidecar.declined(order["order_id"])
    event = payment_event(kind, order["order_id"], event_amount, event_payment)
    reply = await client.post(f"/events/payments/payment-{kind}", json=event)
    assert reply.json() == {"status": "DROP"}  # to the dead-letter topic
    got = (await client.get(f"/orders/{order['order_id']}", headers=ALICE)).json()
    assert got["status"] == "pending"
    metrics = (await client.get("/metrics")).text
    assert f'shop_payment_outcomes_refused_total{{topic="payments.payment-{kind}"}}' in metrics


async def test_payments_unreachable_means_retry_later(
    client: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    order = (await client.post("/orders", json=CARD, headers=ALICE)).json()
    sidecar.down = True
    reply = await client.post(
        "/events/payments/payment-succeeded", json=payment_event("succeeded", order["order_id"])
    )
    assert reply.json() == {"status": "RETRY"}


async def test_an_order_whose_announcement_failed_is_announced_by_the_sweeper(
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    service: OrdersService,
    state: InMemoryStateStore,
) -> None:
    publisher.failure = RuntimeError("broker down")
    response = await client.post("/orders", json=CARD, headers=ALICE)
    assert response.status_code == 201  # saved: accepted, whatever the broker does
    order_id = response.json()["order_id"]
    assert await service.sweep(timedelta(seconds=60)) == 0  # still within its grace
    assert await service.sweep(timedelta(0)) == 0  # the broker still down: tried, not done
    publisher.failure = None
    assert await service.sweep(timedelta(0)) == 1
    [(topic, _, event)] = publisher.published
    assert (topic, event.order_id) == (ORDER_CREATED_TOPIC, order_id)  # type: ignore[attr-defined]
    assert publisher.ids == [f"{order_id}.created"]
    assert list(open_checkouts(state)) == [order_id]  # until paid or cancelled
    # Announced once lately: the next sweeps leave it alone for a while (30 s).
    assert await service.sweep(timedelta(0)) == 0
    assert len(publisher.published) == 1


async def test_a_settled_order_whose_announcement_failed_is_finished_by_the_sweeper(
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    service: OrdersService,
    sidecar: FakeSidecar,
    state: InMemoryStateStore,
) -> None:
    order_id = (await client.post("/orders", json=CARD, headers=ALICE)).json()["order_id"]
    sidecar.declined(order_id)
    publisher.failure = RuntimeError("broker down")
    failed = await client.post(
        "/events/payments/payment-failed", json=payment_event("failed", order_id)
    )
    assert failed.json() == {"status": "RETRY"}  # the sidecar would redeliver; say it never does
    publisher.failure = None
    publisher.published.clear()
    publisher.ids.clear()
    assert await service.sweep(timedelta(0)) == 1
    [(topic, _, event)] = publisher.published
    assert (topic, event.status) == (ORDER_STATUS_TOPIC, "cancelled")  # type: ignore[attr-defined]
    assert publisher.ids == [f"{order_id}.cancelled"]
    assert open_checkouts(state) == {}


async def test_a_checkout_that_died_before_saving_is_abandoned_and_its_stock_released(
    client: httpx.AsyncClient,
    service: OrdersService,
    sidecar: FakeSidecar,
    state: InMemoryStateStore,
    publisher: InMemoryPublisher,
) -> None:
    # The order's save fails after the stock was held (the process died, say).
    failing_create = state.create

    async def crash(key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        if key.startswith("order:"):
            raise ConnectionError("the state store went away")
        return await failing_create(key, value, ttl_seconds)

    state.create = crash  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await client.post("/orders", json=CARD, headers={**ALICE, "Idempotency-Key": "k"})
    state.create = failing_create  # type: ignore[method-assign]
    [order_id] = sidecar.held

    assert await service.sweep(timedelta(0)) == 1
    assert sidecar.released == [order_id] and sidecar.held == {}
    assert open_checkouts(state) == {}
    assert publisher.published == []  # nobody was ever told of it
    # Hidden from the buyer, and the id is taken: a late save of it cannot happen.
    assert (await client.get(f"/orders/{order_id}", headers=ALICE)).status_code == 404
    assert (await client.get("/orders", headers=ALICE)).json() == []
    retry = await client.post("/orders", json=CARD, headers={**ALICE, "Idempotency-Key": "k"})
    assert retry.status_code == 409


# --- the sweeper and the workflow style: a checkout whose workflow stalled -----------


async def workflow_checkout(
    service: OrdersService, state: InMemoryStateStore, status: str = "pending"
) -> str:
    """A checkout as the workflow style leaves it when its workflow stalls: tracked in
    flight (no card token: the workflow charges), the order saved with `status`."""
    order = await service.draft("wf-1", "alice", "alice@example.com", "4242424242424242")
    await service.track(created_event(order, None))
    saved = order.model_copy(update={"status": OrderStatus(status)})
    await state.save("order:wf-1", saved.model_dump_json().encode())
    return order.order_id


async def no_chain(*args: str) -> tuple[Order, bool]:
    raise AssertionError("no checkout is placed here")


def workflow_moving(answer: bool) -> Callable[[str], Awaitable[bool]]:
    async def moving(order_id: str) -> bool:
        return answer

    return moving


async def test_a_moving_workflow_is_left_alone(
    service: OrdersService, state: InMemoryStateStore, sidecar: FakeSidecar
) -> None:
    await workflow_checkout(service, state)
    service.chain_with(no_chain, service.settle, workflow_moving(True))
    assert await service.sweep(timedelta(0)) == 0
    assert list(open_checkouts(state)) == ["wf-1"]


async def test_a_stalled_workflow_with_money_taken_is_paid_by_the_sweeper(
    service: OrdersService,
    state: InMemoryStateStore,
    sidecar: FakeSidecar,
    publisher: InMemoryPublisher,
) -> None:
    await workflow_checkout(service, state)
    sidecar.charged("wf-1")
    service.chain_with(no_chain, service.settle, workflow_moving(False))
    assert await service.sweep(timedelta(0)) == 1
    order = await service.find("wf-1")
    assert order is not None and order.status == "paid"
    assert (publisher.published[-1][0], publisher.ids[-1]) == (ORDER_STATUS_TOPIC, "wf-1.paid")
    assert open_checkouts(state) == {}


async def test_a_stalled_workflow_that_charged_nothing_is_cancelled_and_released(
    service: OrdersService, state: InMemoryStateStore, sidecar: FakeSidecar
) -> None:
    await workflow_checkout(service, state)
    service.chain_with(no_chain, service.settle, workflow_moving(False))
    assert await service.sweep(timedelta(0)) == 1
    order = await service.find("wf-1")
    assert order is not None and (order.status, order.reason) == ("cancelled", "not_charged")
    assert sidecar.released == ["wf-1"]
    assert open_checkouts(state) == {}


async def test_a_settled_workflow_order_is_announced_even_while_its_workflow_runs(
    service: OrdersService, state: InMemoryStateStore, publisher: InMemoryPublisher
) -> None:
    """Paid while the broker was down, its workflow stuck announcing it: the sweeper
    announces it (idempotently) without waiting for the workflow."""
    await workflow_checkout(service, state, status="paid")
    service.chain_with(no_chain, service.settle, workflow_moving(True))
    assert await service.sweep(timedelta(0)) == 1
    assert publisher.ids[-1] == "wf-1.paid"
    assert open_checkouts(state) == {}
