"""Dapr Workflow. Workflows are started, signalled and read through the sidecar's HTTP
API, like every other building block (`DaprWorkflows`); the app's own workflows and
activities run in the Python SDK's worker (`workflow_worker`), which streams its work
from the sidecar over gRPC: the one part of Dapr an app cannot reach over HTTP.

The worker runs in a thread with an event loop of its own. Activities hand their work to
the app's loop (`AppLoop.run`), where the app's clients (its sidecar session, its
invoker) live: one set of clients, whichever way a request arrives."""

import asyncio
import json
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from shop_dapr.sidecar import SidecarApi

log = logging.getLogger(__name__)
T = TypeVar("T")

_PATH = "/v1.0/workflows/dapr"


@dataclass(frozen=True)
class WorkflowState:
    """What the sidecar says of one workflow instance."""

    runtime_status: str  # RUNNING, COMPLETED, FAILED, TERMINATED, PENDING, SUSPENDED
    custom_status: str | None
    output: Any
    last_updated: datetime | None = None  # its last step

    @property
    def finished(self) -> bool:
        return self.runtime_status in ("COMPLETED", "FAILED", "TERMINATED")


class WorkflowAlreadyRunning(Exception):
    """An instance with that id is running: it was started earlier (a retried request)."""


class Workflows(Protocol):
    async def start(self, name: str, instance_id: str, data: BaseModel) -> None: ...

    async def raise_event(self, instance_id: str, event: str, data: BaseModel) -> None: ...

    async def state(self, instance_id: str) -> WorkflowState | None: ...


class DaprWorkflows:
    def __init__(self, api: SidecarApi) -> None:
        self._api = api

    async def start(self, name: str, instance_id: str, data: BaseModel) -> None:
        """Start `name` as `instance_id` (durable once this returns). An id whose earlier
        instance finished starts afresh; one still running raises WorkflowAlreadyRunning."""
        answer = await self._api.call(
            "POST",
            f"{_PATH}/{quote(name, safe='')}/start",
            params={"instanceID": instance_id},
            body=data.model_dump_json().encode(),
        )
        if answer.status in (200, 202):
            return
        if b"already exists" in answer.body:
            raise WorkflowAlreadyRunning(instance_id)
        raise answer.failure(f"starting workflow {name} {instance_id}")

    async def raise_event(self, instance_id: str, event: str, data: BaseModel) -> None:
        """Deliver `event` to the instance: kept in its history until it waits for it."""
        answer = await self._api.call(
            "POST",
            f"{_PATH}/{quote(instance_id, safe='')}/raiseEvent/{quote(event, safe='')}",
            body=data.model_dump_json().encode(),
        )
        if answer.status not in (200, 202, 204):
            raise answer.failure(f"raising {event} on workflow {instance_id}")

    async def state(self, instance_id: str) -> WorkflowState | None:
        answer = await self._api.call("GET", f"{_PATH}/{quote(instance_id, safe='')}")
        if answer.status != 200:
            if b"not found" in answer.body.lower() or answer.status == 404:
                return None
            raise answer.failure(f"reading workflow {instance_id}")
        found = json.loads(answer.body)
        properties = found.get("properties") or {}
        output = properties.get("dapr.workflow.output")
        return WorkflowState(
            runtime_status=found.get("runtimeStatus", "UNKNOWN"),
            custom_status=properties.get("dapr.workflow.custom_status"),
            output=json.loads(output) if output else None,
            last_updated=_timestamp(found.get("lastUpdatedAt")),
        )


def _timestamp(text: str | None) -> datetime | None:
    """daprd's RFC 3339 time, nanoseconds and all (Python reads up to microseconds)."""
    if not text:
        return None
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(trimmed)
    except ValueError:
        return None


class AppLoop:
    """Runs coroutines on the app's event loop from the worker's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        if asyncio.get_running_loop() is self._loop:
            return await work  # unit tests run everything on one loop
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))


@asynccontextmanager
async def workflow_worker(
    grpc_port: int, register: Callable[[Any], None], ready_timeout_seconds: float = 60.0
) -> AsyncIterator[None]:
    """The SDK's worker, serving the workflows and activities `register` adds to the
    runtime it is given, from start-up to shutdown."""
    # Imported here: only an app that runs workflows pays for the SDK and gRPC.
    from dapr.ext.workflow import WorkflowRuntime
    from dapr.ext.workflow.logger import LoggerOptions

    runtime = WorkflowRuntime(
        host="127.0.0.1",
        port=str(grpc_port),
        worker_ready_timeout=ready_timeout_seconds,
        # The SDK adds a plain-text handler of its own unless given one: its records
        # reach the app's JSON log through the root logger instead; warnings only (at
        # info it logs every step of every workflow).
        logger_options=LoggerOptions(log_level="WARNING", log_handler=logging.NullHandler()),
    )
    # The worker's own logger ignores the level above and logs every step at info.
    logging.getLogger("durabletask-worker").setLevel(logging.WARNING)
    register(runtime)
    # start() blocks until the sidecar streams work to it: off the app's loop.
    await asyncio.to_thread(runtime.start)
    log.info("workflow worker connected to the sidecar (gRPC port %d)", grpc_port)
    try:
        yield
    finally:
        # Shutdown joins the worker's thread, which may wait on the app's loop: a thread.
        stopper = threading.Thread(target=runtime.shutdown, name="workflow-shutdown", daemon=True)
        stopper.start()
        await asyncio.to_thread(stopper.join, 10.0)
