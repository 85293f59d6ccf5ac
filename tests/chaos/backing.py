"""Killing and restarting the backing services tools/infra.sh started (brokers, stores,
placement, scheduler): SIGKILL by the pid in .data/pids, and `tools/infra.sh up`, which
starts again only what is dead and waits until it answers."""

import os
import signal
import subprocess

from tests.system.launcher import LOGS, ROOT
from tests.system.shopper import eventually

PIDS = ROOT / ".data" / "pids"
INFRA = ROOT / "tools" / "infra.sh"
INFRA_LOG = LOGS / "chaos-infra.log"
# What holds each profile's broker and state: one redis-server holds both.
BROKER_AND_STORE = {"redis": ("redis",), "kafka-postgres": ("kafka", "postgres")}
CONTROL_PLANE = ("placement", "scheduler")
# The broker alone (the short schedule kills it).
BROKER = {"redis": "redis", "kafka-postgres": "kafka"}


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill(service: str) -> None:
    """SIGKILL the service (for PostgreSQL the postmaster) and wait until it and its
    children are gone. They are not our children: the container's init reaps them, and
    until it does, tools/infra.sh (kill -0) and PostgreSQL (its lock file, its shared
    memory) would take them for alive."""
    pid = int((PIDS / f"{service}.pid").read_text())
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    os.kill(pid, signal.SIGKILL)
    for process in (pid, *map(int, children)):
        _wait_gone(service, process)


def _wait_gone(service: str, pid: int) -> None:
    eventually(
        lambda: not _exists(pid),
        f"{service}'s process {pid} to be gone after SIGKILL (a zombie that init has "
        f"not reaped yet? see `ps -o pid,stat,comm -p {pid}`)",
        30,
    )


def restart(profile: str) -> None:
    """Start whatever of the profile's backing services is dead, and wait until each
    answers (tools/infra.sh has the deadlines)."""
    with INFRA_LOG.open("ab") as log:
        done = subprocess.run(
            [str(INFRA), "up", profile], stdout=log, stderr=log, timeout=300, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"`tools/infra.sh up {profile}` failed ({done.returncode}): see {INFRA_LOG} "
            f"and the service's own log in {LOGS}/"
        )
