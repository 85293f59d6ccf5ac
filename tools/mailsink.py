"""A local SMTP sink: accepts every message and keeps it as an .eml file.

    python tools/mailsink.py --port 11025 --dir .data/mail

It stands in for a mail server in the local run and the tests, so it listens on loopback
only and offers neither AUTH nor STARTTLS (Dapr's SMTP binding then sends in plain text).
"""

import argparse
import asyncio
import itertools
import logging
import os
import signal
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("mailsink")


class EmlWriter:
    """The aiosmtpd handler: one .eml file a message."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # UTC timestamp then a per-process counter: names sort in arrival order and two
        # messages in the same microsecond still get distinct names.
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{next(self._counter):06d}.eml"
        await asyncio.to_thread(self._write, name, content)
        subject = BytesHeaderParser(policy=default).parsebytes(content).get("Subject", "")
        log.info(
            "%s from=%s to=%s subject=%r", name, envelope.mail_from, envelope.rcpt_tos, subject
        )
        return "250 Message accepted for delivery"

    def _write(self, name: str, content: bytes) -> None:
        # Written under a hidden name, then renamed: a reader never sees half a message.
        temp = self._dir / f".{name}.tmp"
        temp.write_bytes(content)
        os.replace(temp, self._dir / name)


async def serve(port: int, directory: Path) -> None:
    handler = EmlWriter(directory)
    loop = asyncio.get_running_loop()
    # A fixed hostname: aiosmtpd would otherwise ask DNS for this host's name.
    try:
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="localhost"), host="127.0.0.1", port=port
        )
    except OSError as exc:
        raise SystemExit(
            f"mailsink: cannot listen on 127.0.0.1:{port} ({exc.strerror}): "
            "stop whatever holds the port, or pass another --port"
        ) from exc
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("listening on 127.0.0.1:%d, writing to %s", port, directory)
    await stop.wait()
    server.close()
    await server.wait_closed()
    log.info("stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description="A local SMTP sink writing .eml files.")
    parser.add_argument("--port", type=int, default=11025)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s mailsink %(message)s")
    # aiosmtpd logs every SMTP command at INFO; one line a message is enough here.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    args.dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.port, args.dir))


if __name__ == "__main__":
    main()
