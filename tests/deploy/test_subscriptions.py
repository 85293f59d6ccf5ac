"""The declarative subscriptions agree with the code, offline: each is delivered to a
POST route its app's events router serves, names a topic that libs/shop_contracts
defines, and gives up into `<topic>.<app>.dead-letter`. A topic renamed on one side
only, a handler moved, or a subscription forgotten fails here, not in a running shop
whose sidecar would answer 404 and drop every message."""

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest
import shop_contracts
import yaml
from fastapi import APIRouter
from fastapi.routing import APIRoute
from shop_contracts.orders import ORDER_CREATED_TOPIC

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTIONS = ROOT / "components" / "common" / "subscriptions.yaml"
PROFILES = ("redis", "kafka-postgres")
# Topic constants that no app is meant to subscribe to, with the reason. None today:
# every event a service publishes has a consumer (README, Architecture).
UNSUBSCRIBED: dict[str, str] = {}


def subscriptions() -> list[dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(SUBSCRIPTIONS.read_text()) if doc]
    assert {doc["kind"] for doc in docs} == {"Subscription"}
    return docs


def subscriber(subscription: dict[str, Any]) -> str:
    """The one app a subscription is scoped to (unscoped, every app would get it)."""
    [app] = subscription["scopes"]
    return str(app)


def routes(subscription: dict[str, Any]) -> list[str]:
    """Every path the sidecar may deliver to: the default and any rule's."""
    declared = subscription["spec"]["routes"]
    return [declared["default"], *(rule["path"] for rule in declared.get("rules", []))]


def topic_constants() -> dict[str, str]:
    """topic -> the constant of libs/shop_contracts that names it, e.g.
    'orders.order-created' -> 'shop_contracts.orders.ORDER_CREATED_TOPIC'."""
    constants: dict[str, str] = {}
    for module_info in pkgutil.iter_modules(shop_contracts.__path__):
        module = importlib.import_module(f"shop_contracts.{module_info.name}")
        for name, value in vars(module).items():
            if name.endswith("_TOPIC") and isinstance(value, str):
                qualified = f"{module.__name__}.{name}"
                assert value not in constants, f"{qualified} and {constants[value]} are {value}"
                constants[value] = qualified
    return constants


# A Go service's event routes: the string literals of its sources that start /events/
# (each served as POST, the only method daprd delivers with).
GO_EVENT_ROUTE = re.compile(r'"(/events/[^"\s]+)"')


def go_sources(app: str) -> list[Path]:
    return [p for p in (ROOT / "services" / app).glob("*.go") if not p.name.endswith("_test.go")]


def subscribing_apps() -> set[str]:
    """The apps with event handlers: a Python service's events.py, or a Go service's
    POST /events routes."""
    python = {path.parent.name for path in (ROOT / "services").glob("*/events.py")}
    go = {path.parent.name for path in (ROOT / "services").glob("*/go.mod")}
    return python | {app for app in go if post_routes(app)}


def post_routes(app: str) -> set[str]:
    """The POST paths of `<app>.events`' router, prefix included, as the app serves them
    (each app includes that router as it is); for a Go service, the POST /events
    patterns in its sources."""
    if (ROOT / "services" / app / "go.mod").exists():
        return {m for path in go_sources(app) for m in GO_EVENT_ROUTE.findall(path.read_text())}
    router = importlib.import_module(f"{app}.events").router
    assert isinstance(router, APIRouter)
    return {
        route.path
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    }


def _id(subscription: dict[str, Any]) -> str:
    return str(subscription["metadata"]["name"])


@pytest.mark.parametrize("subscription", subscriptions(), ids=_id)
def test_the_app_serves_a_post_route_where_the_subscription_delivers(
    subscription: dict[str, Any],
) -> None:
    app = subscriber(subscription)
    served = post_routes(app)
    for path in routes(subscription):
        assert path in served, f"{app}.events serves no POST {path}; it serves {sorted(served)}"


@pytest.mark.parametrize("subscription", subscriptions(), ids=_id)
def test_the_topic_is_a_contract_constant(subscription: dict[str, Any]) -> None:
    topic = subscription["spec"]["topic"]
    assert topic in topic_constants(), f"no constant in libs/shop_contracts names {topic}"


@pytest.mark.parametrize("subscription", subscriptions(), ids=_id)
def test_the_dead_letter_topic_is_the_topic_and_the_app(subscription: dict[str, Any]) -> None:
    spec = subscription["spec"]
    expected = f"{spec['topic']}.{subscriber(subscription)}.dead-letter"
    assert spec.get("deadLetterTopic") == expected


def test_every_topic_constant_has_a_subscription() -> None:
    constants = topic_constants()
    # The constants are found by name: make sure the search finds the ones we know.
    assert constants[ORDER_CREATED_TOPIC] == "shop_contracts.orders.ORDER_CREATED_TOPIC"
    subscribed = {subscription["spec"]["topic"] for subscription in subscriptions()}
    expected = {topic: name for topic, name in constants.items() if name not in UNSUBSCRIBED}
    missing = sorted(name for topic, name in expected.items() if topic not in subscribed)
    assert not missing, f"no subscription receives {missing}"
    assert set(UNSUBSCRIBED) <= set(constants.values()), "UNSUBSCRIBED names no constant"


def test_every_event_route_is_reached_by_a_subscription() -> None:
    """The other way round: a handler no subscription delivers to never runs."""
    delivered: dict[str, set[str]] = {}
    for subscription in subscriptions():
        delivered.setdefault(subscriber(subscription), set()).update(routes(subscription))
    assert set(delivered) == subscribing_apps()
    for app, paths in delivered.items():
        assert post_routes(app) == paths, app


def pubsub_names(profile: str) -> set[str]:
    """The names of the profile's pub/sub components (type pubsub.*), whatever their files."""
    return {
        doc["metadata"]["name"]
        for path in (ROOT / "components" / profile).glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "Component" and doc["spec"]["type"].startswith("pubsub.")
    }


def test_one_subscription_per_app_and_topic_on_the_shop_pubsub() -> None:
    # A subscription names a component, not a profile: each profile has the same ones
    # (`pubsub` and `broadcast`, tests/deploy/test_topic_scopes.py says which carries
    # which topic).
    [names, *others] = [pubsub_names(profile) for profile in PROFILES]
    assert names and all(other == names for other in others)
    # A topic lives on one component, so an app receives it through one subscription.
    pairs = [(subscriber(s), s["spec"]["topic"]) for s in subscriptions()]
    assert len(pairs) == len(set(pairs)), "an app subscribes twice to one topic"
    # Each subscription on a component that exists, and each component delivers to some.
    assert {s["spec"]["pubsubname"] for s in subscriptions()} == names
