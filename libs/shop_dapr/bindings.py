"""Sending e-mail through the sidecar's SMTP output binding, and a fake for unit tests."""

import asyncio
import html
from typing import Protocol

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError


class MailNotSent(RuntimeError):
    """The binding refused the mail or did not answer in time; sending again may work."""


class MailSender(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Send a plain-text mail to one address; raises MailNotSent on failure."""


class DaprMailSender:
    def __init__(
        self, client: DaprClient, binding_name: str, sender: str, timeout_seconds: float
    ) -> None:
        self._client = client
        self._binding = binding_name
        self._sender = sender
        self._timeout = timeout_seconds

    async def send(self, to: str, subject: str, body: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.invoke_binding(
                    self._binding,
                    "create",
                    data=_as_html(body),
                    binding_metadata={"emailTo": to, "subject": subject, "emailFrom": self._sender},
                )
        except (grpc.RpcError, DaprInternalError, TimeoutError) as exc:
            raise MailNotSent(f"binding '{self._binding}' did not send the mail: {exc}") from exc


def _as_html(text: str) -> str:
    # Dapr's SMTP binding always labels the body text/html. Escaped and preformatted, a
    # plain-text body keeps its line breaks, and text from the data (a product name, say)
    # cannot inject markup into the mail.
    return f"<pre>{html.escape(text)}</pre>"
