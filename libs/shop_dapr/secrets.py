"""Reading secrets from the sidecar's secret store."""

import asyncio
from typing import Protocol

import grpc
from dapr.aio.clients import DaprClient


class SecretNotFound(LookupError):
    pass


class SecretStore(Protocol):
    async def get(self, name: str) -> str: ...


class DaprSecretStore:
    def __init__(self, client: DaprClient, store_name: str, timeout_seconds: float) -> None:
        self._client = client
        self._store = store_name
        self._timeout = timeout_seconds

    async def get(self, name: str) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.get_secret(self._store, name)
        except grpc.RpcError as exc:
            # The message names the secret, never its value.
            reason = exc.details() if hasattr(exc, "details") else repr(exc)
            raise SecretNotFound(
                f"secret '{name}' could not be read from store '{self._store}': {reason}"
            ) from exc
        # local.file and most stores return one key named like the secret itself.
        if name in response.secret:
            return response.secret[name]
        raise SecretNotFound(f"secret '{name}' has no key '{name}' in store '{self._store}'")
