"""Thin typed adapters over the Dapr building blocks (in-memory fakes for unit tests are
in shop_dapr.testing).

Services depend on the protocols (`StateStore`, `Publisher`, `SecretStore`) and get the
Dapr-backed implementations from their composition root (`main.create_app`).
"""

from shop_dapr.cloudevents import CloudEvent, TopicReply, parse_event
from shop_dapr.invoke import sidecar_http_client
from shop_dapr.pubsub import DaprPublisher, Publisher
from shop_dapr.secrets import DaprSecretStore, SecretNotFound, SecretStore
from shop_dapr.sidecar import (
    BuildingBlockError,
    SidecarApi,
    SidecarSettings,
    SidecarUnavailable,
    sidecar_session,
    wait_for_sidecar,
)
from shop_dapr.state import (
    DaprStateStore,
    ETagMismatch,
    StateEntry,
    StateStore,
)

__all__ = [
    "BuildingBlockError",
    "CloudEvent",
    "DaprPublisher",
    "DaprSecretStore",
    "DaprStateStore",
    "ETagMismatch",
    "Publisher",
    "SecretNotFound",
    "SecretStore",
    "SidecarApi",
    "SidecarSettings",
    "SidecarUnavailable",
    "StateEntry",
    "StateStore",
    "TopicReply",
    "parse_event",
    "sidecar_http_client",
    "sidecar_session",
    "wait_for_sidecar",
]
