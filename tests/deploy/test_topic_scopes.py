"""Only a topic's owner publishes it: the pubsub components' publishingScopes, checked
against the declarative subscriptions and the component scopes, offline."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from shop_dapr.health import READINESS_TOPIC

from tools.contracts import parse_publishing_scopes

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("redis", "kafka-postgres")
# Who owns which topic: the one app that may publish it.
OWNERS = {
    "orders.order-created": "orders",
    "orders.order-status-changed": "orders",
    "payments.payment-succeeded": "payments",
    "payments.payment-failed": "payments",
    "catalog.product-changed": "catalog",
    "shipping.shipment-dispatched": "shipping",
    "shipping.shipment-delivered": "shipping",
}


def pubsub(profile: str) -> dict[str, Any]:
    component: dict[str, Any] = yaml.safe_load(
        (ROOT / "components" / profile / "pubsub.yaml").read_text()
    )
    return component


def publishing_scopes(component: dict[str, Any]) -> dict[str, set[str]]:
    """app -> topics, parsed as daprd does (tools/contracts.py, which the AsyncAPI uses)."""
    return {app: set(topics) for app, topics in parse_publishing_scopes(component).items()}


def subscriptions() -> list[dict[str, Any]]:
    text = (ROOT / "components" / "common" / "subscriptions.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_app_that_loads_the_broker_is_limited_to_what_it_owns(profile: str) -> None:
    component = pubsub(profile)
    scopes = publishing_scopes(component)
    # An app missing from publishingScopes could publish every topic.
    assert set(component["scopes"]) == set(scopes)
    for topic, owner in OWNERS.items():
        assert [app for app, topics in scopes.items() if topic in topics] == [owner], topic


@pytest.mark.parametrize("profile", PROFILES)
def test_each_app_may_publish_its_dead_letter_topics_and_the_probe_and_nothing_else(
    profile: str,
) -> None:
    scopes = publishing_scopes(pubsub(profile))
    dead_letters: dict[str, set[str]] = {app: set() for app in scopes}
    for subscription in subscriptions():
        [app] = subscription["scopes"]
        dead_letters[app].add(subscription["spec"]["deadLetterTopic"])
    for app, topics in scopes.items():
        owned = {topic for topic, owner in OWNERS.items() if owner == app}
        # Its sidecar publishes there when it gives a message up (docs/dapr-traps.md);
        # readiness probes the broker with a publish nobody receives.
        assert topics == owned | dead_letters[app] | {READINESS_TOPIC}, app
