"""One checkout, seen three ways: as one connected trace in Zipkin across every app and
sidecar (HTTP and pub/sub hops alike), as counters that moved by exactly its effect, and
as log lines that carry its trace id and never a secret."""

import json
import re
import uuid
from dataclasses import dataclass
from secrets import token_hex
from typing import Any

import httpx
import pytest
from shop_contracts.notifications import ORDER_UPDATE_TOPIC

from tests.system.launcher import LOGS, ROOT, ZIPKIN_URL, Sidecar
from tests.system.shopper import PAYS, Shopper, admin_put_product, eventually

pytestmark = pytest.mark.system

TRACED = ("gateway", "orders", "catalog", "payments", "notifications", "shipping")
# daprd's OpenTelemetry exporter names its instrumentation scope so.
SIDECAR_SCOPE = "dapr-diagnostics"
DASHBOARDS = ROOT / "observability" / "grafana" / "dashboards"
ALERTS = ROOT / "observability" / "prometheus" / "alerts.yml"


@dataclass(frozen=True)
class Checkout:
    traceparent: str
    order_id: str
    shopper: Shopper
    style: str  # the checkout's style (tests/system/conftest.py STYLES)

    @property
    def trace_id(self) -> str:
        return self.traceparent.split("-")[1]


def scrape_all(shop: dict[str, Sidecar]) -> dict[str, dict[str, float]]:
    """Every sample of every app and sidecar, by source ("orders", "orders-sidecar")."""
    scraped = {}
    for app_id, sidecar in shop.items():
        scraped[app_id] = samples(httpx.get(f"{sidecar.app_url}/metrics", timeout=10).text)
        sidecar_metrics = f"http://127.0.0.1:{sidecar.metrics_port}/metrics"
        scraped[f"{app_id}-sidecar"] = samples(httpx.get(sidecar_metrics, timeout=10).text)
    return scraped


def samples(exposition: str) -> dict[str, float]:
    """`name{labels}` -> value, from the Prometheus text format."""
    found = {}
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            found[series] = float(value)
    return found


@pytest.fixture(scope="module")
def before(shop: dict[str, Sidecar], checkout_style: str) -> dict[str, dict[str, float]]:
    return scrape_all(shop)


@pytest.fixture(scope="module")
def checkout(
    shop: dict[str, Sidecar],
    secrets: dict[str, str],
    before: dict[str, dict[str, float]],
    checkout_style: str,
) -> Checkout:
    """A paid checkout, started under a trace id of the test's choosing (as a load
    balancer in front of the gateway would), its receipt mailed, shipped and delivered."""
    product = f"obs-{uuid.uuid4().hex[:10]}"
    admin_put_product(shop["catalog"], secrets["catalog-admin-token"], product, price_cents=990)
    shopper = Shopper(shop["gateway"].app_url).register_and_log_in()
    assert shopper.put_in_cart(product, 1).status_code == 200
    traceparent = f"00-{token_hex(16)}-{token_hex(8)}-01"
    placed = shopper.check_out(headers={"traceparent": traceparent})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    shopper.order_when(order_id, "delivered")
    eventually(lambda: len(shopper.mails()) == 2, "the receipt and 'on its way' mails")
    return Checkout(traceparent, order_id, shopper, checkout_style)


def test_a_checkout_is_one_trace_across_every_app_sidecar_and_event(checkout: Checkout) -> None:
    # The root's parent is the caller's span, which the test made up.
    callers_span = ("gateway", checkout.traceparent.split("-")[2])

    def trace() -> list[dict[str, Any]]:
        answer = httpx.get(f"{ZIPKIN_URL}/api/v2/trace/{checkout.trace_id}", timeout=10)
        return answer.json() if answer.status_code == 200 else []

    def flaws(spans: list[dict[str, Any]]) -> list[str]:
        ids = {span["id"] for span in spans}
        orphans = [
            f"{s['localEndpoint']['serviceName']} {s['name']} (parent {s['parentId']})"
            for s in spans
            if s.get("parentId") not in ids
            and (s["localEndpoint"]["serviceName"], s.get("parentId")) != callers_span
        ]
        return _missing(spans, checkout.style) + [f"orphan: {orphan}" for orphan in orphans]

    # Apps and sidecars export in batches, a parent often after its children: wait until
    # the trace is complete and connected.
    try:
        spans = eventually(lambda: (t := trace()) and not flaws(t) and t, "the trace", 45)
    except AssertionError:
        raise AssertionError(f"trace {checkout.trace_id}: {flaws(trace())}") from None

    # A delivery (daprd's `pubsub/<topic>` span at the subscriber) hangs from a span of
    # the service that published it: another service, or for the live feed's broadcast,
    # notifications itself (every instance gets it, the publisher's own included).
    by_id = {span["id"]: span for span in spans}
    deliveries = [s for s in spans if s["name"].startswith("pubsub/")]
    assert len(deliveries) >= 4
    for delivery in deliveries:
        publisher = by_id[delivery["parentId"]]["localEndpoint"]["serviceName"]
        subscriber = delivery["localEndpoint"]["serviceName"]
        if delivery["name"] == f"pubsub/{ORDER_UPDATE_TOPIC}":
            assert publisher == subscriber == "notifications", delivery
        else:
            assert publisher != subscriber, delivery


def _missing(spans: list[dict[str, Any]], style: str) -> list[str]:
    """What the trace still lacks: an app span and a sidecar span of each traced
    service, the delivery of each event of the checkout and, in the workflow style,
    each activity of the workflow."""
    seen = set()
    for span in spans:
        service = span.get("localEndpoint", {}).get("serviceName", "")
        side = "sidecar" if span.get("tags", {}).get("otel.scope.name") == SIDECAR_SCOPE else "app"
        seen.add(f"{service} {side}")
        seen.add(f"{service} {span['name']}")
    wanted = [f"{service} {side}" for service in TRACED for side in ("app", "sidecar")]
    wanted += [
        "payments pubsub/orders.order-created",
        "notifications pubsub/orders.order-status-changed",
        "catalog pubsub/orders.order-status-changed",
        # Shipping (Go) takes the paid order's event, and its carrier's events, published
        # later from its sweeper, continue the same trace.
        "shipping pubsub/orders.order-status-changed",
        "orders pubsub/shipping.shipment-dispatched",
        "orders pubsub/shipping.shipment-delivered",
    ]
    if style == "workflow":
        steps = ("reserve_stock", "place_order", "charge", "confirm_order")
        wanted += [f"orders orders.workflow.{step}" for step in steps]
    else:
        wanted += ["orders pubsub/payments.payment-succeeded"]
    return [item for item in wanted if item not in seen]


def test_counters_moved_by_exactly_one_checkout(
    checkout: Checkout, before: dict[str, dict[str, float]], shop: dict[str, Sidecar]
) -> None:
    expected = {
        ("orders", 'shop_checkouts_total{outcome="placed"}'): 1,
        ("orders", 'shop_orders_finalised_total{status="paid"}'): 1,
        ("catalog", 'shop_stock_reservations_total{outcome="reserved"}'): 1,
        ("payments", 'shop_payments_total{outcome="succeeded"}'): 1,
        ("notifications", 'shop_notifications_sent_total{channel="email"}'): 2,
        ("shipping", "shop_shipments_created_total"): 1,
        (
            "shipping",
            'shop_shipping_events_published_total{topic="shipping.shipment-delivered"}',
        ): 1,
        ("orders", 'shop_order_shipments_total{status="delivered"}'): 1,
        (
            "payments",
            'shop_events_handled_total{outcome="success",topic="orders.order-created"}',
        ): 1,
    }
    if checkout.style == "choreography":
        # The workflow charges by invocation: no payment event is published for it.
        outcome = 'shop_events_handled_total{outcome="success",topic="payments.payment-succeeded"}'
        expected[("orders", outcome)] = 1

    def moved() -> dict[tuple[str, str], float]:
        after = scrape_all(shop)
        return {
            key: after[key[0]].get(key[1], 0) - before[key[0]].get(key[1], 0) for key in expected
        }

    # The last events may still be on their way when the order reads paid.
    try:
        eventually(lambda: moved() == expected, "the counters to move", timeout=20)
    except AssertionError:
        assert moved() == expected
    requests = scrape_all(shop)["gateway"]
    assert requests['shop_http_requests_total{method="POST",route="/api/v1/orders",status="201"}']


def test_every_metric_of_every_dashboard_and_alert_is_exported(
    checkout: Checkout, shop: dict[str, Sidecar]
) -> None:
    exported = {series.split("{")[0] for source in scrape_all(shop).values() for series in source}
    queried = metric_names_in_dashboards_and_alerts()
    assert len(queried) >= 10, queried
    if checkout.style == "choreography":
        # Only a sidecar whose app has run a workflow exports these.
        queried = {name for name in queried if not name.startswith("dapr_runtime_workflow_")}
    assert not queried - exported, f"queried but exported by nothing: {queried - exported}"


def metric_names_in_dashboards_and_alerts() -> set[str]:
    import yaml

    expressions = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            expressions += [target["expr"] for target in panel.get("targets", [])]
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        expressions += [rule["expr"] for rule in group["rules"]]
    # Our metrics and daprd's share prefixes; a name is followed by `{`, `[` or `)`.
    return {name for expr in expressions for name in re.findall(r"\b((?:shop|dapr)_\w+)", expr)}


def test_the_logs_of_a_checkout_carry_its_trace_and_no_secret(
    checkout: Checkout, shop: dict[str, Sidecar], secrets: dict[str, str]
) -> None:
    def lines_of(app_id: str) -> list[dict[str, Any]]:
        path = LOGS / f"test-{app_id}-app.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line[:1] == "{"]

    def traced_everywhere() -> bool:
        return all(
            any(line.get("trace_id") == checkout.trace_id for line in lines_of(app_id))
            for app_id in TRACED
        )

    eventually(traced_everywhere, f"trace {checkout.trace_id} in every service's log")
    for app_id in ("orders", "payments", "notifications", "shipping"):
        of_order = [line for line in lines_of(app_id) if line.get("order_id") == checkout.order_id]
        assert of_order, f"no {app_id} log line names order {checkout.order_id}"
        assert {line["service"] for line in of_order} == {app_id}

    never_logged = {
        **{f"secret {name}": value for name, value in secrets.items()},
        **{f"{app_id} dapr-api-token": s.api_token for app_id, s in shop.items()},
        **{f"{app_id} app-api-token": s.app_token for app_id, s in shop.items()},
        "the shopper's password": checkout.shopper.password,
        "the shopper's bearer token": checkout.shopper.token,
        "the card number": PAYS,
    }
    for log in sorted(LOGS.glob("test-*.log")):
        text = log.read_text(errors="replace")
        leaked = [what for what, value in never_logged.items() if _appears(value, text)]
        assert not leaked, f"{log.name} contains {leaked}"


def _appears(value: str, text: str) -> bool:
    # A PEM key is checked by its body lines; short values would match by chance.
    parts = [p for p in value.splitlines() if len(p) >= 16 and "-----" not in p] or [value]
    return any(part in text for part in parts if len(part) >= 8)
