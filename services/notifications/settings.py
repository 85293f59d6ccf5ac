from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    identity_app_id: str = "identity"
    # A client that takes longer than this to accept one update is treated as gone.
    ws_send_timeout_seconds: float = 10.0
