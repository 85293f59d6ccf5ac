"""Writes the shop's event contracts for consumers in any language, from the sources of
truth: the pydantic models of libs/shop_contracts, the pub/sub components of
components/<profile>/ (which component carries which topic, who publishes it there: its
publishingScopes; whether one instance of each app or every instance receives it: its
consumer group) and components/common/subscriptions.yaml (who receives it, at which
route, and where it goes when given up):

- contracts/events/<topic>.schema.json: a JSON Schema (draft 2020-12) per event topic;
- contracts/asyncapi.yaml: an AsyncAPI 3.0.0 document of every topic, dead-letter
  topics included, with its component, its publishers and subscribers;
- docs/contracts.md: the same, for people.

    .venv/bin/python -m tools.contracts           # (re)write them
    .venv/bin/python -m tools.contracts --check   # exit 1, naming each stale file

A test (tools/tests/test_contracts.py) keeps the files in step with this script. Every
topic an app may publish must have exactly one schema: an event topic its model (EVENTS
below), a dead-letter topic the one of the topic it gives up on; and lives on exactly one
component, where its subscriptions receive it and its subscribers' sidecars may publish
its dead-letter topics. Anything else stops the script with an error that says what is
wrong."""

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
# As a script or `python -m tools.contracts`, libs/ is not importable by itself (pytest
# adds it, pyproject.toml's pythonpath).
if str(ROOT / "libs") not in sys.path:
    sys.path.insert(0, str(ROOT / "libs"))

import yaml  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from shop_contracts import catalog, notifications, orders, payments, shipping  # noqa: E402
from shop_dapr.cloudevents import CloudEvent  # noqa: E402
from shop_dapr.health import READINESS_TOPIC  # noqa: E402

COMMAND = ".venv/bin/python -m tools.contracts"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://shop.example/contracts/"
EVENTS_DIR = Path("contracts/events")
ASYNCAPI = Path("contracts/asyncapi.yaml")
DOCS = Path("docs/contracts.md")
COMPONENTS = Path("components")
SUBSCRIPTIONS = COMPONENTS / "common" / "subscriptions.yaml"
# Dapr's CloudEvent type when the publisher names none (the readiness probe does not).
DAPR_DEFAULT_TYPE = "com.dapr.event.sent"


class ContractError(Exception):
    """The sources disagree, or a published topic has no schema."""


class ReadinessProbe(BaseModel):
    """The broker probe's body, always `{"probe": true}` (shop_dapr.health sends bytes)."""

    probe: Literal[True]


@dataclass(frozen=True)
class Event:
    """One event topic: the model of its CloudEvent's `data`, the CloudEvent type its
    publisher sets, what it means, and an example built with the model."""

    topic: str
    cloudevent_type: str
    model: type[BaseModel]
    summary: str
    example: BaseModel

    @property
    def schema_path(self) -> Path:
        return EVENTS_DIR / f"{self.topic}.schema.json"

    @property
    def schema_id(self) -> str:
        return ID_BASE + f"events/{self.topic}.schema.json"


_LINES = [
    orders.OrderLine(
        product_id="teapot", name="Cast iron teapot", quantity=1, unit_price_cents=4900
    ),
    orders.OrderLine(product_id="tea-cups", name="Tea cups", quantity=2, unit_price_cents=1250),
]
_ORDER: dict[str, Any] = {
    "order_id": "5277557e2f0a4c9b",
    "user_id": "1d4bfc1b9c2e4f6a",
    "email": "ada@example.com",
    "lines": _LINES,
    "total_cents": 7400,
    "currency": "EUR",
}

# Each topic the shop publishes, with the model its publisher sends (found at each
# `publish(` call: services/catalog/service.py, services/orders/service.py,
# services/payments/service.py, services/shipping (Go); the probe in
# libs/shop_dapr/health.py).
EVENTS: tuple[Event, ...] = (
    Event(
        catalog.PRODUCT_CHANGED_TOPIC,
        catalog.PRODUCT_CHANGED_TYPE,
        catalog.ProductChanged,
        "A product was written or deleted (`change`: `upserted` or `deleted`). Every gateway "
        "instance evicts it from its cache, every catalog instance updates its listing from "
        "the store. Catalog publishes it after the write, not atomically with it: a lost "
        "event only leaves a reader stale, a gateway's cached page until its TTL, another "
        "catalog instance's listing until it starts again.",
        catalog.ProductChanged(product_id="teapot", change="upserted"),
    ),
    Event(
        notifications.ORDER_UPDATE_TOPIC,
        notifications.ORDER_UPDATE_TYPE,
        notifications.OrderUpdate,
        "An order's status for its buyer's live feed (the WebSocket `/ws/orders`). The "
        "notifications instance that receives `orders.order-created` or "
        "`orders.order-status-changed` publishes it; every notifications instance pushes "
        "it to the feeds connected to it. A repeat is harmless (a feed never moves back).",
        notifications.OrderUpdate(
            user_id="1d4bfc1b9c2e4f6a",
            order_id="5277557e2f0a4c9b",
            status=orders.OrderStatus.SHIPPED,
            total_cents=7400,
            currency="EUR",
            tracking_number="SHP-4F2A9C01B3D7",
        ),
    ),
    Event(
        orders.ORDER_CREATED_TOPIC,
        orders.ORDER_CREATED_TYPE,
        orders.OrderCreated,
        "An order was saved `pending`, its stock reserved. Orders publishes it right after "
        "saving the order, and its sweeper again until the order is paid or cancelled: "
        "consumers see repeats, under the same CloudEvent id (`<order_id>.created`). With "
        "`charge_on_event` false (the workflow checkout) payments does not charge on it, "
        "and `payment_token` is null.",
        orders.OrderCreated(
            **_ORDER,
            payment_token="4242424242424242",  # noqa: S106 (the test card)
            created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        ),
    ),
    Event(
        orders.ORDER_STATUS_TOPIC,
        orders.ORDER_STATUS_TYPE,
        orders.OrderStatusChanged,
        "An order's status changed: `paid` or `cancelled` (`reason` says why it was "
        "cancelled), announced on every delivery of the payment's outcome and by orders' "
        "sweeper; later `shipped` (with its `tracking_number`) and `delivered`, on every "
        "delivery of shipping's events. Under the CloudEvent id `<order_id>.<status>`.",
        orders.OrderStatusChanged(
            **_ORDER, status=orders.OrderStatus.CANCELLED, reason="card_declined"
        ),
    ),
    Event(
        payments.PAYMENT_SUCCEEDED_TOPIC,
        payments.PAYMENT_SUCCEEDED_TYPE,
        payments.PaymentSucceeded,
        "An order's charge succeeded. A consumer checks it against payments "
        "(`GET /payments/{order_id}`) before acting on it, as orders does.",
        payments.PaymentSucceeded(
            order_id="5277557e2f0a4c9b", payment_id="pay_8c1e", amount_cents=7400, currency="EUR"
        ),
    ),
    Event(
        payments.PAYMENT_FAILED_TOPIC,
        payments.PAYMENT_FAILED_TYPE,
        payments.PaymentFailed,
        "An order's charge was declined or never confirmed (`reason`, e.g. `card_declined`); "
        "`payment_id` is null. A consumer checks it against payments "
        "(`GET /payments/{order_id}`) before acting on it, as orders does.",
        payments.PaymentFailed(
            order_id="5277557e2f0a4c9b", payment_id=None, reason="card_declined"
        ),
    ),
    Event(
        shipping.SHIPMENT_DISPATCHED_TOPIC,
        shipping.SHIPMENT_DISPATCHED_TYPE,
        shipping.ShipmentDispatched,
        "A paid order's parcel was handed to the carrier. Shipping (Go, services/shipping) "
        "publishes it when the carrier's pick-up is due, and again after a crash until it "
        "has recorded it, under the CloudEvent id `<order_id>.dispatched`. A consumer checks "
        "it against shipping (`GET /shipments/{order_id}`) before acting on it, as orders "
        "does.",
        shipping.ShipmentDispatched(
            order_id="5277557e2f0a4c9b",
            tracking_number="SHOP-5277557E2F0A4C9B",
            carrier="Parcelwise",
            dispatched_at=datetime(2025, 1, 2, 3, 5, 5, tzinfo=UTC),
        ),
    ),
    Event(
        shipping.SHIPMENT_DELIVERED_TOPIC,
        shipping.SHIPMENT_DELIVERED_TYPE,
        shipping.ShipmentDelivered,
        "A shipped order reached its buyer. Published like `shipping.shipment-dispatched`, "
        "under the CloudEvent id `<order_id>.delivered`, and checked the same way.",
        shipping.ShipmentDelivered(
            order_id="5277557e2f0a4c9b",
            tracking_number="SHOP-5277557E2F0A4C9B",
            carrier="Parcelwise",
            delivered_at=datetime(2025, 1, 2, 3, 6, 5, tzinfo=UTC),
        ),
    ),
    Event(
        READINESS_TOPIC,
        DAPR_DEFAULT_TYPE,
        ReadinessProbe,
        "Every app's `/readyz` reaches the broker by publishing here, with a 60-second TTL "
        "(libs/shop_dapr/health.py).",
        ReadinessProbe(probe=True),
    ),
)


# --- the sources ------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    name: str
    app: str
    pubsub: str  # the component it receives on (pubsubname)
    topic: str
    routes: tuple[str, ...]
    dead_letter_topic: str


@dataclass(frozen=True)
class PubSub:
    """One pub/sub component, as every profile has it: app -> the topics it may publish
    there, and whether every instance of a subscribing app receives each message (a
    consumer group per sidecar) or one instance of each app (a group per app id)."""

    name: str
    every_instance: bool
    publishing_scopes: dict[str, tuple[str, ...]]

    @property
    def delivery(self) -> str:
        if self.every_instance:
            return "every instance of each subscribing app receives every message"
        return "each message reaches one instance of each subscribing app"


@dataclass(frozen=True)
class Sources:
    """What the component files say: the pub/sub components (the same in every profile),
    by name in file order, and the declarative subscriptions, in file order."""

    components: dict[str, PubSub]
    subscriptions: tuple[Subscription, ...]


def _metadata(component: dict[str, Any], name: str) -> list[str]:
    """The values of a component's metadata entries named `name`, which must be written
    out (not an envRef or a secretKeyRef): what this script reads must be in the file."""
    entries = [m for m in component["spec"]["metadata"] if m["name"] == name]
    if any("value" not in m for m in entries):
        where = component["metadata"]["name"]
        raise ContractError(f"pub/sub component {where}: {name} is not a value in the file")
    return [str(m["value"]) for m in entries]


def parse_publishing_scopes(component: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """app -> topics, parsed as daprd does (pkg/scopes/scopes.go): spaces dropped."""
    values = _metadata(component, "publishingScopes")
    if len(values) != 1:
        name = component["metadata"]["name"]
        raise ContractError(f"pub/sub component {name} without one publishingScopes entry")
    scopes: dict[str, tuple[str, ...]] = {}
    for entry in values[0].replace(" ", "").split(";"):
        app, _, topics = entry.partition("=")
        if app:
            scopes[app] = tuple(topic for topic in topics.split(",") if topic)
    return scopes


def parse_every_instance(component: dict[str, Any]) -> bool:
    """Whether each sidecar consumes as a group of its own: a consumer group (Kafka's
    consumerGroup, else consumerID) that daprd makes unique per sidecar ({uuid}) or pod
    ({podName}). Without one, the group is the app id: one instance of each app."""
    name = component["metadata"]["name"]
    values = _metadata(component, "consumerGroup") or _metadata(component, "consumerID")
    if not values:
        return False
    group = values[0]
    if "{uuid}" in group or "{podName}" in group:
        return True
    if "{appID}" in group:
        return False
    # A fixed group would share each message among all the apps: say so here first.
    raise ContractError(f"pub/sub component {name}: consumer group {group!r} is not per app")


def parse_subscription(doc: dict[str, Any]) -> Subscription:
    name = doc["metadata"]["name"]
    spec = doc["spec"]
    if len(doc.get("scopes") or []) != 1:
        raise ContractError(f"subscription {name} is not scoped to exactly one app")
    if not spec.get("deadLetterTopic"):
        raise ContractError(f"subscription {name} names no deadLetterTopic")
    declared = spec["routes"]
    routes = (declared["default"], *(rule["path"] for rule in declared.get("rules", [])))
    return Subscription(
        name, doc["scopes"][0], spec["pubsubname"], spec["topic"], routes, spec["deadLetterTopic"]
    )


def read_pubsubs(profile: Path) -> dict[str, PubSub]:
    """The pub/sub components (type pubsub.*) of a profile's folder, by name."""
    found: dict[str, PubSub] = {}
    for path in sorted(profile.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not (doc and doc.get("kind") == "Component"):
                continue
            if not str(doc["spec"]["type"]).startswith("pubsub."):
                continue
            name = doc["metadata"]["name"]
            if name in found:
                raise ContractError(f"two pub/sub components {name} in {profile.name}")
            scopes = parse_publishing_scopes(doc)
            found[name] = PubSub(name, parse_every_instance(doc), scopes)
    return found


def read_sources(root: Path = ROOT) -> Sources:
    # daprd loads components/common and the profile's folder (dapr.yaml, compose).
    shared = read_pubsubs(root / COMPONENTS / "common")
    by_profile: dict[str, dict[str, PubSub]] = {}
    for folder in sorted(p for p in (root / COMPONENTS).iterdir() if p.is_dir()):
        if folder.name == "common":
            continue
        own = read_pubsubs(folder)
        if set(own) & set(shared):
            twice = ", ".join(sorted(set(own) & set(shared)))
            raise ContractError(f"pub/sub components {twice} in both common and {folder.name}")
        by_profile[folder.name] = {**shared, **own}
    if not any(by_profile.values()):
        raise ContractError("no pub/sub component in components/<profile>/")
    # Services and subscriptions name a component, not a profile: each must be in every
    # profile, and carry the same topics for the same apps the same way.
    (first, components), *others = by_profile.items()
    for profile, other in others:
        if set(other) != set(components):
            raise ContractError(
                f"pub/sub components differ between {first} ({', '.join(sorted(components))}) "
                f"and {profile} ({', '.join(sorted(other))})"
            )
        for name, mine in components.items():
            theirs = other[name]
            between = f"between {first} and {profile}"
            if _as_sets(theirs.publishing_scopes) != _as_sets(mine.publishing_scopes):
                raise ContractError(f"{name}'s publishingScopes differ {between}")
            if theirs.every_instance != mine.every_instance:
                raise ContractError(f"{name}'s delivery differs {between}")
    docs = yaml.safe_load_all((root / SUBSCRIPTIONS).read_text())
    subscriptions = tuple(parse_subscription(doc) for doc in docs if doc)
    return Sources(components, subscriptions)


def _as_sets(scopes: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    return {app: set(topics) for app, topics in scopes.items()}


# --- the channels: one per topic ---------------------------------------------------


@dataclass(frozen=True)
class Channel:
    topic: str
    event: Event
    pubsub: PubSub  # the component that carries it
    publishers: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]
    # For a dead-letter topic: the subscription that gives messages up into it.
    dead_letter_of: Subscription | None = None


def channels(sources: Sources, events: Sequence[Event] = EVENTS) -> list[Channel]:
    """Every topic any app may publish, each with its one event and its one component: an
    event topic, then the dead-letter topics of its subscriptions. Raises ContractError
    for a published topic without a schema, a subscription to one, a topic with two, a
    topic on two components, a subscription on another component than its topic's, and
    a dead-letter topic its subscriber may not publish there."""
    by_topic: dict[str, Event] = {}
    for event in events:
        if event.topic in by_topic:
            raise ContractError(f"two models for {event.topic}")
        by_topic[event.topic] = event
    dead_letters: dict[str, Subscription] = {}
    for subscription in sources.subscriptions:
        topic = subscription.dead_letter_topic
        if topic in by_topic or topic in dead_letters:
            raise ContractError(f"{topic} would have two schemas: it is a dead-letter topic")
        dead_letters[topic] = subscription
    for subscription in sources.subscriptions:
        if subscription.topic in dead_letters:
            topic = dead_letters[subscription.topic].topic
        else:
            topic = subscription.topic
        if topic not in by_topic:
            raise ContractError(
                f"subscription {subscription.name} receives {subscription.topic}, which has "
                "no schema: add its model to EVENTS in tools/contracts.py"
            )

    # Topic names are the component's: the same name on another component is another
    # topic, with other subscribers. The shop gives each topic one component, so that a
    # topic says how it is delivered and a channel here is one topic.
    homes: dict[str, list[PubSub]] = {}
    for component in sources.components.values():
        for topic in sorted({t for topics in component.publishing_scopes.values() for t in topics}):
            homes.setdefault(topic, []).append(component)
    published = set(homes)
    without = sorted(published - set(by_topic) - set(dead_letters))
    if without:
        raise ContractError(
            f"published without a schema: {', '.join(without)} (publishingScopes); add the "
            "model of each to EVENTS in tools/contracts.py"
        )
    unpublished = sorted(set(by_topic) - published)
    if unpublished:
        raise ContractError(f"no app may publish {', '.join(unpublished)} (publishingScopes)")
    for topic, on in sorted(homes.items()):
        if len(on) > 1:
            where = " and ".join(c.name for c in on)
            raise ContractError(f"{topic} may be published on {where}: give it one component")
    for subscription in sources.subscriptions:
        # Dapr delivers what is published on the subscription's pubsubname only: on
        # another component the subscriber would never receive the topic.
        published_on = [c.name for c in homes.get(subscription.topic, [])]
        if published_on != [subscription.pubsub]:
            raise ContractError(
                f"subscription {subscription.name} receives {subscription.topic} on "
                f"{subscription.pubsub}, but it is published on "
                f"{', '.join(published_on) or 'none'}"
            )
        # The subscriber's sidecar publishes a message it gives up on to the dead-letter
        # topic on the same component: refused (and lost) unless its scopes allow it.
        component = sources.components[subscription.pubsub]
        if subscription.dead_letter_topic not in component.publishing_scopes.get(
            subscription.app, ()
        ):
            raise ContractError(
                f"subscription {subscription.name} gives up into "
                f"{subscription.dead_letter_topic}, which {subscription.app} may not publish "
                f"on {component.name} (publishingScopes)"
            )

    def publishers(topic: str, component: PubSub) -> tuple[str, ...]:
        return tuple(app for app, topics in component.publishing_scopes.items() if topic in topics)

    result: list[Channel] = []
    for topic in sorted(by_topic):
        [home] = homes[topic]
        event = by_topic[topic]
        receivers = tuple(s for s in sources.subscriptions if s.topic == topic)
        result.append(Channel(topic, event, home, publishers(topic, home), receivers))
        for subscription in receivers:
            dead = subscription.dead_letter_topic
            readers = tuple(s for s in sources.subscriptions if s.topic == dead)
            result.append(Channel(dead, event, home, publishers(dead, home), readers, subscription))
    unplaced = sorted(set(dead_letters) - {channel.topic for channel in result})
    if unplaced:
        raise ContractError(f"dead-letter topics of dead-letter topics: {', '.join(unplaced)}")
    return result


# --- JSON Schema --------------------------------------------------------------------


def event_schema(event: Event) -> dict[str, Any]:
    # Serialization mode: the schema of what the publisher sends (model_dump_json, in
    # libs/shop_dapr/pubsub.py), which is what a consumer receives. For these models it
    # equals the validation schema; fields with a default stay optional, as they are for
    # the Python consumers, which parse the same model.
    generated = event.model.model_json_schema(mode="serialization")
    description = generated.pop("description", None) or event.summary
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": event.schema_id,
        "title": generated.pop("title"),
        "description": description,
        **generated,
    }


def envelope_schema() -> dict[str, Any]:
    """The CloudEvent attributes a subscriber of the shop requires, from the envelope
    model every Python consumer parses (libs/shop_dapr/cloudevents.py), without `data`."""
    generated = CloudEvent[ReadinessProbe].model_json_schema(mode="validation")
    generated["properties"].pop("data")
    generated["required"] = [name for name in generated["required"] if name != "data"]
    generated.pop("$defs", None)
    generated.pop("title")
    description = (
        "Dapr delivers every event as a CloudEvent 1.0 in structured mode: one JSON object "
        "whose `data` is the payload of the channel's message and whose other members are "
        "these attributes (they are not transport headers). The publisher's sidecar wraps "
        "the payload and sets `id` (a stable one when the publisher names it), `source` "
        "(its app id), `type` (the message's), `topic` and `pubsubname`, "
        "`datacontenttype` (application/json) and the trace context."
    )
    return {"title": "CloudEvent", "description": description, **generated}


def json_text(content: Any) -> str:
    # Insertion order (the model's field order) is stable for a given pydantic version.
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


# --- AsyncAPI -----------------------------------------------------------------------


def _message_id(event: Event) -> str:
    return event.model.__name__


def _delivery(component: PubSub) -> str:
    return "every-instance" if component.every_instance else "one-instance-per-app"


def _on(component: PubSub) -> str:
    return f"On the `{component.name}` component: {component.delivery}."


def _channel(channel: Channel) -> dict[str, Any]:
    event = channel.event
    ref = {"$ref": f"#/components/messages/{_message_id(event)}"}
    # Which Dapr component carries the topic: the pubsubname to publish and subscribe on,
    # and with it who receives a message (x-dapr-delivery).
    component = {
        "x-dapr-pubsub": channel.pubsub.name,
        "x-dapr-delivery": _delivery(channel.pubsub),
    }
    if channel.dead_letter_of is None:
        return {
            "address": channel.topic,
            "title": channel.topic,
            "description": f"{event.summary} {_on(channel.pubsub)}",
            "messages": {_message_id(event): ref},
            **component,
        }
    subscription = channel.dead_letter_of
    return {
        "address": channel.topic,
        "title": channel.topic,
        "description": (
            f"Dead-letter topic of subscription `{subscription.name}`: where the "
            f"{subscription.app} sidecar moves a message of `{subscription.topic}` that "
            f"{subscription.app} gave up on (answered DROP, or failed past its retries). "
            "It is the CloudEvent as it arrived, so it may not validate against the schema: "
            f"a message that did not parse is dropped at once. {_on(channel.pubsub)}"
        ),
        "messages": {_message_id(event): ref},
        **component,
        "x-dead-letter-of": {
            "channel": {"$ref": f"#/channels/{subscription.topic}"},
            "subscription": subscription.name,
            "app": subscription.app,
        },
    }


def _operations(channel: Channel) -> dict[str, Any]:
    def message() -> list[dict[str, str]]:  # a list each, or YAML writes anchors
        return [{"$ref": f"#/channels/{channel.topic}/messages/{_message_id(channel.event)}"}]

    on = channel.pubsub.name
    operations: dict[str, Any] = {}
    for app in channel.publishers:
        if channel.dead_letter_of is None:
            summary = f"{app} publishes {channel.topic} on {on}."
        else:
            given_up = channel.dead_letter_of.topic
            summary = (
                f"the {app} sidecar moves here, on {on}, a message of {given_up} that {app} "
                "gave up."
            )
        operations[f"{app}.sends.{channel.topic}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel.topic}"},
            "summary": summary,
            "messages": message(),
            "x-dapr-app-id": app,
        }
    for subscription in channel.subscriptions:
        app = subscription.app
        routes = ", ".join(f"POST {route}" for route in subscription.routes)
        which = "every instance of" if channel.pubsub.every_instance else "one instance of"
        operations[f"{app}.receives.{channel.topic}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel.topic}"},
            "summary": f"{which} {app} receives {channel.topic} on {on} at {routes}.",
            "messages": message(),
            "x-dapr-app-id": subscription.app,
            "x-dapr-subscription": subscription.name,
            "x-dapr-routes": list(subscription.routes),
            "x-dead-letter-channel": {"$ref": f"#/channels/{subscription.dead_letter_topic}"},
        }
    return operations


def _components(all_channels: Sequence[Channel]) -> list[PubSub]:
    """The components that carry a channel: one instance of each app first, then every."""
    found = {c.pubsub.name: c.pubsub for c in all_channels}.values()
    return sorted(found, key=lambda c: (c.every_instance, c.name))


def asyncapi(all_channels: Sequence[Channel], version: str) -> dict[str, Any]:
    events = sorted({c.event.topic: c.event for c in all_channels}.values(), key=_message_id)
    operations: dict[str, Any] = {}
    for channel in all_channels:
        operations.update(_operations(channel))
    components = "; ".join(f"`{c.name}`, {c.delivery}" for c in _components(all_channels))
    return {
        "asyncapi": "3.0.0",
        "id": ID_BASE + "asyncapi.yaml",
        "info": {
            "title": "shop events",
            "version": version,
            "description": (
                f"Generated by tools/contracts.py (`{COMMAND}`): do not edit. Every topic of "
                "the shop's Dapr pub/sub components (Redis streams or Kafka, by profile), who "
                "publishes it (the component's publishingScopes, components/<profile>/), who "
                "receives it at which route and where a message given up goes "
                "(components/common/subscriptions.yaml). A topic lives on one component, which "
                "its channel's `x-dapr-pubsub` names (the `pubsubname` to publish and "
                f"subscribe on) and `x-dapr-delivery` describes: {components}. A payload is the "
                "`data` of the CloudEvent Dapr delivers (components.schemas.CloudEvent); its "
                "JSON Schema is the file under contracts/events/ the message refers to, which "
                "consumers in any language validate against."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {c.topic: _channel(c) for c in all_channels},
        "operations": operations,
        "components": {
            "schemas": {"CloudEvent": envelope_schema()},
            "messages": {
                _message_id(event): {
                    "name": _message_id(event),
                    "title": event.topic,
                    "description": event.summary,
                    "contentType": "application/json",
                    # Relative to this file. The schema files are draft 2020-12 but use
                    # nothing draft-07 (AsyncAPI's schema format) reads differently.
                    "payload": {"$ref": f"./events/{event.topic}.schema.json"},
                    "headers": {
                        "allOf": [
                            {"$ref": "#/components/schemas/CloudEvent"},
                            {"properties": {"type": {"const": event.cloudevent_type}}},
                        ]
                    },
                    "examples": [
                        {
                            "name": "example",
                            "payload": event.example.model_dump(mode="json"),
                        }
                    ],
                }
                for event in events
            },
        },
    }


def yaml_text(content: Any) -> str:
    header = f"# Generated by tools/contracts.py: do not edit; run `{COMMAND}`.\n"
    body = yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)
    return header + body


# --- docs/contracts.md --------------------------------------------------------------


def _type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        return f"`{node['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in node:
        return " or ".join(_type(option) for option in node["anyOf"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    kind = node.get("type", "any")
    if kind == "array":
        return f"array of {_type(node.get('items', {}))}"
    if "format" in node:
        return f"{kind} ({node['format']})"
    return str(kind)


def _notes(node: dict[str, Any]) -> str:
    notes = [node["description"]] if "description" in node else []
    if "enum" in node:
        notes.append("one of " + ", ".join(f"`{value}`" for value in node["enum"]))
    if "pattern" in node:
        notes.append(f"pattern `{node['pattern']}`")
    for keyword, words in (("minimum", ">="), ("maximum", "<="), ("minLength", "length >=")):
        if keyword in node:
            notes.append(f"{words} {node[keyword]}")
    if "default" in node:
        notes.append(f"default `{json.dumps(node['default'])}`")
    return "; ".join(notes)


def _fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, node in schema.get("properties", {}).items():
        yes = "yes" if name in required else "no"
        rows.append(f"| `{name}` | {_type(node)} | {yes} | {_notes(node)} |")
    return rows


def _cell(items: Iterable[str]) -> str:
    return "<br>".join(items) or "none"


def _delivered(component: PubSub, topics: Sequence[Channel]) -> str:
    on = ", ".join(f"`{c.topic}`" for c in topics if c.pubsub is component) or "none"
    if component.every_instance:
        return (
            f"On `{component.name}`, {component.delivery}: each sidecar consumes as a "
            "consumer group of its own, so the handler runs in every instance, and an "
            f"instance that starts may get messages published before it. Topics: {on}."
        )
    return (
        f"On `{component.name}`, {component.delivery}: its consumer group is the app id. "
        f"Topics: {on}."
    )


def markdown(all_channels: Sequence[Channel]) -> str:
    topics = [c for c in all_channels if c.dead_letter_of is None]
    out = [
        "# Event contracts",
        "",
        f"_Generated by `tools/contracts.py` from libs/shop_contracts, the pub/sub components "
        f"of components/<profile>/ and components/common/subscriptions.yaml: do not edit; "
        f"run `{COMMAND}`._",
        "",
        "Every event the shop publishes has a JSON Schema (draft 2020-12) under "
        "[contracts/events/](../contracts/events/), and every topic, dead-letter topics "
        "included, is in the AsyncAPI 3.0 document "
        "[contracts/asyncapi.yaml](../contracts/asyncapi.yaml). A consumer in any language "
        "validates the `data` of the CloudEvent it receives against its topic's schema. "
        "A test (tools/tests/test_contracts.py) fails when these files and the script "
        "disagree.",
        "",
        "## Topics",
        "",
        "| topic | component | CloudEvent type | publisher | subscribers (route) "
        "| dead-letter topics | schema |",
        "|---|---|---|---|---|---|---|",
    ]
    for channel in topics:
        event = channel.event
        receivers = [
            f"{s.app} ({', '.join(f'`POST {route}`' for route in s.routes)})"
            for s in channel.subscriptions
        ]
        dead = [f"`{s.dead_letter_topic}`" for s in channel.subscriptions]
        link = f"[{event.schema_path.name}](../{event.schema_path})"
        reach = "every instance" if channel.pubsub.every_instance else "one instance per app"
        out.append(
            f"| `{channel.topic}` | `{channel.pubsub.name}` ({reach}) "
            f"| `{event.cloudevent_type}` | {_cell(channel.publishers)} "
            f"| {_cell(receivers)} | {_cell(dead)} | {link} |"
        )
    dead_letters = [c for c in all_channels if c.dead_letter_of is not None]
    read = [f"{s.app} reads `{c.topic}`" for c in dead_letters for s in c.subscriptions]
    out += [
        "",
        "Each topic lives on one Dapr pub/sub component: its publisher publishes it there "
        "and its subscriptions name it (`pubsubname`); its dead-letter topics are on the "
        "same one. " + " ".join(_delivered(c, topics) for c in _components(all_channels)),
        "",
        "A dead-letter topic is published by the subscribing app's sidecar when the app "
        "gives a message up (it answered DROP, or failed past its retries); its schema is "
        "the topic's, but what lands there may be exactly a message that does not "
        "validate. " + ("; ".join(read) + "." if read else "No subscription reads one."),
        "",
        "## The envelope",
        "",
        envelope_schema()["description"],
        "",
        *_fields(envelope_schema()),
        "",
        "## Events",
    ]
    for channel in topics:
        event = channel.event
        schema = event_schema(event)
        out += [
            "",
            f"### `{channel.topic}`: {schema['title']}",
            "",
            event.summary,
            "",
        ]
        if schema["description"] != event.summary:
            out += [schema["description"], ""]
        out += _fields(schema)
        for name, definition in schema.get("$defs", {}).items():
            out += ["", f"`{name}`: {_type(definition)}", ""]
            if "properties" in definition:
                out += _fields(definition)
            else:
                out.append(_notes(definition) + ".")
        example = json.dumps(event.example.model_dump(mode="json"), indent=2)
        out += ["", "Example `data`:", "", "```json", example, "```"]
    return "\n".join(out) + "\n"


# --- the files ----------------------------------------------------------------------


def rendered(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file, by its path relative to the repository root."""
    all_channels = channels(read_sources(root))
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    files = {c.event.schema_path: json_text(event_schema(c.event)) for c in all_channels}
    files[ASYNCAPI] = yaml_text(asyncapi(all_channels, version))
    files[DOCS] = markdown(all_channels)
    return files


def stale(root: Path = ROOT) -> list[Path]:
    """The generated files that differ from what is in `root`, or are missing there, and
    schema files there that nothing generates any more."""
    files = rendered(root)
    differ = [path for path, text in files.items() if _read(root / path) != text]
    leftover = [
        path.relative_to(root)
        for path in sorted((root / EVENTS_DIR).glob("*"))
        if path.relative_to(root) not in files
    ]
    return sorted(differ + leftover)


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def write(root: Path = ROOT, out: Path | None = None) -> list[Path]:
    """Writes the files generated from `root`'s sources under `out` (default `root`),
    removing schema files of topics that are gone; returns the paths written."""
    out = out or root
    files = rendered(root)
    for path in (out / EVENTS_DIR).glob("*.schema.json"):
        if path.relative_to(out) not in files:
            path.unlink()
    for path, text in files.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text)
    return sorted(out / path for path in files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            differ = stale()
            for path in differ:
                print(f"stale: {path}", file=sys.stderr)
            if differ:
                print(f"run `{COMMAND}`", file=sys.stderr)
            return 1 if differ else 0
        for path in write():
            print(f"wrote {path.relative_to(ROOT)}")
    except ContractError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
