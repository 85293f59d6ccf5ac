"""Publishing typed events through the sidecar's pub/sub component."""

from typing import Protocol
from urllib.parse import quote

from pydantic import BaseModel

from shop_dapr.sidecar import SidecarApi


class Publisher(Protocol):
    async def publish(
        self, topic: str, event_type: str, payload: BaseModel, event_id: str | None = None
    ) -> None:
        """Publish `payload` as the data of a CloudEvent of type `event_type`. An
        `event_id` names the CloudEvent: publishing the same fact again under the same id
        lets consumers that dedupe on ids recognise the repeat."""


class DaprPublisher:
    def __init__(self, sidecar: SidecarApi, pubsub_name: str) -> None:
        self._sidecar = sidecar
        self._path = f"/v1.0/publish/{quote(pubsub_name, safe='')}"

    async def publish(
        self, topic: str, event_type: str, payload: BaseModel, event_id: str | None = None
    ) -> None:
        # The sidecar wraps the data in a CloudEvent; these override its attributes.
        attributes = {"metadata.cloudevent.type": event_type}
        if event_id is not None:
            attributes["metadata.cloudevent.id"] = event_id
        answer = await self._sidecar.call(
            "POST",
            f"{self._path}/{quote(topic, safe='')}",
            body=payload.model_dump_json().encode(),
            params=attributes,
        )
        if answer.status != 204:
            raise answer.failure(f"publishing to '{topic}'")
