"""Topic handlers, bound by components/common/subscriptions.yaml."""

from fastapi import APIRouter
from shop_contracts.catalog import ProductChanged
from shop_dapr import CloudEvent
from shop_dapr.subscriber import topic

from gateway.api import CatalogDep

router = APIRouter(prefix="/events", include_in_schema=False)


@topic(router, "/catalog/product-changed", ProductChanged)
async def on_product_changed(event: CloudEvent[ProductChanged], catalog: CatalogDep) -> None:
    # Evicting is idempotent: a redelivered event has no further effect.
    catalog.forget(event.data.product_id)
