"""Sending e-mail through the sidecar's SMTP output binding, and a fake for unit tests."""

import html
import json
from typing import Protocol
from urllib.parse import quote

from shop_dapr.sidecar import BuildingBlockError, SidecarApi


class MailNotSent(RuntimeError):
    """The binding refused the mail or did not answer in time; sending again may work."""


class MailSender(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Send a plain-text mail to one address; raises MailNotSent on failure."""


class DaprMailSender:
    def __init__(self, sidecar: SidecarApi, binding_name: str, sender: str) -> None:
        self._sidecar = sidecar
        self._binding = binding_name
        self._sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        request = {
            "operation": "create",
            "data": _as_html(body),
            "metadata": {"emailTo": to, "subject": subject, "emailFrom": self._sender},
        }
        try:
            answer = await self._sidecar.call(
                "POST",
                f"/v1.0/bindings/{quote(self._binding, safe='')}",
                body=json.dumps(request).encode(),
            )
        except (BuildingBlockError, TimeoutError) as exc:
            raise MailNotSent(f"binding '{self._binding}' did not send the mail: {exc}") from exc
        if answer.status not in (200, 204):
            reason = answer.reason()
            raise MailNotSent(f"binding '{self._binding}' did not send the mail: {reason}")


def _as_html(text: str) -> str:
    # Dapr's SMTP binding always labels the body text/html. Escaped and preformatted, a
    # plain-text body keeps its line breaks, and text from the data (a product name, say)
    # cannot inject markup into the mail.
    return f"<pre>{html.escape(text)}</pre>"
