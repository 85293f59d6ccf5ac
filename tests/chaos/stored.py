"""What the services stored, read through their own sidecars' state API (with each
sidecar's API token): the catalog's products, payments' charge records and the
simulated provider's ledger. Keys are the services' own; the sidecar adds the app-id
prefix."""

from typing import Any

import httpx

from tests.chaos.report import Charge, Product, Shipment
from tests.system.launcher import Sidecar
from tests.system.shopper import eventually


def read_state(sidecar: Sidecar, key: str, timeout: float = 30) -> dict[str, Any] | None:
    """The JSON stored under `key` in the sidecar's statestore; None when absent."""

    def attempt() -> tuple[dict[str, Any] | None] | None:
        try:
            answer = sidecar.api.get(f"/v1.0/state/statestore/{key}", timeout=5)
        except httpx.TransportError:
            return None
        if answer.status_code == 204:
            return (None,)
        if answer.status_code != 200:
            return None
        value: dict[str, Any] = answer.json()
        return (value,)

    found: tuple[dict[str, Any] | None] = eventually(
        attempt,
        f"{sidecar.app_id}'s sidecar to answer a state read of '{key}': see "
        f".data/logs/{sidecar.log_prefix}-{sidecar.app_id}-daprd.log",
        timeout,
    )
    return found[0]


def read_product(catalog: Sidecar, product_id: str, starting_stock: int) -> Product:
    stored = read_state(catalog, f"product:{product_id}")
    if stored is None:
        return Product(product_id, starting_stock, None)
    return Product(
        product_id, starting_stock, int(stored["stock"]), dict(stored.get("reservations", {}))
    )


def read_charge(payments: Sidecar, order_id: str) -> Charge | None:
    stored = read_state(payments, f"charge:{order_id}")
    if stored is None:
        return None
    return Charge(
        status=str(stored.get("status")),
        payment_id=stored.get("payment_id"),
        amount_cents=int(stored.get("amount_cents", 0)),
        refunded_cents=int(stored.get("refunded_cents", 0)),
    )


def read_ledger(payments: Sidecar, order_id: str) -> Charge | None:
    """The provider's durable ledger entry of the order's charge; None when absent
    (before the ledger existed: unknown)."""
    stored = read_state(payments, f"provider-charge:{order_id}")
    if stored is None:
        return None
    payment_id = stored.get("payment_id")
    return Charge(
        status="succeeded" if payment_id else "declined",
        payment_id=payment_id,
        amount_cents=int(stored.get("amount_cents", 0)),
        refunded_cents=int(stored.get("refunded_cents", 0)),
    )


def read_shipment(shipping: Sidecar, order_id: str) -> Shipment | None:
    stored = read_state(shipping, f"shipment-{order_id}")
    if stored is None:
        return None
    return Shipment(
        status=str(stored.get("status")), tracking_number=str(stored.get("tracking_number"))
    )
