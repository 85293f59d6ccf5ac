"""The app refuses calls that did not come through its sidecar."""

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from shop_dapr.apptoken import require_app_token
from shop_dapr.sidecar import SidecarSettings


def app_with(protected: tuple[str, ...] = ("/",), also_open: tuple[str, ...] = ()) -> FastAPI:
    app = FastAPI()
    for path in ("/orders", "/events/x", "/healthz", "/ws/x"):
        app.add_api_route(path, lambda: {"ok": True})
    require_app_token(app, SidecarSettings(app_api_token=SecretStr("t0k")), protected, also_open)
    return app


async def status(app: FastAPI, path: str, token: str | None) -> int:
    headers = {"dapr-api-token": token} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as c:
        return (await c.get(path, headers=headers)).status_code


async def test_calls_without_or_with_a_wrong_token_are_refused() -> None:
    app = app_with()
    assert await status(app, "/orders", None) == 401
    assert await status(app, "/orders", "wrong") == 401
    assert await status(app, "/orders", "t0k") == 200


async def test_probes_and_open_prefixes_need_no_token() -> None:
    app = app_with(also_open=("/ws",))
    assert await status(app, "/healthz", None) == 200
    assert await status(app, "/ws/x", None) == 200


async def test_only_protected_prefixes_are_guarded() -> None:
    app = app_with(protected=("/events",))
    assert await status(app, "/orders", None) == 200
    assert await status(app, "/events/x", None) == 401


async def test_without_a_configured_token_nothing_is_guarded() -> None:
    app = FastAPI()
    app.add_api_route("/orders", lambda: {"ok": True})
    require_app_token(app, SidecarSettings())
    assert await status(app, "/orders", None) == 200
