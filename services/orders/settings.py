from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    cart_app_id: str = "cart"
    catalog_app_id: str = "catalog"
    payments_app_id: str = "payments"
    # The sweeper (services/orders/inflight.py) looks this often for checkouts left open
    # longer than the grace: a grace above the longest a checkout may run (the gateway
    # gives it 10 s), so that it only ever finishes what nobody is still doing.
    sweep_interval_seconds: float = 5.0
    sweep_grace_seconds: float = 15.0
    # A pending order is announced again at most this often (payments may be down).
    sweep_reannounce_seconds: float = 30.0
