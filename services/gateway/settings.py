from pathlib import Path

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
    # The notifications app itself (not its sidecar): /ws/orders is relayed to it, since
    # WebSockets cannot pass through service invocation (gateway/updates.py).
    notifications_url: str = "http://127.0.0.1:8106"
    ws_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # The built storefront (make storefront); relative paths from the working directory.
    storefront_dir: Path = Path("storefront/dist")
