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
    SidecarSettings,
    SidecarUnavailable,
    dapr_client,
    wait_for_sidecar,
)
from shop_dapr.state import (
    DaprStateStore,
    ETagMismatch,
    StateEntry,
    StateStore,
)

__all__ = [
    "CloudEvent",
    "DaprPublisher",
    "DaprSecretStore",
    "DaprStateStore",
    "ETagMismatch",
    "Publisher",
    "SecretNotFound",
    "SecretStore",
    "SidecarSettings",
    "SidecarUnavailable",
    "StateEntry",
    "StateStore",
    "TopicReply",
    "dapr_client",
    "parse_event",
    "sidecar_http_client",
    "wait_for_sidecar",
]
