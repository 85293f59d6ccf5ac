"""Publishing typed events through the sidecar's pub/sub component."""

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from dapr.aio.clients import DaprClient
from pydantic import BaseModel


class Publisher(Protocol):
    async def publish(self, topic: str, event_type: str, payload: BaseModel) -> None:
        """Publish `payload` as the data of a CloudEvent of type `event_type`."""


class DaprPublisher:
    def __init__(self, client: DaprClient, pubsub_name: str, timeout_seconds: float) -> None:
        self._client = client
        self._pubsub = pubsub_name
        self._timeout = timeout_seconds

    async def publish(self, topic: str, event_type: str, payload: BaseModel) -> None:
        async with asyncio.timeout(self._timeout):
            await self._client.publish_event(
                self._pubsub,
                topic,
                payload.model_dump_json(),
                data_content_type="application/json",
                # The sidecar wraps the data in a CloudEvent; name its type after ours.
                publish_metadata={"cloudevent.type": event_type},
            )


@dataclass
class InMemoryPublisher:
    published: list[tuple[str, str, BaseModel]] = field(default_factory=list)

    async def publish(self, topic: str, event_type: str, payload: BaseModel) -> None:
        self.published.append((topic, event_type, payload))
