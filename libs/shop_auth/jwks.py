"""Getting identity's JSON Web Key Set by service invocation."""

from typing import Any

from shop_contracts.identity import JWKS_PATH
from shop_dapr.invoke import Invoker, Unavailable


class JwksError(RuntimeError):
    """No usable key set: identity is unreachable, or answered something unusable."""


async def fetch_jwks(invoker: Invoker, identity_app_id: str = "identity") -> dict[str, Any]:
    """Identity's key set, fetched by its app id through the caller's own sidecar."""
    where = f"{JWKS_PATH} of app '{identity_app_id}'"
    try:
        response = await invoker.request(identity_app_id, "GET", JWKS_PATH)
    except Unavailable as exc:
        raise JwksError(f"could not fetch {where}: {exc}") from exc
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
