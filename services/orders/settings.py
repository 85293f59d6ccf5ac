from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    # This service's `statestore` component carries the outbox that publishes
    # orders.order-created atomically with each new order.
    statestore: str = "statestore"
    pubsub: str = "pubsub"
    cart_app_id: str = "cart"
    catalog_app_id: str = "catalog"
