"""The cart's invocation API."""

from pydantic import BaseModel, ConfigDict

from shop_contracts.common import Cents, ProductId, Quantity, RequestedQuantity


class SetQuantity(BaseModel):
    """`PUT /carts/{user_id}/items/{product_id}`: how many of the product the cart holds."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quantity": 2}]})

    quantity: RequestedQuantity


class CartLine(BaseModel):
    product_id: ProductId
    name: str
    quantity: Quantity
    unit_price_cents: Cents
    line_total_cents: Cents


class Cart(BaseModel):
    """`GET /carts/{user_id}`: priced from the catalog at read time."""

    user_id: str
    lines: list[CartLine]
    total_cents: Cents
    currency: str
