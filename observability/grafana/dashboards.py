"""Writes the Grafana dashboards under dashboards/ from the panel lists below, so each
panel is one line to read and change: `python observability/grafana/dashboards.py`.
A test keeps the JSON files in step with this script, and a system test checks that
every metric they query is exported by a running shop."""

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
# (title, unit, [(PromQL, legend)]); one row of two panels after another.
Panel = tuple[str, str, list[tuple[str, str]]]

OVERVIEW: list[Panel] = [
    (
        "Checkouts by outcome",
        "ops",
        [("sum by (outcome) (rate(shop_checkouts_total[1m]))", "{{outcome}}")],
    ),
    (
        "Orders paid and cancelled",
        "ops",
        [("sum by (status) (rate(shop_orders_finalised_total[1m]))", "{{status}}")],
    ),
    (
        "Gateway latency",
        "s",
        [
            (
                'histogram_quantile(0.5, sum by (le) (rate(shop_http_request_duration_seconds_bucket{service="gateway"}[1m])))',
                "p50",
            ),
            (
                'histogram_quantile(0.99, sum by (le) (rate(shop_http_request_duration_seconds_bucket{service="gateway"}[1m])))',
                "p99",
            ),
        ],
    ),
    (
        "Server errors (5xx) by service",
        "ops",
        [('sum by (service) (rate(shop_http_requests_total{status=~"5.."}[1m]))', "{{service}}")],
    ),
    (
        "Stock reservations",
        "ops",
        [("sum by (outcome) (rate(shop_stock_reservations_total[1m]))", "{{outcome}}")],
    ),
    (
        "Payments by outcome",
        "ops",
        [("sum by (outcome) (rate(shop_payments_total[1m]))", "{{outcome}}")],
    ),
    # Shipping's own (services/shipping/metrics.go): a shipment a paid order, the events
    # its carrier publishes, what it refuses (a malformed event, or a paid event payments
    # contradicts: forged or misrouted), and what is not delivered yet.
    (
        "Shipments created, and shipping's events published by topic",
        "ops",
        [
            ("sum(rate(shop_shipments_created_total[1m]))", "created"),
            ("sum by (topic) (rate(shop_shipping_events_published_total[1m]))", "{{topic}}"),
        ],
    ),
    (
        "Events shipping refused, by reason",
        "ops",
        [("sum by (reason) (rate(shop_shipping_events_refused_total[5m]))", "{{reason}}")],
    ),
    (
        "Open shipments (not delivered yet)",
        "none",
        [("sum(shop_shipping_open_shipments)", "open")],
    ),
    (
        "Events handled by outcome",
        "ops",
        [("sum by (outcome) (rate(shop_events_handled_total[1m]))", "{{outcome}}")],
    ),
    ("Services up (app and sidecar)", "none", [("sum by (job) (up)", "{{job}}")]),
]

SERVICE: list[Panel] = [
    (
        "Requests by route",
        "reqps",
        [('sum by (route) (rate(shop_http_requests_total{service="$service"}[1m]))', "{{route}}")],
    ),
    (
        "Errors by route and status",
        "reqps",
        [
            (
                'sum by (route, status) (rate(shop_http_requests_total{service="$service",status=~"[45].."}[1m]))',
                "{{route}} {{status}}",
            )
        ],
    ),
    (
        "Latency p99 by route",
        "s",
        [
            (
                'histogram_quantile(0.99, sum by (le, route) (rate(shop_http_request_duration_seconds_bucket{service="$service"}[1m])))',
                "{{route}}",
            )
        ],
    ),
    (
        "Latency p50 by route",
        "s",
        [
            (
                'histogram_quantile(0.5, sum by (le, route) (rate(shop_http_request_duration_seconds_bucket{service="$service"}[1m])))',
                "{{route}}",
            )
        ],
    ),
    (
        "Sidecar: requests from the app (its HTTP API)",
        "reqps",
        [
            (
                'sum by (method) (rate(dapr_http_server_request_count{app_id="$service"}[1m]))',
                "http {{method}}",
            ),
        ],
    ),
    (
        "Sidecar: state store p99 by operation",
        "ms",
        [
            (
                'histogram_quantile(0.99, sum by (le, operation) (rate(dapr_component_state_latencies_bucket{app_id="$service"}[1m])))',
                "{{operation}}",
            )
        ],
    ),
    (
        "Resident memory",
        "bytes",
        [('process_resident_memory_bytes{service="$service"}', "{{job}}")],
    ),
    (
        "CPU",
        "percentunit",
        [('rate(process_cpu_seconds_total{service="$service"}[1m])', "{{job}}")],
    ),
]

EVENT_FLOW: list[Panel] = [
    ("Published, by topic (sidecars)", "ops", [
        ('sum by (topic) (rate(dapr_component_pubsub_egress_count{topic!~".*dead-letter"}[1m]))', "{{topic}}")]),
    ("Handled by the apps, by topic and outcome", "ops", [
        ("sum by (service, topic, outcome) (rate(shop_events_handled_total[1m]))", "{{service}} {{topic}} {{outcome}}")]),
    ("Delivered by the sidecars, by status", "ops", [
        ("sum by (app_id, topic, process_status) (rate(dapr_component_pubsub_ingress_count[1m]))", "{{app_id}} {{topic}} {{process_status}}")]),
    ("Dead-lettered, by topic", "ops", [
        ('sum by (topic) (rate(dapr_component_pubsub_egress_count{topic=~".*dead-letter"}[5m]))', "{{topic}}")]),
    ("Delivery latency p99 (sidecar to app and back)", "ms", [
        ("histogram_quantile(0.99, sum by (le, app_id, topic) (rate(dapr_component_pubsub_ingress_latencies_bucket[1m])))", "{{app_id}} {{topic}}")]),
    ("Handler time p99, by topic", "s", [
        ('histogram_quantile(0.99, sum by (le, service, route) (rate(shop_http_request_duration_seconds_bucket{route=~"/events/.*"}[1m])))', "{{service}} {{route}}")]),
    # CHECKOUT_STYLE=workflow: orders' sidecar runs the checkout workflow (empty otherwise).
    ("Checkout workflows finished, by status (orders' sidecar)", "ops", [
        ("sum by (workflow_name, status) (rate(dapr_runtime_workflow_execution_count[1m]))", "{{workflow_name}} {{status}}")]),
    ("Workflow activities, by activity and status", "ops", [
        ("sum by (activity_name, status) (rate(dapr_runtime_workflow_activity_execution_count[1m]))", "{{activity_name}} {{status}}")]),
    ("Workflow activity time p99, by activity", "ms", [
        ("histogram_quantile(0.99, sum by (le, activity_name) (rate(dapr_runtime_workflow_activity_execution_latency_bucket[1m])))", "{{activity_name}}")]),
    ("Checkout workflow time p99, start to finish", "ms", [
        ("histogram_quantile(0.99, sum by (le, workflow_name) (rate(dapr_runtime_workflow_execution_latency_bucket[1m])))", "{{workflow_name}}")]),
]  # fmt: skip


def dashboard(uid: str, title: str, panels: list[Panel], per_service: bool = False) -> Any:
    return {
        "uid": uid,
        "title": title,
        "tags": ["shop"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [_service_variable()] if per_service else []},
        "panels": [_panel(i, *panel) for i, panel in enumerate(panels)],
    }


def _panel(index: int, title: str, unit: str, queries: list[tuple[str, str]]) -> Any:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for n, (expr, legend) in enumerate(queries)
        ],
    }  # fmt: skip


def _service_variable() -> Any:
    return {
        "name": "service",
        "type": "query",
        "datasource": DATASOURCE,
        "query": "label_values(up, service)",
        "refresh": 1,
        "current": {"text": "gateway", "value": "gateway"},
    }


DASHBOARDS = {
    "shop-overview.json": dashboard("shop-overview", "Shop overview", OVERVIEW),
    "shop-service.json": dashboard("shop-service", "Shop service", SERVICE, per_service=True),
    "shop-event-flow.json": dashboard("shop-event-flow", "Shop event flow", EVENT_FLOW),
}


def rendered(content: Any) -> str:
    return json.dumps(content, indent=2) + "\n"


if __name__ == "__main__":
    for name, content in DASHBOARDS.items():
        (HERE / "dashboards" / name).write_text(rendered(content))
        print(f"wrote {HERE / 'dashboards' / name}")
