"""Starts a service and its real daprd side by side, as `dapr run` would, on free ports."""

import os
import random
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import httpx

from tools.run_file import fixed_ports

ROOT = Path(__file__).resolve().parents[2]
DAPRD = ROOT / ".runtime" / ".dapr" / "bin" / "daprd"
LOGS = ROOT / ".data" / "logs"
# Every service of the shop (dapr.yaml has the same apps).
SERVICES = (
    "gateway",
    "catalog",
    "identity",
    "cart",
    "orders",
    "payments",
    "notifications",
    "shipping",
)
# A carrier that picks up and delivers within seconds, so that a test sees a paid order
# shipped and delivered (services/shipping; the defaults are 8 and 15 s); slow enough
# that a page or a poll still sees `paid` first.
QUICK_CARRIER = {"SHIPPING_DISPATCH_DELAY_SECONDS": "3", "SHIPPING_DELIVERY_DELAY_SECONDS": "2"}
# The services written in Go: a binary each, built by `make shipping` (tools/shipping.sh).
# The others are Python, `<app id>.main:create_app` under uvicorn.
GO_BINARIES = {"shipping": ROOT / ".runtime" / "bin" / "shipping"}
PORTS = fixed_ports((ROOT / "tools" / "ports.env").read_text())
PROFILES = ("redis", "kafka-postgres")
TRUST_ANCHORS = ROOT / ".data" / "sentry" / "ca.crt"


def mtls_env() -> dict[str, str]:
    """What daprd needs to get its identity from the local sentry (tools/infra.sh)."""
    if not TRUST_ANCHORS.exists():
        raise RuntimeError(f"{TRUST_ANCHORS} is missing: sentry is not up; `make infra-up`")
    return {
        "DAPR_TRUST_ANCHORS": TRUST_ANCHORS.read_text(),
        # sentry, placement and scheduler run in the standalone namespace and domain.
        "DAPR_CONTROLPLANE_NAMESPACE": "default",
        "DAPR_CONTROLPLANE_TRUST_DOMAIN": "public",
    }


# What the components read by envRef (components/README.md); tools/lib.sh sets the same.
COMPONENT_ENV = {
    "SHOP_REDIS_HOST": f"127.0.0.1:{PORTS['REDIS_PORT']}",
    "SHOP_KAFKA_BROKERS": f"127.0.0.1:{PORTS['KAFKA_PORT']}",
    "SHOP_SMTP_HOST": "127.0.0.1",
    "SHOP_SMTP_PORT": str(PORTS["SMTP_PORT"]),
}
# Where the apps send their spans (the sidecars' address is in dapr-config.yaml).
ZIPKIN_URL = f"http://127.0.0.1:{PORTS['ZIPKIN_PORT']}"


# Chosen below the kernel's ephemeral range (32768-60999 by default): a port the kernel
# hands out (bind to 0) is also what it gives the next outgoing connection, and with a
# pool of connections from every app to its sidecar one often took a port between its
# choice and the sidecar's bind. Above every fixed port of the shop (tools/ports.env).
_PORTS_FOR_PROCESSES = (20_000, 32_000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port free now and not handed out before by this process."""
    low, high = _PORTS_FOR_PROCESSES
    for _ in range(1000):
        port = random.randint(low, high)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {low}-{high}: what holds them all?")


@dataclass
class Sidecar:
    app_id: str
    profile: str
    # Which instance of the app id this is: a second one runs beside the first under the
    # same app id, each with its own daprd (docs/scaling.md).
    instance: int = 1
    app_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    internal_grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    # Each app and its sidecar share a pair of tokens: DAPR_API_TOKEN guards the sidecar's
    # API, APP_API_TOKEN the app's routes (libs/shop_dapr/apptoken.py).
    api_token: str = field(default_factory=lambda: secrets.token_hex(16))
    app_token: str = field(default_factory=lambda: secrets.token_hex(16))
    # The Configuration and resource folders daprd loads (relative to the repository
    # root); the default resources are components/common and the profile's.
    config: str = "dapr-config.yaml"
    resources: tuple[str, ...] = ()
    # Logs go to .data/logs/<prefix>-<app id>[-<instance>]-{app,daprd}.log.
    log_prefix: str = "test"
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Where each process's output starts in its (appended) log.
    log_starts: dict[str, tuple[Path, int]] = field(default_factory=dict)
    # The command line of each process, so that restart() can repeat it exactly.
    commands: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The app id, and the instance when it is not the first: `catalog-2`."""
        return self.app_id if self.instance == 1 else f"{self.app_id}-{self.instance}"

    @property
    def url(self) -> str:
        """The sidecar's HTTP API."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def environment(self) -> dict[str, str]:
        """The app's environment as last started (restart_app adds to it)."""
        return dict(self._env)

    @cached_property
    def api(self) -> httpx.Client:
        """A client of the sidecar's HTTP API, carrying its API token."""
        return httpx.Client(
            base_url=self.url, headers={"dapr-api-token": self.api_token}, timeout=30
        )

    @property
    def resource_paths(self) -> tuple[str, ...]:
        return self.resources or ("components/common", f"components/{self.profile}")

    def daprd_args(self) -> list[str]:
        return [
            str(DAPRD),
            "--app-id", self.app_id,
            "--app-port", str(self.app_port),
            "--app-protocol", "http",
            "--dapr-http-port", str(self.http_port),
            "--dapr-grpc-port", str(self.grpc_port),
            "--dapr-internal-grpc-port", str(self.internal_grpc_port),
            "--dapr-listen-addresses", "127.0.0.1",
            "--metrics-port", str(self.metrics_port),
            "--metrics-listen-address", "127.0.0.1",
            *(arg for path in self.resource_paths for arg in ("--resources-path", path)),
            "--config", self.config,
            "--placement-host-address", f"127.0.0.1:{PORTS['PLACEMENT_PORT']}",
            "--scheduler-host-address", f"127.0.0.1:{PORTS['SCHEDULER_PORT']}",
            "--enable-mtls", "--sentry-address", f"127.0.0.1:{PORTS['SENTRY_PORT']}",
            "--log-level", "info",
        ]  # fmt: skip

    def app_args(self, factory: str | None) -> list[str]:
        """The command of the app: `factory` (module:function) under uvicorn, or, when
        None, the service's own (as in dapr.yaml)."""
        if factory is None and self.app_id in GO_BINARIES:
            binary = GO_BINARIES[self.app_id]
            if not binary.exists():
                raise RuntimeError(f"{binary} is missing: run `make shipping` first")
            return [str(binary)]  # its port comes from APP_PORT
        return [
            str(ROOT / ".venv" / "bin" / "python"), "-m", "uvicorn",
            "--factory", factory or f"{self.app_id}.main:create_app",
            "--host", "127.0.0.1", "--port", str(self.app_port), "--log-level", "warning",
        ]  # fmt: skip

    def start(self, env: dict[str, str] | None = None, factory: str | None = None) -> None:
        if not DAPRD.exists():
            raise RuntimeError(f"{DAPRD} is missing: run `make runtime` first")
        self.start_app_only(env, factory)
        self._spawn("daprd", self.daprd_args())

    def start_app_only(self, env: dict[str, str] | None = None, factory: str | None = None) -> None:
        """The app without a daprd of its own: it talks to the sidecar at this object's
        ports, which another Sidecar started. `factory` as in app_args()."""
        LOGS.mkdir(parents=True, exist_ok=True)
        self._env = {
            **os.environ,
            # daprd cannot find a host address on a loopback-only machine without this.
            "DAPR_HOST_IP": "127.0.0.1",
            **COMPONENT_ENV,
            **mtls_env(),
            "APP_ID": self.app_id,
            "APP_PORT": str(self.app_port),
            "DAPR_HTTP_PORT": str(self.http_port),
            "DAPR_GRPC_PORT": str(self.grpc_port),
            "DAPR_API_TOKEN": self.api_token,
            "APP_API_TOKEN": self.app_token,
            "PYTHONPATH": f"{ROOT / 'libs'}:{ROOT / 'services'}",
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT": f"{ZIPKIN_URL}/api/v2/spans",
            **(env or {}),
        }
        self._spawn("app", self.app_args(factory))

    def _spawn(self, name: str, args: list[str]) -> None:
        path = LOGS / f"{self.log_prefix}-{self.name}-{name}.log"
        log = path.open("ab")
        self.log_starts[name] = (path, log.tell())
        self.commands[name] = args
        # Every sidecar runs from the repository root: component paths are relative to it.
        self.processes[name] = subprocess.Popen(
            args, cwd=ROOT, env=self._env, stdout=log, stderr=log
        )

    def stop_sidecar(self) -> None:
        """Stop daprd and leave the app running, as when a sidecar crashes."""
        daprd = self.processes.pop("daprd")
        daprd.terminate()
        daprd.wait(timeout=15)

    def start_sidecar(self) -> None:
        self._spawn("daprd", self.daprd_args())

    def kill(self, name: str) -> None:
        """SIGKILL the "app" or the "daprd" process, as a crash would, and reap it. It
        stays in `processes` (exited) until restart()."""
        process = self.processes[name]
        process.kill()
        process.wait(timeout=15)

    def restart(self, name: str) -> None:
        """Start the "app" or the "daprd" process again with the very command, environment
        and ports it had, its output appended to the same log."""
        if self.processes[name].poll() is None:
            raise RuntimeError(f"{self.name}'s {name} is still running: kill() it first")
        self._spawn(name, self.commands[name])

    def restart_app(self, env: dict[str, str], timeout: float = 90.0) -> None:
        """Stop the app and start it again with `env` added to its environment (its
        sidecar keeps running); return once it serves."""
        app = self.processes["app"]
        app.terminate()
        app.wait(timeout=15)
        self._env = {**self._env, **env}
        self._spawn("app", self.commands["app"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes["app"].poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited at restart; see "
                    f"{LOGS}/{self.log_prefix}-{self.name}-app.log"
                )
            try:
                if httpx.get(f"{self.app_url}/healthz", timeout=2).status_code == 204:
                    self.wait_ready(timeout=max(deadline - time.monotonic(), 1))
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not serve within {timeout:.0f}s of its restart")

    def pause_app(self) -> None:
        """Freeze the app (SIGSTOP): it accepts connections but never answers."""
        self.processes["app"].send_signal(signal.SIGSTOP)

    def resume_app(self) -> None:
        self.processes["app"].send_signal(signal.SIGCONT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until daprd's /v1.0/healthz is 204: components loaded, app reachable,
        placement and scheduler connected."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name}: its {name} exited with {process.returncode}; "
                        f"see {LOGS}/{self.log_prefix}-{self.name}-{name}.log"
                    )
            try:
                answer = httpx.get(f"{self.url}/v1.0/healthz", timeout=2)
                if answer.status_code == 204:
                    return
                last = f"HTTP {answer.status_code}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise RuntimeError(
            f"{self.name}'s sidecar was not healthy within {timeout:.0f}s ({last}); "
            f"see {LOGS}/{self.log_prefix}-{self.name}-daprd.log. Are the backing services up? "
            f"`make infra-up PROFILE={self.profile}`"
        )

    def lost_a_port(self) -> bool:
        """Whether a process of this start could not bind its port: free_port() only
        finds a port free a moment before the process binds it, and another process may
        take it in between."""
        for path, start in self.log_starts.values():
            with path.open("rb") as log:
                log.seek(start)
                output = log.read()
            if b"could not listen" in output or b"address already in use" in output:
                return True
        return False

    def stop(self) -> None:
        self.api.close()
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()


def start_together(
    make: Callable[[], dict[str, Sidecar]], start: Callable[[dict[str, Sidecar]], None]
) -> dict[str, Sidecar]:
    """`make` the sidecars and `start` them, stopping them all if that fails; once more,
    on fresh ports, when one of them lost its port to another process on the way (see
    Sidecar.lost_a_port)."""
    for attempt in (1, 2):
        sidecars = make()
        try:
            start(sidecars)
        except BaseException:
            lost = [s.app_id for s in sidecars.values() if s.lost_a_port()]
            for sidecar in sidecars.values():
                sidecar.stop()
            if attempt == 2 or not lost:
                raise
            print(f"{lost} lost a port to another process: starting again on fresh ports")
            continue
        return sidecars
    raise AssertionError("unreachable: the second attempt returns or raises")


def start_services(
    profile: str,
    env: Callable[[str, dict[str, Sidecar]], dict[str, str] | None],
    instance: int = 1,
    log_prefix: str = "test",
) -> dict[str, Sidecar]:
    """Every service of the shop beside its own daprd, as `instance` of its app id, by
    app id; each app gets `env(app_id, these sidecars)` added to its environment. Returns
    once every sidecar is healthy."""

    def start(sidecars: dict[str, Sidecar]) -> None:
        for app_id, sidecar in sidecars.items():
            sidecar.start(env(app_id, sidecars))
        for sidecar in sidecars.values():
            sidecar.wait_ready(timeout=90)

    return start_together(
        lambda: {
            app_id: Sidecar(app_id, profile, instance=instance, log_prefix=log_prefix)
            for app_id in SERVICES
        },
        start,
    )
