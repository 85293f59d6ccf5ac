"""The Dapr building blocks end to end: the skeleton services beside real daprd
processes, on the profile under test. Nothing here is faked."""

import time
import uuid

import httpx
import pytest

from tests.system.launcher import Sidecar

pytestmark = pytest.mark.system


def new_id() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


def admin(secrets: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets['catalog-admin-token']}"}


def product(name: str = "Mug", price_cents: int = 1250, stock: int = 3) -> dict[str, object]:
    return {"name": name, "price_cents": price_cents, "stock": stock}


def put_product(
    catalog: Sidecar, secrets: dict[str, str], product_id: str, **fields: object
) -> httpx.Response:
    """Through the catalog's own sidecar, by service invocation."""
    response = catalog.api.put(
        f"/v1.0/invoke/catalog/method/products/{product_id}",
        json=product(**fields),  # type: ignore[arg-type]
        headers=admin(secrets),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response


def raw_state(catalog: Sidecar, key: str) -> httpx.Response:
    return catalog.api.get(f"/v1.0/state/statestore/{key}", timeout=10)


def test_gateway_invokes_catalog_by_app_id(
    catalog: Sidecar, gateway: Sidecar, secrets: dict[str, str]
) -> None:
    product_id = new_id()
    put_product(catalog, secrets, product_id, name="Teapot")

    through_gateway = httpx.get(f"{gateway.app_url}/api/v1/products/{product_id}", timeout=10)
    assert through_gateway.status_code == 200, through_gateway.text
    assert through_gateway.json()["name"] == "Teapot"

    # The gateway's own sidecar resolves the other app id too.
    direct = gateway.api.get(f"/v1.0/invoke/catalog/method/products/{product_id}", timeout=10)
    assert direct.status_code == 200
    assert direct.json()["id"] == product_id


def test_state_save_get_delete(catalog: Sidecar, secrets: dict[str, str]) -> None:
    product_id = new_id()
    put_product(catalog, secrets, product_id, price_cents=777)

    stored = raw_state(catalog, f"product:{product_id}")
    assert stored.status_code == 200
    assert stored.json()["price_cents"] == 777
    assert stored.headers.get("ETag")

    deleted = catalog.api.delete(
        f"/v1.0/invoke/catalog/method/products/{product_id}",
        headers=admin(secrets),
        timeout=10,
    )
    assert deleted.status_code == 204
    assert raw_state(catalog, f"product:{product_id}").status_code == 204  # no such key


def test_stale_etag_is_refused(catalog: Sidecar, secrets: dict[str, str]) -> None:
    product_id = new_id()
    first = put_product(catalog, secrets, product_id, stock=5)
    put_product(catalog, secrets, product_id, stock=4)

    stale = catalog.api.put(
        f"/v1.0/invoke/catalog/method/products/{product_id}",
        json=product(stock=100),
        headers={**admin(secrets), "If-Match": first.headers["ETag"]},
        timeout=10,
    )
    assert stale.status_code == 412, stale.text
    assert raw_state(catalog, f"product:{product_id}").json()["stock"] == 4

    # The state API itself refuses it as well.
    refused = catalog.api.post(
        "/v1.0/state/statestore",
        json=[{"key": f"product:{product_id}", "value": {"x": 1}, "etag": first.headers["ETag"],
               "options": {"concurrency": "first-write"}}],
        timeout=10,
    )  # fmt: skip
    assert refused.status_code == 409, refused.text


def transact(sidecar: Sidecar, *operations: dict[str, object]) -> httpx.Response:
    return sidecar.api.post(
        "/v1.0/state/statestore/transaction",
        json={"operations": list(operations)},
        timeout=10,
    )


def test_multi_key_transaction(catalog: Sidecar) -> None:
    keys = [f"txn-{new_id()}" for _ in range(3)]
    catalog.api.post("/v1.0/state/statestore", json=[{"key": keys[2], "value": 0}])
    answer = transact(
        catalog,
        {"operation": "upsert", "request": {"key": keys[0], "value": {"n": 1}}},
        {"operation": "upsert", "request": {"key": keys[1], "value": {"n": 2}}},
        {"operation": "delete", "request": {"key": keys[2]}},
    )
    assert answer.status_code == 204, answer.text
    assert [raw_state(catalog, k).status_code for k in keys] == [200, 200, 204]
    assert raw_state(catalog, keys[1]).json() == {"n": 2}


def test_failed_transaction_atomicity_per_profile(catalog: Sidecar, profile: str) -> None:
    """PostgreSQL rolls a failed transaction back; Redis does not (its earlier operations
    stay applied). The shop therefore never relies on multi-key atomicity for stock: each
    reservation is one ETag write to one product (services/catalog/domain.py)."""
    fresh, existing = f"txn-{new_id()}", f"txn-{new_id()}"
    catalog.api.post("/v1.0/state/statestore", json=[{"key": existing, "value": 0}])
    stale = "00000000-0000-0000-0000-000000000000" if profile == "kafka-postgres" else "999999"
    answer = transact(
        catalog,
        {"operation": "upsert", "request": {"key": fresh, "value": 1}},
        {"operation": "upsert", "request": {"key": existing, "value": 2, "etag": stale}},
    )
    assert answer.status_code >= 400
    assert raw_state(catalog, existing).json() == 0
    applied = raw_state(catalog, fresh).status_code == 200
    assert applied is (profile == "redis")


def test_published_event_reaches_the_subscriber(
    catalog: Sidecar, gateway: Sidecar, secrets: dict[str, str]
) -> None:
    product_id = new_id()
    put_product(catalog, secrets, product_id, name=product_id, price_cents=100)
    pages = {
        "product page": (f"{gateway.app_url}/api/v1/products/{product_id}", None),
        "listing": (f"{gateway.app_url}/api/v1/products?q={product_id}", product_id),
    }

    def price(answer: httpx.Response, listed: str | None) -> int:
        body = answer.json()
        if listed is not None:
            [body] = [p for p in body["items"] if p["id"] == listed]
        return int(body["price_cents"])

    # The first events of a fresh subscription may race its set-up: read until cached.
    for what, (url, _) in pages.items():
        deadline = time.monotonic() + 30
        while httpx.get(url, timeout=10).headers["X-Cache"] != "hit":
            assert time.monotonic() < deadline, f"the gateway never cached the {what}"
            time.sleep(0.2)

    # The write publishes catalog.product-changed; the gateway evicts on receipt, so the
    # new price shows only if the CloudEvent arrived (the cache TTL is a minute).
    put_product(catalog, secrets, product_id, name=product_id, price_cents=200)
    for what, (url, listed) in pages.items():
        deadline = time.monotonic() + 30
        while price(seen := httpx.get(url, timeout=10), listed) != 200:
            assert seen.headers["X-Cache"] == "hit"
            assert time.monotonic() < deadline, f"product-changed never evicted the {what}"
            time.sleep(0.1)


def test_secret_is_read_from_the_secret_store(catalog: Sidecar, secrets: dict[str, str]) -> None:
    answer = catalog.api.get("/v1.0/secrets/secretstore/catalog-admin-token", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"catalog-admin-token": secrets["catalog-admin-token"]}

    # The catalog read the same secret through its sidecar at start-up: it is the key.
    wrong = catalog.api.put(
        f"/v1.0/invoke/catalog/method/products/{new_id()}",
        json=product(),
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert wrong.status_code == 401
    assert "admin token" in wrong.json()["detail"]


def test_state_store_is_scoped_away_from_the_gateway(gateway: Sidecar) -> None:
    answer = gateway.api.get("/v1.0/state/statestore/anything", timeout=10)
    assert answer.status_code in (400, 404, 500), answer.text
    assert "statestore" in answer.text
