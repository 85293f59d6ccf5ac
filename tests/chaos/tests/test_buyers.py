"""A buyer as a client: what it retries and what it reports."""

import time

import httpx

from tests.chaos.buyers import Buyer, Crowd
from tests.chaos.clock import Clock


def test_a_2xx_with_a_body_that_is_not_json_is_recorded_and_asked_again() -> None:
    answers = iter([httpx.Response(200, content=b""), httpx.Response(200, json={"ok": 1})])
    sent: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("idempotency-key", ""))
        return next(answers)

    crowd = Crowd(["http://gateway"], Clock(), rate=1, in_flight=1, deadline=10)
    crowd._clients = [httpx.Client(transport=httpx.MockTransport(gateway), base_url="http://gw")]
    buyer = Buyer(number=1, card="4242424242424242", product_ids=["p"])
    headers = {"Idempotency-Key": buyer.idempotency_key}
    body = crowd._answer(buyer, time.monotonic() + 10, "POST", "/orders", (200,), headers=headers)
    assert body == {"ok": 1}
    assert sent == [buyer.idempotency_key] * 2  # the same key: no second order
    assert buyer.retries == 1
    assert buyer.broken_answers == [
        "POST /orders: HTTP 200, content-type None, a body that is not JSON: ''"
    ]


def test_a_retry_goes_to_the_next_gateway_instance() -> None:
    asked: list[str] = []

    def dead(request: httpx.Request) -> httpx.Response:
        asked.append("dead")
        raise httpx.ConnectError("connection refused", request=request)

    def alive(request: httpx.Request) -> httpx.Response:
        asked.append("alive")
        return httpx.Response(201, json={"order_id": "o1"})

    crowd = Crowd(["http://gw1", "http://gw2"], Clock(), rate=1, in_flight=1, deadline=10)
    crowd._clients = [
        httpx.Client(transport=httpx.MockTransport(handler), base_url=f"http://{name}")
        for name, handler in (("gw1", dead), ("gw2", alive))
    ]
    buyer = Buyer(number=2, card="4242424242424242", product_ids=["p"])  # starts on gw1
    answer = crowd._call(buyer, time.monotonic() + 10, "POST", "/orders", (201,))
    assert answer.status_code == 201
    assert asked == ["dead", "alive"]
    assert buyer.retries == 1
