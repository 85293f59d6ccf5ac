"""Only a topic's owner publishes it: the pub/sub components' publishingScopes, checked
against the declarative subscriptions and the component scopes, offline, component by
component: a topic name is the component's, so what an app may publish on one says
nothing of another."""

import re
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml
from shop_dapr.health import READINESS_TOPIC
from shop_dapr.sidecar import SidecarSettings

from tools.contracts import parse_publishing_scopes

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("redis", "kafka-postgres")
# The pub/sub components of every profile: `pubsub` delivers each message to one
# instance of each subscribing app, `broadcast` to every instance.
COMPONENTS = ("pubsub", "broadcast")
# Who owns which topic, and where: the one app that may publish it, on the one component
# that carries it.
OWNERS = {
    "orders.order-created": ("orders", "pubsub"),
    "orders.order-status-changed": ("orders", "pubsub"),
    "payments.payment-succeeded": ("payments", "pubsub"),
    "payments.payment-failed": ("payments", "pubsub"),
    # Every catalog instance updates its listing, every gateway instance its cache.
    "catalog.product-changed": ("catalog", "broadcast"),
    "shipping.shipment-dispatched": ("shipping", "pubsub"),
    "shipping.shipment-delivered": ("shipping", "pubsub"),
    # Every notifications instance pushes it to the live feeds connected to it.
    "notifications.order-update": ("notifications", "broadcast"),
}
# Where `/readyz` probes the broker with a publish of READINESS_TOPIC: the services'
# pubsub setting (libs/shop_dapr/app.py; services/shipping/config.go, PUBSUB).
READINESS_COMPONENT = "pubsub"


def pubsubs(profile: str) -> dict[str, dict[str, Any]]:
    """The profile's pub/sub components (type pubsub.*), by name, whatever their files."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "components" / profile).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Component" and doc["spec"]["type"].startswith("pubsub."):
                name = doc["metadata"]["name"]
                assert name not in found, f"two components {name} in {profile}"
                found[name] = doc
    return found


def publishing_scopes(component: dict[str, Any]) -> dict[str, set[str]]:
    """app -> topics, parsed as daprd does (tools/contracts.py, which the AsyncAPI uses)."""
    return {app: set(topics) for app, topics in parse_publishing_scopes(component).items()}


def subscriptions() -> list[dict[str, Any]]:
    text = (ROOT / "components" / "common" / "subscriptions.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


# Each pub/sub component of each profile (the first test shows there are no others).
EACH = [pytest.param(p, c, id=f"{p}-{c}") for p, c in product(PROFILES, COMPONENTS)]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_has_the_shop_pubsub_components(profile: str) -> None:
    # Services and subscriptions name components, not profiles; and a component left out
    # of COMPONENTS would go unchecked below.
    assert sorted(pubsubs(profile)) == sorted(COMPONENTS)


@pytest.mark.parametrize(("profile", "name"), EACH)
def test_every_app_that_loads_the_component_is_limited_to_what_it_owns(
    profile: str, name: str
) -> None:
    component = pubsubs(profile)[name]
    scopes = publishing_scopes(component)
    # An app missing from publishingScopes could publish every topic.
    assert set(component["scopes"]) == set(scopes)
    # Each topic by its owner on its component, and by nobody on any other one.
    for topic, (owner, home) in OWNERS.items():
        publishers = [app for app, topics in scopes.items() if topic in topics]
        assert publishers == ([owner] if home == name else []), topic


@pytest.mark.parametrize(("profile", "name"), EACH)
def test_each_app_may_publish_its_dead_letter_topics_and_the_probe_and_nothing_else(
    profile: str, name: str
) -> None:
    scopes = publishing_scopes(pubsubs(profile)[name])
    dead_letters: dict[str, set[str]] = {app: set() for app in scopes}
    for subscription in subscriptions():
        if subscription["spec"]["pubsubname"] != name:
            continue
        [app] = subscription["scopes"]
        # A sidecar without the component would never receive the subscription's topic.
        assert app in scopes, f"{app} subscribes on {name} without loading it"
        dead_letters[app].add(subscription["spec"]["deadLetterTopic"])
    probe = {READINESS_TOPIC} if name == READINESS_COMPONENT else set()
    for app, topics in scopes.items():
        owned = {topic for topic, (owner, home) in OWNERS.items() if (owner, home) == (app, name)}
        # Its sidecar publishes there, on the subscription's component, when it gives a
        # message up (docs/dapr-traps.md); readiness probes the broker with a publish
        # nobody receives.
        assert topics == owned | dead_letters[app] | probe, app


def test_every_subscription_is_on_the_component_of_its_topic() -> None:
    # Dapr delivers what is published on the subscription's pubsubname only.
    for subscription in subscriptions():
        [app] = subscription["scopes"]
        spec = subscription["spec"]
        assert spec["pubsubname"] == OWNERS[spec["topic"]][1], f"{app} <- {spec['topic']}"


def test_the_readiness_probe_publishes_on_its_component() -> None:
    """READINESS_COMPONENT is where the probes publish: the Python services' default and
    the Go service's."""
    assert SidecarSettings.model_fields["pubsub"].default == READINESS_COMPONENT
    config = (ROOT / "services" / "shipping" / "config.go").read_text()
    assert re.findall(r'env\.str\("PUBSUB", "([^"]+)"\)', config) == [READINESS_COMPONENT]
