"""The events benchmark's subscriber: records, for every event it is handed, how long
ago it was published (the publisher puts its clock in the data; same machine, same
clock). Runs beside its own daprd like any service:

    SUBSCRIBE_TOPICS=bench.one,bench.fanout uvicorn --factory bench.subscriber:create_app
"""

import os
import time

from fastapi import FastAPI, Request

PUBSUB = "pubsub"


def create_app() -> FastAPI:
    topics = [t for t in os.environ.get("SUBSCRIBE_TOPICS", "").split(",") if t]
    latencies_ms: list[float] = []
    app = FastAPI(title="bench-subscriber")

    @app.get("/dapr/subscribe")
    async def subscribe() -> list[dict[str, str]]:
        return [{"pubsubname": PUBSUB, "topic": t, "route": "/events"} for t in topics]

    @app.post("/events")
    async def on_event(request: Request) -> dict[str, str]:
        received = time.time_ns()
        body = await request.json()
        data = body.get("data", body)  # a CloudEvent from the sidecar, or raw when direct
        latencies_ms.append((received - int(data["sent_ns"])) / 1e6)
        return {"status": "SUCCESS"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/latencies:drain")
    async def drain() -> list[float]:
        """Every latency recorded since the last drain (ms), and forget them."""
        drained = list(latencies_ms)
        latencies_ms.clear()
        return drained

    return app
