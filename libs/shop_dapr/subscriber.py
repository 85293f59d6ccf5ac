"""The request body of a topic handler, as JSON, without FastAPI's validation: a body
that is not JSON becomes None (the handler then answers DROP), never a 422, which the
sidecar would redeliver forever."""

import json
from typing import Annotated, Any

from fastapi import Depends, Request


async def _event_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


EventBody = Annotated[Any, Depends(_event_body)]
