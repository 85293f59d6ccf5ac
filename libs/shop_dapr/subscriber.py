"""The request body of a topic handler, as JSON, without FastAPI's validation: a body
that is not JSON becomes None (the handler then answers DROP), never a 422, which the
sidecar would redeliver forever. The CloudEvent's topic is kept on the request for the
metrics (shop_dapr.metrics)."""

import json
import logging
from typing import Annotated, Any

from fastapi import Depends, Request

log = logging.getLogger(__name__)


async def _event_body(request: Request) -> Any:
    try:
        body = json.loads(await request.body())
    except ValueError:
        log.warning("dropping a delivery to %s whose body is not JSON", request.url.path)
        return None
    if isinstance(body, dict) and isinstance(body.get("topic"), str):
        request.state.event_topic = body["topic"]
    return body


EventBody = Annotated[Any, Depends(_event_body)]
