"""Service invocation: plain HTTP through the caller's own sidecar."""

import httpx

from shop_dapr.sidecar import SidecarSettings


def sidecar_http_client(
    settings: SidecarSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One pooled client per process, pointed at the sidecar.

    Invoke another app with `client.get("/path", headers={"dapr-app-id": "catalog"})`:
    the sidecar resolves the app id, and the path reaches the app unchanged.
    """
    token = settings.dapr_api_token
    return httpx.AsyncClient(
        base_url=settings.http_url,
        headers={"dapr-api-token": token.get_secret_value()} if token else None,
        timeout=httpx.Timeout(settings.dapr_call_timeout_seconds),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        transport=transport,
    )
