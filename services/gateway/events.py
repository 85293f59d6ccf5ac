"""Topic handlers. Routes are bound by the declarative subscriptions in
components/common/subscriptions.yaml."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import ValidationError
from shop_contracts.catalog import ProductChanged
from shop_dapr import CloudEvent, TopicReply

from gateway.api import get_products

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", include_in_schema=False)


@router.post("/catalog/product-changed")
async def on_product_changed(
    request: Request, body: Annotated[Any, Body()] = None
) -> dict[str, str]:
    # Validated here, not by a FastAPI body model: its 422 would be redelivered forever.
    try:
        event = CloudEvent[ProductChanged].model_validate(body)
    except ValidationError as exc:
        log.warning("dropping malformed product-changed event: %s", exc.errors(include_input=False))
        return TopicReply.DROP.body()
    # Evicting is idempotent: a redelivered event has no further effect.
    get_products(request).forget(event.data.product_id)
    return TopicReply.SUCCESS.body()
