"""Where the sidecar is, and waiting for it with a deadline."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from dapr.aio.clients import DaprClient
from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import BaseSettings


class SidecarSettings(BaseSettings):
    """Where the sidecar is (the ports `dapr run` and the test launcher hand to every app,
    as env variables), and what it serves."""

    dapr_http_port: int = Field(default=3500, ge=1, le=65535)
    dapr_grpc_port: int = Field(default=50001, ge=1, le=65535)
    # Every call to the sidecar gets this deadline: the SDK sets none by default.
    dapr_call_timeout_seconds: float = Field(default=5.0, gt=0)
    dapr_startup_timeout_seconds: float = Field(default=60.0, gt=0)
    # App -> sidecar: the sidecar refuses API calls without it (daprd's DAPR_API_TOKEN;
    # the SDK reads the same variable). Sidecar -> app: the sidecar sends APP_API_TOKEN
    # with every call it makes to the app, and the app refuses calls without it.
    dapr_api_token: SecretStr | None = None
    app_api_token: SecretStr | None = None
    # The components' names, the same in every profile (components/).
    statestore: str = "statestore"
    pubsub: str = "pubsub"
    secretstore: str = "secretstore"
    mail_binding: str = "smtp"
    mail_from: str = "shop@localhost"
    # Where the app sends its spans (Zipkin's /api/v2/spans); none: made, not exported.
    # The variable is OpenTelemetry's own name for it.
    otel_exporter_zipkin_endpoint: AnyHttpUrl | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.dapr_grpc_port}"


class SidecarUnavailable(RuntimeError):
    pass


async def wait_for_sidecar(http: httpx.AsyncClient, timeout_seconds: float) -> None:
    """Return once the sidecar has loaded its components (`/v1.0/healthz/outbound`).

    The app itself need not be up for this: the sidecar waits for the app separately.
    """
    deadline = time.monotonic() + timeout_seconds
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        try:
            response = await http.get("/v1.0/healthz/outbound", timeout=2.0)
            if response.status_code == 204:
                return
            last_error = f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            last_error = repr(exc)
        await asyncio.sleep(0.2)
    raise SidecarUnavailable(
        f"the Dapr sidecar at {http.base_url} was not ready within {timeout_seconds:.0f}s "
        f"({last_error}): start the app with `dapr run` or `make run`, and check daprd's log"
    )


def _connect_grpc_client(settings: SidecarSettings) -> DaprClient:
    """The SDK client; its constructor blocks until the sidecar answers, so call this only
    after `wait_for_sidecar` has returned (then it returns at once)."""
    return DaprClient(address=settings.grpc_address)


@asynccontextmanager
async def dapr_client(
    settings: SidecarSettings, sidecar: httpx.AsyncClient
) -> AsyncIterator[DaprClient]:
    """The SDK client for the lifespan of an app: once the sidecar is ready, and closed
    on the way out."""
    await wait_for_sidecar(sidecar, settings.dapr_startup_timeout_seconds)
    client = _connect_grpc_client(settings)
    try:
        yield client
    finally:
        await client.close()  # type: ignore[no-untyped-call]
