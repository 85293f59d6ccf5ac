from pydantic import Field
from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    catalog_app_id: str = "catalog"
    # Product pages are cached and evicted by catalog.product-changed events; the TTL
    # bounds staleness should an event be lost.
    product_cache_ttl_seconds: float = Field(default=60.0, ge=0)
