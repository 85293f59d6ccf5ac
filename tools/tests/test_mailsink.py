"""The mail sink as a real process: a message sent with smtplib lands as an .eml file."""

import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connect(port: int) -> smtplib.SMTP:
    """An SMTP session, once the sink accepts connections (it needs a moment to start)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            return smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, mail_dir = free_port(), tmp_path / "mail"
    command = [sys.executable, str(ROOT / "tools" / "mailsink.py")]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--dir", str(mail_dir)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield port, mail_dir
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=DEADLINE_SECONDS)
    assert process.returncode == 0, stderr
    assert "stopped" in stderr


def wait_for_eml(directory: Path) -> list[Path]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (found := sorted(directory.glob("*.eml"))):
        assert time.monotonic() < deadline, f"no .eml in {directory} after {DEADLINE_SECONDS}s"
        time.sleep(0.05)
    return found


def test_message_is_written_as_eml(sink: tuple[int, Path]) -> None:
    port, mail_dir = sink
    message = EmailMessage()
    message["From"] = "shop@localhost"
    message["To"] = "ada@example.com"
    message["Subject"] = "Your receipt for order o-1"
    message.set_content("Mug: 2 x 12.50 EUR = 25.00 EUR\nTotal: 25.00 EUR\n")

    with connect(port) as smtp:
        smtp.send_message(message)

    [eml] = wait_for_eml(mail_dir)
    received = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert received["From"] == "shop@localhost"
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == "Your receipt for order o-1"
    # Kept as it crossed the wire: RFC 5322 lines end in CRLF.
    body = "Mug: 2 x 12.50 EUR = 25.00 EUR\r\nTotal: 25.00 EUR\r\n"
    assert received.get_content() == body
    assert not list(mail_dir.glob(".*.tmp"))


def test_names_sort_in_arrival_order(sink: tuple[int, Path]) -> None:
    port, mail_dir = sink
    with connect(port) as smtp:
        for n in range(3):
            smtp.sendmail("shop@localhost", ["ada@example.com"], f"Subject: {n}\r\n\r\nbody\r\n")

    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(found := wait_for_eml(mail_dir)) < 3:
        assert time.monotonic() < deadline, f"only {len(found)} of 3 messages arrived"
        time.sleep(0.05)
    subjects = [BytesParser().parsebytes(p.read_bytes())["Subject"] for p in found]
    assert subjects == ["0", "1", "2"]
