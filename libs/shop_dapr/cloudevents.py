"""The CloudEvent envelope the sidecar delivers to subscribers, typed."""

import logging
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


class TopicReply(StrEnum):
    """What a subscriber answers. The sidecar acknowledges SUCCESS, redelivers RETRY and
    drops DROP; any non-2xx status other than 404 is retried, so a handler must never let
    a validation error turn into one (it would be redelivered forever)."""

    SUCCESS = "SUCCESS"
    RETRY = "RETRY"
    DROP = "DROP"

    def body(self) -> dict[str, str]:
        return {"status": self.value}


class CloudEvent(BaseModel, Generic[T]):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    source: str
    type: str
    specversion: str
    topic: str | None = None
    pubsubname: str | None = None
    traceparent: str | None = None
    data: T


def parse_event(body: object, payload: type[T]) -> CloudEvent[T] | None:
    """The typed event, or None when the body is not a valid event of this payload type
    (the handler then answers DROP: a malformed message cannot get better by retrying)."""
    try:
        return CloudEvent[payload].model_validate(body)  # type: ignore[valid-type]
    except ValidationError as exc:
        log.warning("malformed %s event: %s", payload.__name__, exc.errors(include_input=False))
        return None
