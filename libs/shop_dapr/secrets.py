"""Reading secrets from the sidecar's secret store."""

import json
from typing import Protocol
from urllib.parse import quote

from shop_dapr.sidecar import SidecarApi


class SecretNotFound(LookupError):
    pass


class SecretStore(Protocol):
    async def get(self, name: str) -> str: ...


class DaprSecretStore:
    def __init__(self, sidecar: SidecarApi, store_name: str) -> None:
        self._sidecar = sidecar
        self._store = store_name

    async def get(self, name: str) -> str:
        path = f"/v1.0/secrets/{quote(self._store, safe='')}/{quote(name, safe='')}"
        answer = await self._sidecar.call("GET", path)
        if answer.status != 200:
            # The message names the secret, never its value.
            raise SecretNotFound(
                f"secret '{name}' could not be read from store '{self._store}': {answer.reason()}"
            )
        # local.file and most stores return one key named like the secret itself.
        secret = json.loads(answer.body)
        if name in secret:
            return str(secret[name])
        raise SecretNotFound(f"secret '{name}' has no key '{name}' in store '{self._store}'")
