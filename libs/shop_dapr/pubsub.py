"""Publishing typed events through the sidecar's pub/sub component."""

import asyncio
from typing import Protocol

from dapr.aio.clients import DaprClient
from pydantic import BaseModel


class Publisher(Protocol):
    async def publish(
        self, topic: str, event_type: str, payload: BaseModel, event_id: str | None = None
    ) -> None:
        """Publish `payload` as the data of a CloudEvent of type `event_type`. An
        `event_id` names the CloudEvent: publishing the same fact again under the same id
        lets consumers that dedupe on ids recognise the repeat."""


class DaprPublisher:
    def __init__(self, client: DaprClient, pubsub_name: str, timeout_seconds: float) -> None:
        self._client = client
        self._pubsub = pubsub_name
        self._timeout = timeout_seconds

    async def publish(
        self, topic: str, event_type: str, payload: BaseModel, event_id: str | None = None
    ) -> None:
        # The sidecar wraps the data in a CloudEvent; these override its attributes.
        attributes = {"cloudevent.type": event_type}
        if event_id is not None:
            attributes["cloudevent.id"] = event_id
        async with asyncio.timeout(self._timeout):
            await self._client.publish_event(
                self._pubsub,
                topic,
                payload.model_dump_json(),
                data_content_type="application/json",
                publish_metadata=attributes,
            )
