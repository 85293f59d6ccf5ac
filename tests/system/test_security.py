"""The security settings of the local run, shown against real sidecars."""

import httpx
import pytest

from tests.system.launcher import Sidecar

pytestmark = pytest.mark.system


def test_sidecar_api_refuses_calls_without_its_token(catalog: Sidecar) -> None:
    without = httpx.get(f"{catalog.url}/v1.0/state/statestore/anything", timeout=10)
    assert without.status_code == 401
    wrong = httpx.get(
        f"{catalog.url}/v1.0/state/statestore/anything",
        headers={"dapr-api-token": "wrong"},
        timeout=10,
    )
    assert wrong.status_code == 401
    assert catalog.api.get("/v1.0/state/statestore/anything").status_code == 204


def test_app_refuses_calls_that_bypass_its_sidecar(catalog: Sidecar) -> None:
    direct = httpx.get(f"{catalog.app_url}/products/mug", timeout=10)
    assert direct.status_code == 401
    assert "through the Dapr sidecar only" in direct.json()["detail"]
    assert catalog.api.get("/v1.0/invoke/catalog/method/products/mug").status_code == 200


def test_the_go_app_refuses_calls_that_bypass_its_sidecar(shop: dict[str, Sidecar]) -> None:
    shipping = shop["shipping"].app_url
    assert httpx.get(f"{shipping}/shipments/someone", timeout=10).status_code == 401
    forged = httpx.post(f"{shipping}/events/orders/order-status-changed", json={}, timeout=10)
    assert forged.status_code == 401
    assert httpx.get(f"{shipping}/healthz", timeout=10).status_code == 204


def test_gateway_public_api_stays_open_but_its_event_routes_do_not(gateway: Sidecar) -> None:
    assert httpx.get(f"{gateway.app_url}/api/v1/categories", timeout=10).status_code == 200
    forged = httpx.post(f"{gateway.app_url}/events/catalog/product-changed", json={}, timeout=10)
    assert forged.status_code == 401


def test_secret_outside_the_allowed_list_cannot_be_read(
    catalog: Sidecar, secrets: dict[str, str]
) -> None:
    for name in ("redis-password", "postgres-connection-string", "app-api-token"):
        answer = catalog.api.get(f"/v1.0/secrets/secretstore/{name}")
        assert answer.status_code == 403, (name, answer.text)
        assert secrets[name] not in answer.text
    assert catalog.api.get("/v1.0/secrets/secretstore/catalog-admin-token").status_code == 200


def test_callers_outside_an_access_list_are_refused(shop: dict[str, Sidecar]) -> None:
    """Access control in dapr-config.yaml, by mTLS identity: each caller only where it
    has business."""
    refused = [
        shop["cart"].api.get("/v1.0/invoke/orders/method/orders"),
        shop["payments"].api.get("/v1.0/invoke/catalog/method/products/mug"),
        shop["cart"].api.get("/v1.0/invoke/catalog/method/products/mug"),  # not its route
        shop["identity"].api.get("/v1.0/invoke/cart/method/carts/someone"),
        # Shipping may ask payments about a charge, nothing else; only orders asks it.
        shop["shipping"].api.get("/v1.0/invoke/orders/method/orders"),
        shop["cart"].api.get("/v1.0/invoke/shipping/method/shipments/someone"),
    ]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert "access control policy has denied access" in answer.text.lower(), answer.text
    allowed = shop["cart"].api.post(
        "/v1.0/invoke/catalog/method/products:lookup", json={"ids": ["mug"]}
    )
    assert allowed.status_code == 200, allowed.text
