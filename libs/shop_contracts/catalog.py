"""The catalog's events and the invocation API other services call."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from shop_contracts.common import Cents, ProductId, Quantity

PRODUCT_CHANGED_TOPIC = "catalog.product-changed"
PRODUCT_CHANGED_TYPE = "shop.catalog.product-changed.v1"


class ProductChanged(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product_id: str
    change: Literal["upserted", "deleted"]


class PricedProduct(BaseModel):
    """One entry of `POST /products:lookup` (body: {"ids": [...]})."""

    id: ProductId
    name: str
    price_cents: Cents
    available: int


class LookupRequest(BaseModel):
    ids: list[ProductId]


class LookupResponse(BaseModel):
    products: list[PricedProduct]
    missing: list[str]


class ReservationItem(BaseModel):
    product_id: ProductId
    quantity: Quantity


class ReserveRequest(BaseModel):
    """`PUT /reservations/{order_id}`: all items or none; idempotent per order id.
    200: reserved. 409: not enough stock (body: ReserveRefused)."""

    items: list[ReservationItem]


class ReserveRefused(BaseModel):
    detail: str
    product_id: str
    available: int
