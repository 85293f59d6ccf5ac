"""The event contracts under contracts/ and docs/contracts.md: they are what
tools/contracts.py writes; each schema takes a real event of its topic and refuses a
broken one, as the Python consumers' models do; the AsyncAPI document has exactly the
topics of the pub/sub components' publishingScopes, each on its component, and the
subscriptions of subscriptions.yaml; and the models the schemas come from are the ones
the services publish and parse."""

import ast
import importlib
import inspect
import json
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, get_type_hints

import jsonschema  # type: ignore[import-untyped]
import pytest
import shop_contracts
import yaml
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from shop_dapr import health

from tools import contracts
from tools.contracts import EVENTS, ContractError, Event, PubSub, Sources, Subscription

ROOT = Path(__file__).resolve().parents[2]
# The shop's pub/sub components, in every profile, and whether every instance of a
# subscribing app receives each message on it (components/<profile>/broadcast.yaml).
EVERY_INSTANCE = {"pubsub": False, "broadcast": True}
# Dapr's own envelope, as a subscriber's route receives it (structured mode).
DELIVERED = {
    "id": "5277557e2f0a4c9b.created",
    "source": "orders",
    "type": "shop.orders.order-created.v1",
    "specversion": "1.0",
    "datacontenttype": "application/json",
    "topic": "orders.order-created",
    "pubsubname": "pubsub",
    "traceid": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "tracestate": "",
}


def _topic(event: Event) -> str:
    return event.topic


def committed_schema(event: Event) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((ROOT / event.schema_path).read_text())
    return schema


def validator(schema: dict[str, Any]) -> Any:
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema)


def asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / contracts.ASYNCAPI).read_text())
    return document


def publishing_scopes() -> dict[str, dict[str, set[str]]]:
    """component -> app -> topics, read here on its own (not with the script's parser),
    per profile all alike."""
    found: dict[str, dict[str, dict[str, set[str]]]] = {}
    for path in sorted((ROOT / "components").glob("*/*.yaml")):
        for component in yaml.safe_load_all(path.read_text()):
            if not (component and component.get("kind") == "Component"):
                continue
            if not component["spec"]["type"].startswith("pubsub."):
                continue
            [value] = [
                m["value"] for m in component["spec"]["metadata"] if m["name"] == "publishingScopes"
            ]
            entries = (entry.partition("=") for entry in value.replace(" ", "").split(";"))
            scopes = {app: set(topics.split(",")) - {""} for app, _, topics in entries}
            found.setdefault(path.parent.name, {})[component["metadata"]["name"]] = scopes
    [first, *others] = found.values()
    assert set(found) == {"redis", "kafka-postgres"}
    assert set(first) == set(EVERY_INSTANCE)
    assert all(other == first for other in others)
    return first


def published() -> set[str]:
    return {t for scopes in publishing_scopes().values() for ts in scopes.values() for t in ts}


def subscriptions() -> list[dict[str, Any]]:
    text = (ROOT / contracts.SUBSCRIPTIONS).read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


# --- the files are the script's -------------------------------------------------


def test_the_committed_files_are_what_the_script_writes(tmp_path: Path) -> None:
    written = contracts.write(ROOT, out=tmp_path)
    assert written, "the script wrote nothing"
    for path in written:
        committed = ROOT / path.relative_to(tmp_path)
        assert committed.is_file(), f"{committed} is missing: run `{contracts.COMMAND}`"
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is stale: run `{contracts.COMMAND}`"
        )
    generated = {p.name for p in (tmp_path / contracts.EVENTS_DIR).iterdir()}
    left = {p.name for p in (ROOT / contracts.EVENTS_DIR).iterdir()} - generated
    assert not left, f"{sorted(left)} are written by nothing: run `{contracts.COMMAND}`"


def test_the_check_command_runs_from_the_root_and_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.contracts", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_check_names_a_stale_file_and_a_leftover_one(tmp_path: Path) -> None:
    for source in ("components", "pyproject.toml"):
        copy = shutil.copytree if (ROOT / source).is_dir() else shutil.copy
        copy(ROOT / source, tmp_path / source)
    contracts.write(tmp_path)
    assert contracts.stale(tmp_path) == []
    schema = tmp_path / EVENTS[0].schema_path
    schema.write_text(schema.read_text().replace('"type": "string"', '"type": "integer"', 1))
    leftover = tmp_path / contracts.EVENTS_DIR / "orders.order-shipped.schema.json"
    leftover.write_text("{}\n")
    assert contracts.stale(tmp_path) == sorted(
        [EVENTS[0].schema_path, leftover.relative_to(tmp_path)]
    )
    contracts.write(tmp_path)
    assert contracts.stale(tmp_path) == []


def test_the_output_is_byte_for_byte_the_same_every_time() -> None:
    assert contracts.rendered() == contracts.rendered()


# --- one schema per published topic ---------------------------------------------


def test_every_published_topic_has_exactly_one_schema() -> None:
    channels = contracts.channels(contracts.read_sources())
    assert sorted(c.topic for c in channels) == sorted(published())
    for channel in channels:
        assert (ROOT / channel.event.schema_path).is_file(), channel.topic
    files = {p.name for p in (ROOT / contracts.EVENTS_DIR).iterdir()}
    assert files == {f"{event.topic}.schema.json" for event in EVENTS}


def sources_with(topic: str, app: str = "orders", component: str = "pubsub") -> Sources:
    """The real sources, `app` also allowed to publish `topic` on `component`."""
    real = contracts.read_sources()
    scopes = real.components[component].publishing_scopes
    changed = PubSub(
        component,
        real.components[component].every_instance,
        {**scopes, app: (*scopes.get(app, ()), topic)},
    )
    return Sources({**real.components, component: changed}, real.subscriptions)


def test_a_published_topic_without_a_model_stops_the_script() -> None:
    with pytest.raises(ContractError, match=r"orders\.order-shipped"):
        contracts.channels(sources_with("orders.order-shipped"))


def test_a_subscription_to_a_topic_without_a_model_stops_the_script() -> None:
    real = contracts.read_sources()
    stray = Subscription(
        "x", "cart", "pubsub", "orders.order-shipped", ("/x",), "orders.order-shipped.x"
    )
    with pytest.raises(ContractError, match=r"orders\.order-shipped"):
        contracts.channels(Sources(real.components, (*real.subscriptions, stray)))


def test_an_event_nobody_may_publish_stops_the_script() -> None:
    real = contracts.read_sources()
    components = {
        name: PubSub(
            name,
            component.every_instance,
            {
                app: tuple(t for t in topics if t != EVENTS[0].topic)
                for app, topics in component.publishing_scopes.items()
            },
        )
        for name, component in real.components.items()
    }
    with pytest.raises(ContractError, match=EVENTS[0].topic):
        contracts.channels(Sources(components, real.subscriptions))


def test_a_topic_on_two_components_stops_the_script() -> None:
    # On broadcast, orders.order-created would be another topic nobody receives.
    sources = sources_with("orders.order-created", component="broadcast")
    with pytest.raises(ContractError, match=r"orders\.order-created .*pubsub"):
        contracts.channels(sources)


@pytest.mark.parametrize(
    ("topic", "was", "now"),
    [
        ("catalog.product-changed", "broadcast", "pubsub"),
        ("orders.order-created", "pubsub", "broadcast"),
    ],
)
def test_a_subscription_on_another_component_than_its_topic_stops_the_script(
    topic: str, was: str, now: str
) -> None:
    real = contracts.read_sources()
    [moved, *_] = [s for s in real.subscriptions if s.topic == topic]
    assert moved.pubsub == was
    subscriptions = tuple(
        Subscription(s.name, s.app, now, s.topic, s.routes, s.dead_letter_topic)
        if s == moved
        else s
        for s in real.subscriptions
    )
    with pytest.raises(ContractError, match=f"{moved.name} receives {topic} on {now}"):
        contracts.channels(Sources(real.components, subscriptions))


def test_a_dead_letter_topic_its_subscriber_may_not_publish_there_stops_the_script() -> None:
    real = contracts.read_sources()
    [gateway] = [s for s in real.subscriptions if s.name == "gateway-catalog-product-changed"]
    broadcast = real.components["broadcast"]
    scopes = {
        app: tuple(t for t in topics if t != gateway.dead_letter_topic)
        for app, topics in broadcast.publishing_scopes.items()
    }
    # Allowed on the other component, it is not where the gateway's sidecar publishes it.
    elsewhere = sources_with(gateway.dead_letter_topic, app="gateway")
    components = {
        **elsewhere.components,
        "broadcast": PubSub("broadcast", broadcast.every_instance, scopes),
    }
    with pytest.raises(ContractError, match=f"{gateway.dead_letter_topic}, which gateway"):
        contracts.channels(Sources(components, real.subscriptions))


def test_the_components_are_read_with_their_delivery() -> None:
    components = contracts.read_sources().components
    assert {name: c.every_instance for name, c in components.items()} == EVERY_INSTANCE
    for name, scopes in publishing_scopes().items():
        read = {app: set(topics) for app, topics in components[name].publishing_scopes.items()}
        assert read == scopes, name


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("pubsub.yaml", "cart=shop.readiness,", "cart="),
        ("broadcast.yaml", "gateway=catalog.product-changed.gateway.dead-letter", "gateway="),
        # One instance of each app on kafka, every instance on redis.
        ("broadcast.yaml", "{appID}-{uuid}", "{appID}"),
    ],
)
def test_the_profiles_must_agree_on_each_component(
    tmp_path: Path, file: str, old: str, new: str
) -> None:
    shutil.copytree(ROOT / "components", tmp_path / "components")
    kafka = tmp_path / "components" / "kafka-postgres" / file
    assert old in kafka.read_text()
    kafka.write_text(kafka.read_text().replace(old, new))
    with pytest.raises(ContractError, match="differ"):
        contracts.read_sources(tmp_path)


def test_the_profiles_must_have_the_same_components(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "components", tmp_path / "components")
    (tmp_path / "components" / "kafka-postgres" / "broadcast.yaml").unlink()
    with pytest.raises(ContractError, match=r"differ .*broadcast"):
        contracts.read_sources(tmp_path)


def test_a_fixed_consumer_group_stops_the_script(tmp_path: Path) -> None:
    # Shared by every app, each message would reach one of them only.
    shutil.copytree(ROOT / "components", tmp_path / "components")
    redis = tmp_path / "components" / "redis" / "broadcast.yaml"
    redis.write_text(redis.read_text().replace('"{appID}-{uuid}"', "shop"))
    with pytest.raises(ContractError, match="broadcast: consumer group 'shop'"):
        contracts.read_sources(tmp_path)


# --- the schemas take real events and refuse broken ones ------------------------


@pytest.mark.parametrize("event", EVENTS, ids=_topic)
def test_the_schema_is_draft_2020_12_with_its_id_and_the_models_title(event: Event) -> None:
    schema = committed_schema(event)
    validator(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://shop.example/contracts/events/{event.topic}.schema.json"
    assert schema["title"] == event.model.__name__
    assert schema["description"]


@pytest.mark.parametrize("event", EVENTS, ids=_topic)
def test_the_schema_takes_a_real_event(event: Event) -> None:
    # As the publisher sends it: libs/shop_dapr/pubsub.py writes model_dump_json().
    sent = json.loads(event.example.model_dump_json())
    assert sent == event.example.model_dump(mode="json")
    validator(committed_schema(event)).validate(sent)


def broken_events(event: Event) -> list[tuple[str, dict[str, Any]]]:
    """(what is wrong, the event): each required field left out, each field of a type no
    field of the shop's events has (an object)."""
    sent = event.example.model_dump(mode="json")
    required = event.model.model_json_schema(mode="serialization").get("required", [])
    assert required, f"{event.topic}: no required field to leave out"
    broken = [
        (f"without {name}", {k: v for k, v in sent.items() if k != name}) for name in required
    ]
    broken += [(f"{name} an object", {**sent, name: {"wrong": "type"}}) for name in sent]
    return broken


@pytest.mark.parametrize("event", EVENTS, ids=_topic)
def test_the_schema_refuses_what_the_model_refuses(event: Event) -> None:
    check = validator(committed_schema(event))
    for wrong, body in broken_events(event):
        assert not check.is_valid(body), f"{event.topic} {wrong}: the schema takes it"
        with pytest.raises(ValidationError):
            event.model.model_validate(body)


def test_the_schema_refuses_a_value_out_of_its_range() -> None:
    [created] = [e for e in EVENTS if e.topic == "orders.order-created"]
    sent = created.example.model_dump(mode="json")
    check = validator(committed_schema(created))
    for body in (
        {**sent, "total_cents": -1},
        {**sent, "order_id": "not/an id"},
        {**sent, "lines": [{**sent["lines"][0], "quantity": 0}]},
        {**sent, "lines": [{**sent["lines"][0], "product_id": "Teapot"}]},
    ):
        assert not check.is_valid(body), body
        with pytest.raises(ValidationError):
            created.model.model_validate(body)


def test_the_readiness_schema_takes_the_probe_health_publishes() -> None:
    [probe] = [e for e in EVENTS if e.topic == health.READINESS_TOPIC]
    requirement = health.broker("pubsub")
    assert f"/{health.READINESS_TOPIC}?" in requirement.path
    validator(committed_schema(probe)).validate(json.loads(requirement.body))


# --- the AsyncAPI document ------------------------------------------------------


def test_asyncapi_has_exactly_the_topics_of_publishing_scopes() -> None:
    document = asyncapi()
    assert document["asyncapi"] == "3.0.0"
    addresses = [channel["address"] for channel in document["channels"].values()]
    assert sorted(addresses) == sorted(published())
    sends = {
        (op["x-dapr-app-id"], op["channel"]["$ref"].removeprefix("#/channels/"))
        for op in document["operations"].values()
        if op["action"] == "send"
    }
    assert sends == {
        (app, t)
        for scopes in publishing_scopes().values()
        for app, topics in scopes.items()
        for t in topics
    }


def test_asyncapi_puts_each_topic_on_the_component_it_is_published_on() -> None:
    channels = asyncapi()["channels"]
    on = {
        (channel["address"], channel["x-dapr-pubsub"], channel["x-dapr-delivery"])
        for channel in channels.values()
    }
    delivery = {True: "every-instance", False: "one-instance-per-app"}
    assert on == {
        (topic, name, delivery[EVERY_INSTANCE[name]])
        for name, scopes in publishing_scopes().items()
        for topics in scopes.values()
        for topic in topics
    }
    assert channels["catalog.product-changed"]["x-dapr-pubsub"] == "broadcast"
    assert channels["orders.order-created"]["x-dapr-pubsub"] == "pubsub"


def test_asyncapi_has_exactly_the_subscriptions_of_subscriptions_yaml() -> None:
    document = asyncapi()
    channels = document["channels"]
    receives = {
        (
            op["x-dapr-subscription"],
            op["x-dapr-app-id"],
            channels[op["channel"]["$ref"].removeprefix("#/channels/")]["x-dapr-pubsub"],
            channels[op["channel"]["$ref"].removeprefix("#/channels/")]["address"],
            tuple(op["x-dapr-routes"]),
            op["x-dead-letter-channel"]["$ref"].removeprefix("#/channels/"),
        )
        for op in document["operations"].values()
        if op["action"] == "receive"
    }
    expected = {
        (
            s["metadata"]["name"],
            s["scopes"][0],
            s["spec"]["pubsubname"],
            s["spec"]["topic"],
            (s["spec"]["routes"]["default"],),
            s["spec"]["deadLetterTopic"],
        )
        for s in subscriptions()
    }
    assert receives == expected
    for subscription in subscriptions():
        dead = channels[subscription["spec"]["deadLetterTopic"]]
        assert dead["x-dead-letter-of"]["channel"] == {
            "$ref": f"#/channels/{subscription['spec']['topic']}"
        }
        # The subscriber's sidecar gives up into it on the subscription's component.
        assert dead["x-dapr-pubsub"] == subscription["spec"]["pubsubname"]


def test_the_docs_say_which_component_carries_each_topic() -> None:
    text = (ROOT / contracts.DOCS).read_text()
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \(([^)]+)\) \|", text, re.MULTILINE)
    reach = {True: "every instance", False: "one instance per app"}
    homes = {
        topic: name
        for name, scopes in publishing_scopes().items()
        for topics in scopes.values()
        for topic in topics
    }
    events = {event.topic for event in EVENTS}
    assert {topic for topic, _, _ in rows} == events
    for topic, name, said in rows:
        assert (name, said) == (homes[topic], reach[EVERY_INSTANCE[homes[topic]]]), topic
    [broadcast] = re.findall(
        r"On `broadcast`, every instance [^\n]*Topics: ([^\n]*?)\.$", text, re.M
    )
    assert broadcast == ", ".join(
        f"`{topic}`" for topic in sorted(events) if homes[topic] == "broadcast"
    )


def test_every_channel_refers_to_its_topics_schema_and_cloudevent_type() -> None:
    document = asyncapi()
    by_topic = {event.topic: event for event in EVENTS}
    sources = {s["spec"]["deadLetterTopic"]: s["spec"]["topic"] for s in subscriptions()}
    messages = document["components"]["messages"]
    for topic, channel in document["channels"].items():
        event = by_topic[sources.get(topic, topic)]
        [(name, ref)] = channel["messages"].items()
        assert ref == {"$ref": f"#/components/messages/{name}"}
        message = messages[name]
        payload = ROOT / contracts.ASYNCAPI.parent / message["payload"]["$ref"]
        assert payload.resolve() == (ROOT / event.schema_path).resolve(), topic
        [envelope, own] = message["headers"]["allOf"]
        assert envelope == {"$ref": "#/components/schemas/CloudEvent"}
        assert own["properties"]["type"]["const"] == event.cloudevent_type
        for example in message["examples"]:
            validator(committed_schema(event)).validate(example["payload"])


def test_the_envelope_takes_what_dapr_delivers() -> None:
    envelope = asyncapi()["components"]["schemas"]["CloudEvent"]
    check = jsonschema.Draft7Validator(envelope)  # AsyncAPI's schema dialect
    check.validate(DELIVERED)
    assert not check.is_valid({k: v for k, v in DELIVERED.items() if k != "id"})


# --- the models are the ones the services publish and parse ---------------------


def contract_constants() -> dict[str, str]:
    """The name of every string constant in libs/shop_contracts -> its value."""
    constants: dict[str, str] = {}
    for info in pkgutil.iter_modules(shop_contracts.__path__):
        module = importlib.import_module(f"shop_contracts.{info.name}")
        constants.update({k: v for k, v in vars(module).items() if isinstance(v, str)})
    return constants


def go_events(app: str) -> dict[str, str]:
    """topic -> CloudEvent type, as a Go service names them: `<Name>Topic = "..."` beside
    `<Name>Type = "..."` in its sources (services/shipping)."""
    text = "\n".join(
        path.read_text()
        for path in (ROOT / "services" / app).glob("*.go")
        if not path.name.endswith("_test.go")
    )
    topics = dict(re.findall(r'(\w+)Topic\s*=\s*"([^"]+)"', text))
    types = dict(re.findall(r'(\w+)Type\s*=\s*"([^"]+)"', text))
    return {topic: types[name] for name, topic in topics.items() if name in types}


GO_APPS = sorted(path.parent.name for path in (ROOT / "services").glob("*/go.mod"))


def test_every_publish_call_is_an_event_with_its_type() -> None:
    """Each `.publish(TOPIC, TYPE, ...)` in the Python services, and each topic a Go
    service names and may publish, is an event of EVENTS with its CloudEvent type; and
    every event but the probe is published somewhere."""
    constants = contract_constants()
    found: set[tuple[str, str]] = set()
    # What an app may publish on any component.
    scopes: dict[str, set[str]] = {}
    for component in publishing_scopes().values():
        for app, topics in component.items():
            scopes.setdefault(app, set()).update(topics)
    assert GO_APPS, "no Go service found: the search below would prove nothing"
    for app in GO_APPS:
        found |= {(t, kind) for t, kind in go_events(app).items() if t in scopes[app]}
    for path in sorted((ROOT / "services").glob("*/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "publish"
            ):
                continue
            names = [arg.id for arg in node.args[:2] if isinstance(arg, ast.Name)]
            assert len(names) == 2, f"{path}:{node.lineno}: publish without two constants"
            found.add((constants[names[0]], constants[names[1]]))
    expected = {(e.topic, e.cloudevent_type) for e in EVENTS if e.topic != health.READINESS_TOPIC}
    assert found == expected


@pytest.mark.parametrize("subscription", subscriptions(), ids=lambda s: s["metadata"]["name"])
def test_the_subscriber_parses_the_model_of_the_schema(subscription: dict[str, Any]) -> None:
    """A Python subscriber parses the schema's model; a Go one names the topic and its
    CloudEvent type, and loads the topic's schema file to check what it receives."""
    app = subscription["scopes"][0]
    [event] = [e for e in EVENTS if e.topic == subscription["spec"]["topic"]]
    if app in GO_APPS:
        assert go_events(app).get(event.topic) == event.cloudevent_type, app
        return
    module = importlib.import_module(f"{app}.events")
    [route] = [
        r
        for r in module.router.routes
        if isinstance(r, APIRoute) and r.path == subscription["spec"]["routes"]["default"]
    ]
    handler = getattr(module, route.name)
    first = next(iter(inspect.signature(handler).parameters))
    parsed = get_type_hints(handler)[first].__pydantic_generic_metadata__["args"][0]
    assert issubclass(parsed, BaseModel)
    assert parsed is event.model, f"{app} parses {parsed.__name__}, the schema is {event.model}"
