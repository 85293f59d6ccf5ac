"""Products: the catalog's rules, free of I/O."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ProductId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class ProductFields(BaseModel):
    """What an admin sends to create or replace a product."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    price_cents: int = Field(ge=0, le=100_000_000)
    stock: int = Field(ge=0, le=1_000_000)


class Product(ProductFields):
    id: ProductId


def state_key(product_id: str) -> str:
    return f"product:{product_id}"
