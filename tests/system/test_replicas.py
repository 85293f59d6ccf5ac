"""A second instance of every service, each beside its own daprd under the same app id
as the session's first: invocations and events spread over both, and what one instance
learns, the other does too. The checkout's race and a repeated Idempotency-Key run in
both checkout styles, and the short chaos suite kills one instance of each pair while
the other carries on.

A product change is broadcast (components/<profile>/broadcast.yaml): each catalog
instance applies it to its in-memory listing, each gateway instance evicts it from its
cache. On `pubsub` it would reach one instance of each app id, and the other gateway
would serve the old price until its cache expired (PRODUCT_CACHE_TTL_SECONDS, a minute).
An order's status reaches one notifications instance, which broadcasts it to every
instance's live feeds. docs/scaling.md says what each service relies on to run as
several instances."""

import uuid
from email.message import EmailMessage
from functools import partial
from typing import Any

import httpx
import pytest

from tests.system.launcher import Sidecar
from tests.system.shopper import (
    Shopper,
    StatusFeed,
    admin_put_product,
    available,
    eventually,
    race,
)
from tests.system.test_chaos import chaos_in_short
from tests.system.test_observability import samples

# Well under the gateway's cache lifetime (60 s): an answer within it came from eviction.
DEADLINE_SECONDS = 15.0


def served(sidecar: Sidecar, method: str, route: str) -> float:
    """How many `method route` requests this app instance has answered (its metrics)."""
    exposition = httpx.get(f"{sidecar.app_url}/metrics", timeout=30).text
    return sum(
        value
        for series, value in samples(exposition).items()
        if series.startswith("shop_http_requests_total{")
        and f'method="{method}"' in series
        and f'route="{route}"' in series
    )


def test_calls_spread_over_both_instances(
    shop: dict[str, Sidecar], second: dict[str, Sidecar]
) -> None:
    # Each gateway calls catalog through its own sidecar, which picks an instance of the
    # app id from name resolution for each call: both serve, whichever gateway asks.
    catalogs = [shop["catalog"], second["catalog"]]
    before = [served(catalog, "GET", "/products") for catalog in catalogs]
    for n in range(40):
        gateway = (shop["gateway"], second["gateway"])[n % 2]
        answer = httpx.get(
            f"{gateway.app_url}/api/v1/products",
            params={"q": "tea"},
            headers={"Cache-Control": "no-cache"},  # past the gateway's cache, to catalog
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    handled = [served(c, "GET", "/products") - b for c, b in zip(catalogs, before, strict=True)]
    assert sum(handled) >= 40, handled
    assert min(handled) > 0, f"one catalog instance took every call: {handled}"


def listed(catalog: Sidecar, words: str) -> list[dict[str, Any]]:
    """What this catalog instance's own listing finds for `words`."""
    answer = httpx.get(
        f"{catalog.app_url}/products",
        params={"q": words},
        headers={"dapr-api-token": catalog.app_token},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def price(gateway: Sidecar, product_id: str) -> tuple[int, str] | None:
    """The price this gateway instance answers, and whether from its cache."""
    answer = httpx.get(f"{gateway.app_url}/api/v1/products/{product_id}", timeout=30)
    if answer.status_code != 200:
        return None
    return answer.json()["price_cents"], answer.headers["X-Cache"]


def serves(gateway: Sidecar, product_id: str, cents: int, cache: str | None = None) -> bool:
    """Whether this gateway instance answers `cents` (and from `cache`, if given)."""
    answer = price(gateway, product_id)
    return answer is not None and answer[0] == cents and cache in (None, answer[1])


def test_a_product_change_reaches_every_catalog_and_gateway_instance(
    shop: dict[str, Sidecar], second: dict[str, Sidecar], secrets: dict[str, str]
) -> None:
    catalogs = [shop["catalog"], second["catalog"]]
    gateways = [shop["gateway"], second["gateway"]]
    admin = secrets["catalog-admin-token"]
    product_id = f"replica-{uuid.uuid4().hex[:10]}"
    # Made through the first catalog: the second learns of it by the broadcast alone.
    admin_put_product(
        catalogs[0], admin, product_id, straight=True, name=f"{product_id} teal", price_cents=1000
    )
    for catalog in catalogs:
        eventually(partial(listed, catalog, f"{product_id} teal"), f"{catalog.name} lists it")
    for gateway in gateways:
        # Until it is in each gateway's cache. (A gateway just started replays the
        # broadcast's recent notices, this product's among them, which may evict it once.)
        eventually(partial(serves, gateway, product_id, 1000, "hit"), f"{gateway.name} caches it")

    # Changed through the second catalog this time.
    admin_put_product(
        catalogs[1], admin, product_id, straight=True, name=f"{product_id} amber", price_cents=1500
    )

    for gateway in gateways:
        eventually(
            partial(serves, gateway, product_id, 1500),
            f"{gateway.name} evicts the old price",
            timeout=DEADLINE_SECONDS,
        )
    for catalog in catalogs:
        found = eventually(
            partial(listed, catalog, f"{product_id} amber"),
            f"{catalog.name} lists the new name",
            timeout=DEADLINE_SECONDS,
        )
        assert [(p["id"], p["price_cents"]) for p in found] == [(product_id, 1500)]
        assert listed(catalog, f"{product_id} teal") == [], catalog.name


def heard(feed: StatusFeed, order_id: str, status: str) -> bool:
    return status in feed.statuses(order_id)


def receipted(buyer: Shopper, count: int) -> list[EmailMessage]:
    """The buyer's receipts once there are `count` of them (else none)."""
    receipts = buyer.receipts()
    return receipts if len(receipts) >= count else []


def test_every_live_feed_hears_of_every_order_and_each_is_receipted_once(
    shop: dict[str, Sidecar], second: dict[str, Sidecar], product: str
) -> None:
    # Two buyers, one feed on each notifications instance (each gateway relays to its
    # own). The order events go to one instance or the other (their consumer group is
    # the app id; on Kafka, whichever holds the partition takes them all): a feed hears
    # of the orders the other instance received only through the broadcast.
    buyers = [
        Shopper(gateway.app_url).register_and_log_in()
        for gateway in (shop["gateway"], second["gateway"])
    ]
    feeds = [
        StatusFeed(gateway, buyer.token)
        for gateway, buyer in zip((shop["gateway"], second["gateway"]), buyers, strict=True)
    ]
    try:
        orders = []
        for buyer in buyers:
            for _ in range(2):
                assert buyer.put_in_cart(product, 1).status_code == 200
                placed = buyer.check_out()
                assert placed.status_code == 201, placed.text
                orders.append((buyer, placed.json()["order_id"]))
        for feed, buyer in zip(feeds, buyers, strict=True):
            for owner, order_id in orders:
                if owner is buyer:
                    eventually(
                        partial(heard, feed, order_id, "paid"),
                        f"the feed of {buyer.email} hears order {order_id} paid",
                    )
    finally:
        for feed in feeds:
            feed.close()
    # Whichever instance mailed it, one receipt for each order: the order events go to
    # one instance of notifications (the `pubsub` group), the broadcast only to feeds.
    for buyer in buyers:
        mine = sorted(order_id for owner, order_id in orders if owner is buyer)
        receipts = eventually(partial(receipted, buyer, len(mine)), f"receipts for {buyer.email}")
        assert sorted(o for o in mine for r in receipts if o in str(r["Subject"])) == mine


def test_buyers_through_both_gateways_race_for_the_last_five(
    checkout_style: str,
    shop: dict[str, Sidecar],
    second: dict[str, Sidecar],
    secrets: dict[str, str],
) -> None:
    # Every hop may land on either instance: gateway, orders, catalog's reservation,
    # payments' charge, catalog's commit, shipping. Exactly five are sold, each paid
    # once and delivered.
    gateways = [shop["gateway"], second["gateway"]]
    product_id = f"pair-race-{uuid.uuid4().hex[:10]}"
    admin_put_product(shop["catalog"], secrets["catalog-admin-token"], product_id, stock=5)

    answers = race(product_id, [gateway.app_url for gateway in gateways])

    assert sorted(a.status_code for _, a in answers) == [201] * 5 + [409] * 15
    for buyer, answer in answers:
        if answer.status_code == 201:
            order = buyer.order_when(answer.json()["order_id"], "delivered")
            assert order["payment"]["amount_cents"] == 1000
            assert len(buyer.get("/api/v1/orders").json()) == 1
    assert available(gateways[1].app_url, product_id) == 0


def test_the_same_key_through_either_gateway_makes_one_order(
    checkout_style: str, shop: dict[str, Sidecar], second: dict[str, Sidecar], product: str
) -> None:
    first_gateway, second_gateway = shop["gateway"], second["gateway"]
    buyer = Shopper(first_gateway.app_url).register_and_log_in()
    assert buyer.put_in_cart(product, 1).status_code == 200
    first = buyer.check_out(idempotency_key="pair-retry")
    # The retry goes through the other gateway, as a load balancer may send it.
    again = Shopper(second_gateway.app_url, buyer.email, buyer.password, buyer.token).check_out(
        idempotency_key="pair-retry"
    )
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["order_id"] == again.json()["order_id"]
    order = buyer.order_when(first.json()["order_id"], "paid")
    assert order["payment"]["amount_cents"] == 1250
    assert len(buyer.get("/api/v1/orders").json()) == 1


@pytest.mark.timeout(280)
def test_every_order_settles_once_while_one_instance_of_each_pair_is_killed(
    checkout_style: str,
    shop: dict[str, Sidecar],
    second: dict[str, Sidecar],
    profile: str,
    secrets: dict[str, str],
) -> None:
    # The first orders app, the second payments sidecar, then the broker: the other
    # instance of each pair carries on, and both orders instances sweep and both
    # shipping carriers walk the same open checkouts and shipments throughout.
    pairs = {sidecar.name: sidecar for sidecar in [*shop.values(), *second.values()]}
    chaos_in_short(pairs, profile, checkout_style, secrets["catalog-admin-token"])
