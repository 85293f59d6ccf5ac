"""System tests: the skeleton services beside real daprd processes, on one component
profile chosen by `--profile` or SHOP_PROFILE (default: redis)."""

import json
import socket
import uuid
from collections.abc import Iterator

import pytest

from tests.system.launcher import (
    PORTS,
    PROFILES,
    QUICK_CARRIER,
    ROOT,
    Sidecar,
    start_services,
)
from tests.system.shopper import Shopper, admin_put_product

# What each profile needs running, by port (tools/infra.sh starts them).
NEEDS = {
    "redis": ["REDIS_PORT", "SENTRY_PORT", "PLACEMENT_PORT", "SCHEDULER_PORT", "SMTP_PORT"],
    "kafka-postgres": [
        "POSTGRES_PORT",
        "KAFKA_PORT",
        "PLACEMENT_PORT",
        "SCHEDULER_PORT",
        "SMTP_PORT",
    ],
}
# Every profile sends its traces to Zipkin.
OBSERVABILITY = ["ZIPKIN_PORT"]


# The checkout's two styles (docs/checkout-styles.md): the tests that take the
# `checkout_style` fixture run once in each.
STYLES = ("choreography", "workflow")
# Shortened for the tests: a charge the provider never confirms is voided after this.
APP_ENV = {"orders": {"PAYMENT_CONFIRMATION_TIMEOUT_SECONDS": "4"}, "shipping": QUICK_CARRIER}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--profile", default=None, help=f"component profile: {', '.join(PROFILES)}")


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> str:
    import os

    chosen = request.config.getoption("--profile") or os.environ.get("SHOP_PROFILE", "redis")
    if chosen not in PROFILES:
        raise pytest.UsageError(f"unknown profile '{chosen}': choose one of {', '.join(PROFILES)}")
    missing = [name for name in NEEDS[chosen] + OBSERVABILITY if not _listening(PORTS[name])]
    if missing:
        pytest.fail(
            f"profile '{chosen}' needs {', '.join(missing)} listening: "
            f"run `make infra-up PROFILE={chosen}` (or `make test`, which does it)",
            pytrace=False,
        )
    return chosen


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Secrets(dict[str, str]):
    """The local secrets; their repr hides the values from failure reports."""

    def __repr__(self) -> str:
        return f"Secrets({sorted(self)})"


@pytest.fixture(scope="session")
def secrets() -> dict[str, str]:
    return Secrets(json.loads((ROOT / ".data" / "secrets.json").read_text()))


def app_env(app_id: str, sidecars: dict[str, Sidecar]) -> dict[str, str]:
    """APP_ENV, and where the gateway relays /ws/orders: notifications on its free port."""
    env = dict(APP_ENV.get(app_id, {}))
    if app_id == "gateway":
        env["NOTIFICATIONS_URL"] = sidecars["notifications"].app_url
    return env


@pytest.fixture(scope="session")
def shop(profile: str) -> Iterator[dict[str, Sidecar]]:
    """Every service beside its own daprd, started together, stopped at the end."""
    if _listening(3600):
        pytest.fail(
            "a shop from `make run` is running (port 3600): its services share app ids and "
            "consumer groups with these tests and would take their events; stop it first",
            pytrace=False,
        )
    sidecars = start_services(profile, app_env)
    _started_shops.append(sidecars)
    try:
        yield sidecars
    finally:
        for sidecar in sidecars.values():
            sidecar.stop()


@pytest.fixture(scope="session")
def second(shop: dict[str, Sidecar], profile: str) -> Iterator[dict[str, Sidecar]]:
    """A second instance of every service beside the session's shop, under the same app
    ids (docs/scaling.md), started by the first test that asks (test_replicas.py) and
    kept to the end of the session. The second gateway relays
    the live feed to the second notifications; the second orders checks out in the style
    the first has."""

    def env(app_id: str, sidecars: dict[str, Sidecar]) -> dict[str, str]:
        # The second orders checks out in the style the first runs in (checkout_style).
        first = shop["orders"].environment
        style = {"CHECKOUT_STYLE": first.get("CHECKOUT_STYLE", "choreography")}
        return {**app_env(app_id, {**shop, **sidecars}), **(style if app_id == "orders" else {})}

    sidecars = start_services(profile, env, instance=2)
    _started_shops.append(sidecars)
    try:
        yield sidecars
    finally:
        for sidecar in sidecars.values():
            sidecar.stop()


# The instances the `shop` and `second` fixtures started, for `without_the_session_shop`
# and `checkout_style`.
_started_shops: list[dict[str, Sidecar]] = []


@pytest.fixture
def without_the_session_shop() -> None:
    """Stops the session's shop, if a test started it, before a test that needs the
    machine's only sidecars to be its own: the Dapr CLI picks the first daprd it finds
    with an app id (tests/system/test_dapr_cli.py). That test runs last (RUN_LAST)."""
    for sidecars in _started_shops:
        for sidecar in sidecars.values():
            sidecar.stop()


@pytest.fixture(scope="session", params=STYLES)
def checkout_style(request: pytest.FixtureRequest, shop: dict[str, Sidecar]) -> str:
    """Every orders app restarted in each checkout style in turn (CHECKOUT_STYLE): pytest
    runs every test that takes this fixture in one style, then in the other."""
    style: str = request.param
    for sidecars in _started_shops:
        if sidecars["orders"].processes:  # not stopped
            sidecars["orders"].restart_app({"CHECKOUT_STYLE": style})
    return style


@pytest.fixture
def product(catalog: Sidecar, secrets: dict[str, str]) -> str:
    """A product of this test's own, 5 in stock at 12.50."""
    product_id = f"e2e-{uuid.uuid4().hex[:10]}"
    admin_put_product(catalog, secrets["catalog-admin-token"], product_id, price_cents=1250)
    return product_id


@pytest.fixture
def shopper(gateway: Sidecar) -> Shopper:
    """A new buyer, signed in."""
    return Shopper(gateway.app_url).register_and_log_in()


@pytest.fixture(scope="session")
def catalog(shop: dict[str, Sidecar]) -> Sidecar:
    return shop["catalog"]


@pytest.fixture(scope="session")
def gateway(shop: dict[str, Sidecar]) -> Sidecar:
    return shop["gateway"]


# Run last, in this order: the fault tests stop and freeze services (their breakers
# need a few seconds to close again); the chaos test kills and restarts processes, the
# broker among them, each the only one of its kind; the replica test adds a second
# instance of every service to the shop, which then share its invocations and events,
# and kills one of each pair; `dapr run -f` starts another copy of every app, whose
# consumers join the session's consumer groups and may take their events.
RUN_LAST = {
    "test_readiness.py": 1,
    "test_resiliency.py": 2,
    "test_chaos.py": 3,
    "test_replicas.py": 4,
    "test_dapr_cli.py": 5,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: RUN_LAST.get(item.path.name, 0))
