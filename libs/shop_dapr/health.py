"""`/healthz`: the process is alive. `/readyz`: it can serve right now, because its
sidecar answers and every component it needs (a state store, the broker) answers through
that sidecar. Readiness is checked afresh at every probe, so it recovers by itself once
what was down comes back; nothing is restarted."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import httpx
from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

from shop_dapr.telemetry import unsampled_traceparent, untraced

PROBE_TIMEOUT_SECONDS = 2.0
# Published by the broker probe; nobody subscribes. Kafka's retention bounds what
# accumulates; a Redis stream keeps every probe (docs/observability.md, Health).
READINESS_TOPIC = "shop.readiness"


@dataclass(frozen=True)
class Requirement:
    """A component the service cannot serve without, and the sidecar call that shows it
    answers."""

    name: str
    method: str
    path: str
    body: bytes = b""


def state_store(component: str) -> Requirement:
    # A read of a key nobody writes: 204 when the store answers.
    return Requirement(f"state store {component}", "GET", f"/v1.0/state/{component}/readyz")


def broker(component: str) -> Requirement:
    # Publishing is the only way to reach a broker through the sidecar.
    path = f"/v1.0/publish/{component}/{READINESS_TOPIC}?metadata.ttlInSeconds=60"
    return Requirement(f"broker {component}", "POST", path, b'{"probe":true}')


SIDECAR = Requirement("sidecar", "GET", "/v1.0/healthz/outbound")


class Readiness(BaseModel):
    """What `/readyz` answers: 200 when ready, 503 with the reason when not."""

    status: Literal["ready", "not ready"]
    reason: str | None = None


def health_router(requirements: Sequence[Requirement] | None) -> APIRouter:
    """`requirements` None: no sidecar at all (unit tests), so always ready."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", status_code=status.HTTP_204_NO_CONTENT)
    async def healthz() -> None:
        return None

    @router.get(
        "/readyz",
        response_model_exclude_none=True,
        responses={503: {"model": Readiness, "description": "Not ready: `reason` says why"}},
    )
    async def readyz(request: Request, response: Response) -> Readiness:
        if requirements is None:
            return Readiness(status="ready")
        sidecar: httpx.AsyncClient = request.app.state.sidecar
        reasons = await _unmet(sidecar, requirements)
        if reasons:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return Readiness(status="not ready", reason="; ".join(reasons))
        return Readiness(status="ready")

    return router


async def _unmet(sidecar: httpx.AsyncClient, requirements: Sequence[Requirement]) -> list[str]:
    reason = await _probe(sidecar, SIDECAR)
    if reason:
        return [reason]  # the components are reached through it: nothing more to learn
    answers = await asyncio.gather(*(_probe(sidecar, r) for r in requirements))
    return [answer for answer in answers if answer]


async def _probe(sidecar: httpx.AsyncClient, requirement: Requirement) -> str:
    """'' when the requirement's call answers 2xx within the deadline, else why not."""
    what = requirement.name
    try:
        with untraced():
            answer = await sidecar.request(
                requirement.method,
                requirement.path,
                content=requirement.body or None,
                headers={"content-type": "application/json", **unsampled_traceparent()},
                timeout=PROBE_TIMEOUT_SECONDS,
            )
    except httpx.TimeoutException:
        return f"{what}: no answer within {PROBE_TIMEOUT_SECONDS:.0f}s"
    except httpx.TransportError as exc:
        return f"{what}: unreachable ({exc!r})"
    if answer.is_success:
        return ""
    return f"{what}: HTTP {answer.status_code} {answer.text[:200]}"
