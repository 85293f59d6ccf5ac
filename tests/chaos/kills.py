"""The kill schedule: in turn, SIGKILL one process of the shop, leave it dead for the
fault's duration, restart it, wait until it and what depends on it answer again, then
go on to the next."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.chaos import backing
from tests.chaos.clock import Clock
from tests.chaos.report import Kill
from tests.system.launcher import LOGS, Sidecar
from tests.system.shopper import eventually

# The services whose processes are killed, those of the checkout first.
KILL_ORDER = (
    "orders",
    "payments",
    "catalog",
    "cart",
    "gateway",
    "identity",
    "notifications",
    "shipping",
)
SCHEDULES = ("all", "short")
READY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Target:
    name: str  # "orders/app", "payments/daprd", "kafka", ...
    kill: Callable[[], None]
    restart: Callable[[], None]
    wait_ready: Callable[[], None]


def targets(shop: dict[str, Sidecar], profile: str, schedule: str) -> list[Target]:
    """What a schedule kills, in turn. "all": every app, every sidecar, the broker and
    the state store, placement and scheduler. "short": the orders app, the payments
    sidecar and the broker. With two instances of each service (`shop` has "orders-2"),
    a service's app dies in its first instance and its sidecar in its second: the other
    instance of the pair carries on meanwhile."""
    if schedule == "short":
        return [
            _process(shop, "orders", "app"),
            _process(shop, _last_instance(shop, "payments"), "daprd"),
            _backing(shop, profile, backing.BROKER[profile]),
        ]
    if schedule != "all":
        raise ValueError(f"unknown kill schedule '{schedule}': choose one of {SCHEDULES}")
    services = [
        target
        for app_id in KILL_ORDER
        for target in (
            _process(shop, app_id, "app"),
            _process(shop, _last_instance(shop, app_id), "daprd"),
        )
    ]
    infra = [*backing.BROKER_AND_STORE[profile], *backing.CONTROL_PLANE]
    return services + [_backing(shop, profile, name) for name in infra]


def _last_instance(shop: dict[str, Sidecar], app_id: str) -> str:
    """The name of the app id's last instance in `shop`: "payments-2", or "payments"."""
    return max((s for s in shop.values() if s.app_id == app_id), key=lambda s: s.instance).name


def _process(shop: dict[str, Sidecar], name: str, process: str) -> Target:
    sidecar = shop[name]
    return Target(
        f"{name}/{process}",
        kill=lambda: sidecar.kill(process),
        restart=lambda: sidecar.restart(process),
        wait_ready=lambda: wait_service_ready(sidecar),
    )


def _backing(shop: dict[str, Sidecar], profile: str, service: str) -> Target:
    return Target(
        service,
        kill=lambda: backing.kill(service),
        restart=lambda: backing.restart(profile),
        # Every app needs the stores, the broker and the control plane.
        wait_ready=lambda: wait_shop_ready(shop),
    )


def service_ready(sidecar: Sidecar) -> bool:
    """daprd's /v1.0/healthz is 204 (components loaded, placement and scheduler
    connected) and the app answers its /healthz. Not the app's /readyz: that probes the
    broker by publishing, which topic scopes may refuse; the run's outcome is what
    judges the recovery."""
    try:
        sidecar_health = httpx.get(f"{sidecar.url}/v1.0/healthz", timeout=2).status_code
        app_health = httpx.get(f"{sidecar.app_url}/healthz", timeout=2).status_code
    except httpx.TransportError:
        return False
    return sidecar_health == 204 and app_health < 300


def wait_service_ready(sidecar: Sidecar, timeout: float = READY_TIMEOUT) -> None:
    def ready() -> bool:
        for name, process in sidecar.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{sidecar.name}'s {name} exited with {process.returncode}: see "
                    f"{LOGS}/{sidecar.log_prefix}-{sidecar.name}-{name}.log"
                )
        return service_ready(sidecar)

    eventually(
        ready,
        f"{sidecar.name} to be up again (daprd /v1.0/healthz 204, app /healthz): "
        f"see {LOGS}/{sidecar.log_prefix}-{sidecar.name}-daprd.log and -app.log",
        timeout,
    )


def wait_shop_ready(shop: dict[str, Sidecar], timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    for sidecar in shop.values():
        wait_service_ready(sidecar, max(1.0, deadline - time.monotonic()))


@dataclass
class Schedule:
    """Runs the kills in a thread of its own; `kills` and `error` once it is done."""

    targets: list[Target]
    clock: Clock
    downtime: float = 4.0  # how long each process stays dead: the fault's duration
    gap: float = 2.0  # quiet time between one recovery and the next kill
    warmup: float = 3.0  # before the first kill: let the first buyers get going

    def __post_init__(self) -> None:
        self.kills: list[Kill] = []
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="kills", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        time.sleep(self.warmup)
        for number, target in enumerate(self.targets, 1):
            try:
                self.kills.append(self._kill(target))
            except Exception as exc:
                self.error = f"{target.name}: {exc}"
                self.clock.say(f"kill schedule stopped at {target.name}: {exc}")
                return
            kill = self.kills[-1]
            self.clock.say(
                f"kill {number}/{len(self.targets)} {target.name}: restarted after "
                f"{kill.restarted_at - kill.killed_at:.1f}s, ready "
                f"{kill.healthy_at - kill.restarted_at:.1f}s later"
            )
            if number < len(self.targets):
                time.sleep(self.gap)

    def _kill(self, target: Target) -> Kill:
        killed_at = self.clock.now()
        target.kill()
        # The fault itself: dead this long from the SIGKILL (a backing service's kill
        # returns only once its process is gone, which may take part of that).
        time.sleep(max(0.0, self.downtime - (self.clock.now() - killed_at)))
        # When the restart began: a backing service's restart returns only once it
        # answers, an app's or a sidecar's at once; readiness is healthy_at for all.
        restarted_at = self.clock.now()
        target.restart()
        target.wait_ready()
        return Kill(
            target.name, round(killed_at, 2), round(restarted_at, 2), round(self.clock.now(), 2)
        )
