"""CPU seconds of every process a checkout runs through: the shop's apps and sidecars
(BenchShop.processes()) and the backing services of the profile, grouped as the tables
show them. On redis one redis-server is both the broker and the store: it is one group,
`broker + store`, never counted twice.

Backing services are found as tools/infra.sh tracks them (its pid file under
.data/pids/), or, when another checkout of the project started them (the pid file is
then elsewhere), by their command line on the project's ports.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.shop import CLOCK_TICKS, BenchShop
from tests.system.launcher import PORTS, ROOT, SERVICES

PIDS = ROOT / ".data" / "pids"

# infra.sh's service name -> what its command line holds, port included where the
# command line shows one (postgres: only the postmaster's does, its children are titled
# "postgres: walwriter" and so on).
MARKERS = {
    "redis": ("redis-server", f":{PORTS['REDIS_PORT']}"),
    "kafka": ("kafka.Kafka",),
    "postgres": ("postgres", f"-p\0{PORTS['POSTGRES_PORT']}"),
}
# Profile -> (group, infra.sh service) of its backing services.
BACKING = {
    "redis": [("broker + store", "redis")],
    "kafka-postgres": [("broker", "kafka"), ("store", "postgres")],
}
GROUPS = ("apps", "sidecars", "broker", "store", "broker + store")


@dataclass(frozen=True)
class Meter:
    name: str
    group: str
    seconds: Callable[[], float]


def _stat(pid: int) -> list[str]:
    # The command name in field 2 may hold spaces and parentheses: split after the last ")".
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_seconds(root: int) -> float:
    """CPU of `root` and all its descendants, including children that already exited
    (cutime, cstime): PostgreSQL forks a backend per connection and they come and go."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue  # exited while we looked
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            fields = _stat(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime
        todo += children.get(pid, [])
    return total


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def backing_pid(service: str, profile: str) -> int:
    markers = MARKERS[service]
    pid_file = PIDS / f"{service}.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split()[0])
        if all(m in _cmdline(pid) for m in markers):
            return pid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and all(m in _cmdline(int(entry.name)) for m in markers):
            return int(entry.name)
    raise RuntimeError(
        f"no running {service} found (neither {pid_file} nor a process on its port): "
        f"start it with `tools/infra.sh up {profile}`"
    )


def meters(shop: BenchShop) -> list[Meter]:
    """Every process of a checkout, each with its group."""
    found = [
        Meter(p.name, "sidecars" if p.name.endswith("-sidecar") else "apps", p.cpu_seconds)
        for p in shop.processes()
        # The shop's own: the benchmark's extra gateway apps serve browse comparisons only.
        if p.name.removesuffix("-sidecar") in SERVICES
    ]
    for group, service in BACKING[shop.profile]:
        pid = backing_pid(service, shop.profile)
        found.append(Meter(service, group, partial(tree_seconds, pid)))
    return found


class CpuWindow:
    """CPU seconds of each meter between start() and stop()."""

    def __init__(self, found: list[Meter]) -> None:
        self.meters = found
        self._before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> None:
        self._before = {m.name: m.seconds() for m in self.meters}

    def stop(self) -> None:
        self.used = {m.name: m.seconds() - self._before[m.name] for m in self.meters}

    def ms_per(self, count: int) -> dict[str, dict[str, float]]:
        """CPU milliseconds per unit of work, by process and by group."""
        count = max(count, 1)
        by_process = {name: 1000 * s / count for name, s in self.used.items()}
        groups = {m.name: m.group for m in self.meters}
        by_group = {
            g: sum(ms for name, ms in by_process.items() if groups[name] == g)
            for g in GROUPS
            if g in groups.values()
        }
        return {"by_process": by_process, "by_group": by_group}
