from pydantic import Field
from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    catalog_app_id: str = "catalog"
    identity_app_id: str = "identity"
    cart_app_id: str = "cart"
    orders_app_id: str = "orders"
    payments_app_id: str = "payments"
    # Product, listing and category pages are cached and evicted by
    # catalog.product-changed events; the TTL bounds staleness should an event be lost
    # (0: no cache; a day at most).
    product_cache_ttl_seconds: float = Field(default=60.0, ge=0, le=86_400)
    # Per client (the user of a verified token, else the peer address): sustained
    # requests per second, and burst.
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
