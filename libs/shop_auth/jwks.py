"""Getting identity's JSON Web Key Set by service invocation."""

from typing import Any

import httpx
from shop_contracts.identity import JWKS_PATH


class JwksError(RuntimeError):
    """No usable key set: identity is unreachable, or answered something unusable."""


async def fetch_jwks(
    sidecar: httpx.AsyncClient, identity_app_id: str = "identity"
) -> dict[str, Any]:
    """Identity's key set, fetched through the caller's own sidecar (`sidecar` is the
    process's pooled client from `shop_dapr.sidecar_http_client`)."""
    where = f"{JWKS_PATH} of app '{identity_app_id}'"
    try:
        response = await sidecar.get(JWKS_PATH, headers={"dapr-app-id": identity_app_id})
    except httpx.TransportError as exc:
        raise JwksError(
            f"could not fetch {where} through the sidecar at {sidecar.base_url}: {exc!r}"
        ) from exc
    if response.status_code != 200:
        raise JwksError(
            f"fetching {where} answered HTTP {response.status_code}: is identity running "
            "and allowed to be invoked by this app?"
        )
    try:
        body = response.json()
    except ValueError:
        raise JwksError(f"{where} is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise JwksError(f"{where} is not a JWKS (an object with a 'keys' list)")
    return body
