"""Reading a dead-letter topic in a test: what a sidecar gave up on lands there, and
nobody subscribes to it in the shop."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dapr.clients import DaprClient
from dapr.common.pubsub.subscription import StreamCancelledError
from dapr.conf import settings as dapr_settings

from tests.system.launcher import Sidecar


@contextmanager
def dead_letters(sidecar: Sidecar, topic: str) -> Iterator[list[dict[str, Any]]]:
    """The data of every message reaching `topic`, collected while the block runs, read
    through `sidecar` with a streaming subscription (its app's consumer group)."""
    # The SDK client waits for the sidecar it finds in its settings first.
    dapr_settings.DAPR_HTTP_PORT = sidecar.http_port  # type: ignore[attr-defined]
    dapr_settings.DAPR_API_TOKEN = sidecar.api_token  # type: ignore[attr-defined]
    client = DaprClient(address=f"127.0.0.1:{sidecar.grpc_port}")
    subscription = client.subscribe("pubsub", topic)
    received: list[dict[str, Any]] = []

    def read() -> None:
        while True:
            try:
                message = subscription.next_message()
            except StreamCancelledError:  # closed at the end of the block
                return
            if message is None:
                continue
            subscription.respond_success(message)
            received.append(json.loads(json.dumps(message.data())))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield received
    finally:
        subscription.close()
        client.close()
        reader.join(timeout=10)
