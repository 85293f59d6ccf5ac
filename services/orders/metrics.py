"""The orders app's counters of shipping's events. The shop's other counters are in
shop_dapr.metrics; these are the orders app's alone (served at its `/metrics` with the
rest)."""

from prometheus_client import Counter

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
