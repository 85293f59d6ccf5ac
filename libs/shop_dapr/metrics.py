"""Prometheus metrics of every service, served at `/metrics` on the app port.

Requests are measured by route template (never the raw path, which would make a series
per product id), and topic deliveries by topic and outcome. One process is one service:
the scrape configuration adds the `service` label. The sidecars serve their own
metrics (`dapr_*`) on their metrics ports; the dashboards under observability/ read both.
Business counters (checkouts, reservations) live here too, so every name is in one place.
"""

import json
import logging
import time

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shop.access")

REQUESTS = Counter(
    "shop_http_requests_total",
    "HTTP requests served, by route template and status code",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "shop_http_request_duration_seconds",
    "Time to serve an HTTP request, by route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
EVENTS_HANDLED = Counter(
    "shop_events_handled_total",
    "Topic deliveries handled, by topic and outcome (success, retry, drop)",
    ["topic", "outcome"],
)
CHECKOUTS = Counter(
    "shop_checkouts_total",
    "Checkouts, by outcome (placed, replayed: same Idempotency-Key, out_of_stock, rejected)",
    ["outcome"],
)
ORDERS_FINALISED = Counter(
    "shop_orders_finalised_total", "Orders reaching a final status (paid, cancelled)", ["status"]
)
PAYMENT_OUTCOMES_REFUSED = Counter(
    "shop_payment_outcomes_refused_total",
    "Payment events orders refused to apply (not matching the order or what payments "
    "knows: forged or misrouted), by topic",
    ["topic"],
)
SHIPMENTS = Counter(
    "shop_order_shipments_total",
    "Orders moved on by shipping's events, by status (shipped, delivered)",
    ["status"],
)
SHIPMENT_EVENTS_REFUSED = Counter(
    "shop_shipment_events_refused_total",
    "Shipment events orders refused to apply (no such shipment at shipping, another "
    "tracking number, or not that far yet: forged or misrouted), by topic",
    ["topic"],
)
SWEPT = Counter(
    "shop_checkouts_swept_total",
    "Checkouts the orders sweeper finished, by action (announced_again: still pending; "
    "finished: final status announced again; abandoned: never saved, stock released; "
    "voided: the provider never confirmed the charge; taken_over: its workflow stalled)",
    ["action"],
)
STOCK_RESERVATIONS = Counter(
    "shop_stock_reservations_total",
    "Stock reservations, by outcome (reserved, refused: not enough stock)",
    ["outcome"],
)
PAYMENTS = Counter(
    "shop_payments_total",
    "Charges settled by the provider, by outcome (succeeded, declined)",
    ["outcome"],
)
NOTIFICATIONS_SENT = Counter(
    "shop_notifications_sent_total",
    "Notifications sent, by channel (email, websocket: one per open socket)",
    ["channel"],
)

UNMEASURED = ("/metrics", "/healthz", "/readyz")
TOPIC_ROUTES = "/events/"
# Retry unless the handler said otherwise: that is what the sidecar does with a 2xx
# answer it cannot read, and with any non-2xx but 404.
_OUTCOME_OF_STATUS = {"SUCCESS": "success", "RETRY": "retry", "DROP": "drop"}


class MeasureRequests:
    """Counts and times every request (one access-log line each, inside the request's
    trace); for topic deliveries, also reads the handler's SUCCESS/RETRY/DROP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(UNMEASURED):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        is_delivery = path.startswith(TOPIC_ROUTES)
        reply = bytearray()

        async def measured_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif is_delivery and message["type"] == "http.response.body":
                reply.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(elapsed)
            if is_delivery:
                topic = scope.get("state", {}).get("event_topic") or route
                EVENTS_HANDLED.labels(topic, _delivery_outcome(status, reply)).inc()
            log.info("%s %s %d %.1fms", method, route, status, elapsed * 1000)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def _delivery_outcome(status: int, reply: bytes | bytearray) -> str:
    if status == 404:
        return "drop"  # the sidecar drops what the app does not route
    if not 200 <= status < 300:
        return "retry"
    try:
        answer = json.loads(reply).get("status", "SUCCESS")
    except (ValueError, AttributeError):
        return "success"  # a 2xx without a readable body is an acknowledgement
    return _OUTCOME_OF_STATUS.get(str(answer).upper(), "retry")


def measure_app(app: FastAPI) -> None:
    """Measure every request of `app` and serve the registry at `/metrics`."""
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    app.add_middleware(MeasureRequests)
