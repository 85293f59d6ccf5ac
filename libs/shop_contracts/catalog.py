"""The catalog's events, the invocation API other services call, and the listing's
query parameters (the catalog checks them; the gateway publishes them)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shop_contracts.common import Cents, ProductId, Quantity

PRODUCT_CHANGED_TOPIC = "catalog.product-changed"
PRODUCT_CHANGED_TYPE = "shop.catalog.product-changed.v1"


class ProductChanged(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product_id: str
    change: Literal["upserted", "deleted"]


class ProductQuery(BaseModel):
    """`GET /products`: what to list, in which order, which page."""

    q: str | None = Field(None, max_length=200, description="words to find in names and texts")
    category: str | None = Field(None, max_length=40)
    min_price_cents: Cents | None = None
    max_price_cents: Cents | None = None
    sort: Literal["name", "price", "-price"] = "name"
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


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
