from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    statestore: str = "statestore"
    pubsub: str = "pubsub"
    secretstore: str = "secretstore"
    # Name of the secret holding the bearer token that guards catalog writes.
    admin_token_secret: str = "catalog-admin-token"  # noqa: S105 (a name, not a value)
