"""Service invocation: plain HTTP through the caller's own sidecar."""

from typing import TypeVar

import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel, SecretStr, ValidationError

from shop_dapr.sidecar import SidecarSettings
from shop_dapr.telemetry import trace_client


def sidecar_http_client(
    settings: SidecarSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One pooled client per process, pointed at the sidecar.

    Invoke another app with `client.get("/path", headers={"dapr-app-id": "catalog"})`:
    the sidecar resolves the app id, and the path reaches the app unchanged. Every call
    carries the current trace (`traceparent`), which the sidecar continues.
    """
    return pooled_client(
        settings.http_url, settings.dapr_api_token, settings.dapr_call_timeout_seconds, transport
    )


def pooled_client(
    base_url: str,
    token: SecretStr | None,
    timeout_seconds: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A traced client with a connection pool, sending `token` as `dapr-api-token`.

    The pool is aiohttp's, under httpx's interface: httpcore's pool checks every idle
    connection with a system call on every request, which made the gateway spend more
    time choosing a connection than forwarding (docs/benchmarks/analysis.md)."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    client = httpx.AsyncClient(
        base_url=base_url,
        headers={"dapr-api-token": token.get_secret_value()} if token else None,
        timeout=httpx.Timeout(timeout_seconds),
        transport=transport or AiohttpTransport(limits=limits, trust_env=False),
    )
    return trace_client(client)


M = TypeVar("M", bound=BaseModel)


class Unavailable(RuntimeError):
    """The app could not be reached through the sidecar, or failed (a 5xx, or an answer
    its caller cannot use): nothing the caller did wrong; try again later (503). The
    message names the app and the status only: it may reach a public client. The cause
    (chained) keeps the details for the log."""


class Invoker:
    """One way to call another app: by its id, through this process's own sidecar (the
    pooled client of `sidecar_http_client`: the sidecar's token and the deadline are set
    there, once)."""

    def __init__(self, sidecar: httpx.AsyncClient) -> None:
        self._sidecar = sidecar

    async def request(
        self,
        app_id: str,
        method: str,
        path: str,
        *,
        json: object | None = None,
        content: bytes | None = None,
        params: httpx.QueryParams | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The app's answer, whatever its status below 500; no answer, or a 5xx, raises
        Unavailable."""
        try:
            response = await self._sidecar.request(
                method,
                path,
                json=json,
                content=content,
                params=params,
                headers={**(headers or {}), "dapr-app-id": app_id},
            )
        except httpx.TransportError as exc:
            raise Unavailable(f"{app_id} unreachable") from exc
        if response.status_code >= 500:
            raise Unavailable(f"{app_id} failed ({response.status_code})")
        return response

    async def call(
        self, app_id: str, method: str, path: str, answer: type[M], *, json: object | None = None
    ) -> M:
        """The app's 200 answer as `answer`; any other answer raises Unavailable (use
        `request` where a 4xx means something to the caller)."""
        response = await self.request(app_id, method, path, json=json)
        if response.status_code != 200:
            raise Unavailable(f"{app_id} answered {response.status_code}")
        try:
            return answer.model_validate_json(response.content)
        except ValidationError as exc:
            raise Unavailable(f"{app_id} answered with an unusable body") from exc
