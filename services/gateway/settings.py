from pydantic import AnyHttpUrl, Field
from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    catalog_app_id: str = "catalog"
    identity_app_id: str = "identity"
    cart_app_id: str = "cart"
    orders_app_id: str = "orders"
    payments_app_id: str = "payments"
    # Product pages are cached and evicted by catalog.product-changed events; the TTL
    # bounds staleness should an event be lost.
    product_cache_ttl_seconds: float = Field(default=60.0, ge=0)
    # Per client (the user of a verified token, else the peer address): sustained
    # requests per second, and burst.
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # For the benchmarks only (bench/), never in a deployment: apps the gateway calls
    # straight at these URLs, bypassing both sidecars, to measure what the sidecars cost.
    # JSON, e.g. DIRECT_UPSTREAMS='{"catalog": "http://127.0.0.1:8101"}'. The gateway's
    # APP_API_TOKEN goes along, so the app must share it (as under `make run`).
    direct_upstreams: dict[str, AnyHttpUrl] = Field(default_factory=dict)
