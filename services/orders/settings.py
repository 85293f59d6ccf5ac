from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    # Its own component (components/<profile>/orderstore.yaml): it carries the outbox
    # that publishes orders.order-created atomically with each new order.
    statestore: str = "orderstore"
    pubsub: str = "pubsub"
    cart_app_id: str = "cart"
    catalog_app_id: str = "catalog"
