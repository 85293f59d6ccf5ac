"""Requests are counted by route template, and deliveries by topic and the outcome the
handler answered, the way the sidecar reads it."""

import httpx
import pytest
from fastapi import FastAPI, Response
from prometheus_client import REGISTRY

from shop_dapr.metrics import measure_app
from shop_dapr.subscriber import EventBody


def app() -> FastAPI:
    app = FastAPI()

    @app.get("/products/{product_id}")
    async def product(product_id: str) -> dict[str, str]:
        return {"id": product_id}

    @app.post("/events/things")
    async def things(body: EventBody, response: Response) -> dict[str, str]:
        if body.get("data") == "crash":
            response.status_code = 500
            return {}
        return {"status": body["data"]} if body.get("data") else {}

    measure_app(app)
    return app


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_requests_are_counted_and_timed_by_route_template() -> None:
    labels = {"method": "GET", "route": "/products/{product_id}"}
    before = value("shop_http_requests_total", **labels, status="200")
    timed = value("shop_http_request_duration_seconds_count", **labels)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app()), base_url="http://t") as c:
        for product_id in ("mug", "teapot"):
            assert (await c.get(f"/products/{product_id}")).status_code == 200
        assert (await c.get("/nowhere")).status_code == 404
        scraped = (await c.get("/metrics")).text
    assert value("shop_http_requests_total", **labels, status="200") == before + 2
    assert value("shop_http_request_duration_seconds_count", **labels) == timed + 2
    assert value("shop_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert 'route="/products/{product_id}"' in scraped
    assert 'route="/products/mug"' not in scraped


@pytest.mark.parametrize(
    ("data", "outcome"),
    [("SUCCESS", "success"), ("RETRY", "retry"), ("drop", "drop"), (None, "success"),
     ("crash", "retry")],
)  # fmt: skip
async def test_a_delivery_is_counted_by_topic_and_answer(data: str | None, outcome: str) -> None:
    labels = {"topic": "shop.things", "outcome": outcome}
    before = value("shop_events_handled_total", **labels)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app()), base_url="http://t") as c:
        await c.post("/events/things", json={"topic": "shop.things", "data": data})
    assert value("shop_events_handled_total", **labels) == before + 1
