from pydantic import Field
from shop_dapr import SidecarSettings

_WEEK = 7 * 24 * 3600


class Settings(SidecarSettings):
    catalog_app_id: str = "catalog"
    # Every write restarts this clock, so only a cart left alone this long expires.
    cart_ttl_seconds: int = Field(default=_WEEK, ge=60)
    # How long a handled order-created event is remembered; brokers redeliver within
    # minutes or hours, so a week is ample.
    handled_event_ttl_seconds: int = Field(default=_WEEK, ge=60)
