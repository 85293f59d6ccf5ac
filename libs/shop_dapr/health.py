"""`/healthz` (the process is alive) and `/readyz` (it can serve: its sidecar is up)."""

import httpx
from fastapi import APIRouter, Request, Response, status


def health_router(*, check_sidecar: bool) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", status_code=status.HTTP_204_NO_CONTENT)
    async def healthz() -> None:
        return None

    @router.get("/readyz")
    async def readyz(request: Request, response: Response) -> dict[str, str]:
        if not check_sidecar:
            return {"status": "ready"}
        sidecar: httpx.AsyncClient = request.app.state.sidecar
        try:
            answer = await sidecar.get("/v1.0/healthz/outbound", timeout=2.0)
            reason = "" if answer.status_code == 204 else f"sidecar answered {answer.status_code}"
        except httpx.TransportError as exc:
            reason = f"sidecar unreachable: {exc!r}"
        if reason:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "not ready", "reason": reason}
        return {"status": "ready"}

    return router
