"""Topic handlers, bound by components/common/subscriptions.yaml."""

from fastapi import APIRouter
from shop_contracts.catalog import ProductChanged
from shop_dapr import TopicReply, parse_event
from shop_dapr.subscriber import EventBody

from gateway.api import ProductsDep

router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/catalog/product-changed")
async def on_product_changed(products: ProductsDep, body: EventBody) -> dict[str, str]:
    # Validated here, not by a FastAPI body model: its 422 would be redelivered forever.
    event = parse_event(body, ProductChanged)
    if event is None:
        return TopicReply.DROP.body()
    # Evicting is idempotent: a redelivered event has no further effect.
    products.forget(event.data.product_id)
    return TopicReply.SUCCESS.body()
