"""Where the sidecar is, waiting for it with a deadline, and its HTTP API.

Every call an app makes goes to its own sidecar over HTTP, on one aiohttp connection
pool per process: the building blocks (state, publish, secrets, bindings) through
`SidecarApi`, service invocation through shop_dapr.invoke's client on the same pool.
The Dapr SDK's gRPC client is not used: measured against a real daprd it spent 0.25 ms
of the app's CPU on a save and a read where plain HTTP spends 0.17, and gRPC, protobuf
and the SDK held 19 MB of every idle app (docs/benchmarks/analysis.md).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import httpx
from opentelemetry.propagate import inject
from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import BaseSettings


class SidecarSettings(BaseSettings):
    """Where the sidecar is (the ports `dapr run` and the test launcher hand to every app,
    as env variables), and what it serves."""

    dapr_http_port: int = Field(default=3500, ge=1, le=65535)
    # Only the workflow worker speaks gRPC to the sidecar (shop_dapr.workflows).
    dapr_grpc_port: int = Field(default=50001, ge=1, le=65535)
    # Every call to the sidecar gets this deadline.
    dapr_call_timeout_seconds: float = Field(default=5.0, gt=0)
    dapr_startup_timeout_seconds: float = Field(default=60.0, gt=0)
    # App -> sidecar: the sidecar refuses API calls without it (daprd's DAPR_API_TOKEN).
    # Sidecar -> app: the sidecar sends APP_API_TOKEN with every call it makes to the
    # app, and the app refuses calls without it.
    dapr_api_token: SecretStr | None = None
    app_api_token: SecretStr | None = None
    # The components' names, the same in every profile (components/).
    statestore: str = "statestore"
    pubsub: str = "pubsub"
    broadcast: str = "broadcast"
    secretstore: str = "secretstore"
    mail_binding: str = "smtp"
    mail_from: str = "shop@localhost"
    # Where the app sends its spans (Zipkin's /api/v2/spans); none: made, not exported.
    # The variable is OpenTelemetry's own name for it.
    otel_exporter_zipkin_endpoint: AnyHttpUrl | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"


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


class BuildingBlockError(RuntimeError):
    """The sidecar, or the component behind it, failed a call (unreachable, or an error
    it cannot help): nothing the caller did wrong; worth trying again later (503)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def reason(self) -> str:
        """Dapr's own words for a failure (`errorCode: message`), else the status."""
        try:
            error = json.loads(self.body)
            return f"{error['errorCode']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            return f"HTTP {self.status}"

    def failure(self, what: str) -> BuildingBlockError:
        return BuildingBlockError(f"{what}: {self.reason()}")


class SidecarApi:
    """The building blocks' HTTP API of this process's sidecar. Each call carries the
    sidecar's token (set on the session), the current trace (`traceparent`, which the
    sidecar continues with its own span of the call) and a deadline."""

    def __init__(self, session: aiohttp.ClientSession, timeout_seconds: float) -> None:
        self._session = session
        self._timeout = timeout_seconds

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """The sidecar's answer, whatever its status; no answer in time raises
        TimeoutError, none at all BuildingBlockError."""
        sent = {"content-type": "application/json", **(headers or {})}
        inject(sent)
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._session.request(method, path, data=body, params=params, headers=sent) as r,
            ):
                return Answer(r.status, await r.read(), r.headers)
        except aiohttp.ClientError as exc:
            raise BuildingBlockError(
                f"the sidecar did not answer {method} {path}: {exc!r}"
            ) from exc


@asynccontextmanager
async def sidecar_session(settings: SidecarSettings) -> AsyncIterator[aiohttp.ClientSession]:
    """The process's connection pool to its sidecar, for the lifespan of the app."""
    token = settings.dapr_api_token
    session = aiohttp.ClientSession(
        base_url=settings.http_url,
        headers={"dapr-api-token": token.get_secret_value()} if token else None,
        connector=aiohttp.TCPConnector(limit=200),
        trust_env=False,
    )
    try:
        yield session
    finally:
        await session.close()
