"""Events the catalog publishes."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

PRODUCT_CHANGED_TOPIC = "catalog.product-changed"
PRODUCT_CHANGED_TYPE = "shop.catalog.product-changed.v1"


class ProductChanged(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product_id: str
    change: Literal["upserted", "deleted"]
