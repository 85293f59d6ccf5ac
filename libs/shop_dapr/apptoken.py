"""Sidecar -> app authentication: with APP_API_TOKEN set, the sidecar sends it in the
`dapr-api-token` header of every call it makes to the app (invocations, pub/sub
deliveries); anything else reaching those routes bypassed the sidecar and is refused."""

import hmac
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from shop_dapr.asgi import send_json_error
from shop_dapr.sidecar import SidecarSettings

HEADER = b"dapr-api-token"
# Probes come from the platform (kubelet, compose, daprd's own health check) and scrapes
# from Prometheus, not through the sidecar. Metrics carry counts, never payloads.
ALWAYS_OPEN = ("/healthz", "/readyz", "/metrics")


class RequireAppToken:
    def __init__(
        self, app: ASGIApp, token: str, protected: Sequence[str], also_open: Sequence[str]
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.protected = tuple(protected)
        self.open = ALWAYS_OPEN + tuple(also_open)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        guarded = (
            scope["type"] == "http"
            and path.startswith(self.protected)
            and not path.startswith(self.open)
        )
        if guarded and not hmac.compare_digest(dict(scope["headers"]).get(HEADER, b""), self.token):
            await send_json_error(send, 401, "this route is served through the Dapr sidecar only")
            return
        await self.app(scope, receive, send)


def require_app_token(
    app: FastAPI,
    settings: SidecarSettings,
    protected: Sequence[str] = ("/",),
    also_open: Sequence[str] = (),
) -> None:
    """Guard the routes under `protected` (path prefixes) when APP_API_TOKEN is set."""
    if settings.app_api_token is not None:
        token = settings.app_api_token.get_secret_value()
        app.add_middleware(RequireAppToken, token=token, protected=protected, also_open=also_open)
