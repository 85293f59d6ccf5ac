"""Freezing the real backing services (SIGSTOP): connections hang, as with a store or a
broker that stopped answering; thawing lets them go on where they stopped."""

import os
import signal
import subprocess

from tests.system.launcher import ROOT

PIDS = ROOT / ".data" / "pids"
BROKER = {"redis": "redis", "kafka-postgres": "kafka"}


def freeze(service: str) -> list[int]:
    """SIGSTOP a service tools/infra.sh started, and its children (PostgreSQL serves each
    connection from a child of the postmaster). Returns the frozen pids."""
    main = int((PIDS / f"{service}.pid").read_text())
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(main)], capture_output=True, text=True, check=False
    ).stdout.split()
    frozen = [main, *map(int, children)]
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    return frozen


def thaw(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGCONT)
