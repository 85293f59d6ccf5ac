from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    statestore: str = "statestore"
    mail_binding: str = "smtp"
    mail_from: str = "shop@localhost"
    identity_app_id: str = "identity"
    # A client that takes longer than this to accept one update is treated as gone.
    ws_send_timeout_seconds: float = 10.0
