"""The shop as the benchmarks run it: every service beside its real daprd (the system
tests' launcher), plus what only the benchmarks need:

- two more gateway apps without the product cache, sharing the gateway's sidecar: one
  through the sidecars like the shop's (`uncached_gateway`: every browse request reaches
  the catalog), one that calls catalog straight, bypassing both sidecars
  (`direct_gateway`, bench/direct_gateway.py);
- three event subscribers (bench/subscriber.py), each beside its own daprd.

The shop's own gateway keeps its cache as shipped (evicted by catalog.product-changed,
which its sidecar delivers to it alone). Tracing is sampled at 0 (a production sampler
keeps a small share; its cost is the tracing backend's, not the sidecars') and every
gateway's rate limit is lifted.
"""

import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from tests.system.launcher import ROOT, SERVICES, Sidecar, free_port, start_together

SUBSCRIBERS = ("bench-sub-1", "bench-sub-2", "bench-sub-3")
BENCH_DIR = ROOT / ".data" / "bench"

GATEWAY_ENV = {"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000"}
UNCACHED_ENV = {**GATEWAY_ENV, "PRODUCT_CACHE_TTL_SECONDS": "0"}
UNTRACED_ENV = {"OTEL_TRACES_SAMPLER": "always_off"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Process:
    """A process of the shop, for its memory and CPU."""

    name: str  # "orders", "orders-sidecar", ...
    pid: int

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else 0.0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


@dataclass
class BenchShop:
    profile: str
    sidecars: dict[str, Sidecar] = field(default_factory=dict)
    # App processes only, sharing the gateway's daprd.
    uncached_gateway: Sidecar | None = None
    direct_gateway: Sidecar | None = None
    # Topics of this run only: a broker keeps earlier runs' messages, and a new consumer
    # group starting from the oldest would be handed them.
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))

    @property
    def one_topic(self) -> str:
        return f"bench.one.{self.run_id}"

    @property
    def fanout_topic(self) -> str:
        return f"bench.fanout.{self.run_id}"

    def start(self) -> None:
        config = write_untraced_config()
        events = write_event_resources(self.profile)
        # One pair of tokens for the whole shop, as under `make run`: the direct gateway
        # must present the catalog's app token.
        api_token, app_token = secrets.token_hex(16), secrets.token_hex(16)

        def make() -> dict[str, Sidecar]:
            return {
                app_id: Sidecar(
                    app_id,
                    self.profile,
                    config=config,
                    resources=("components/common", events) if app_id in SUBSCRIBERS else (),
                    log_prefix="bench",
                    api_token=api_token,
                    app_token=app_token,
                )
                for app_id in (*SERVICES, *SUBSCRIBERS)
            }

        self.sidecars = start_together(make, self._start_all)
        try:
            catalog = self.sidecars["catalog"]
            self.uncached_gateway = self._start_gateway_app(
                "bench-uncached", "gateway.main:create_app", UNCACHED_ENV
            )
            self.direct_gateway = self._start_gateway_app(
                "bench-direct",
                "bench.direct_gateway:create_app",
                {**UNCACHED_ENV, "DIRECT_UPSTREAMS": f'{{"catalog": "{catalog.app_url}"}}'},
            )
        except BaseException:
            self.stop()
            raise

    def _start_all(self, sidecars: dict[str, Sidecar]) -> None:
        for app_id in SERVICES:
            env = {**UNTRACED_ENV, **(GATEWAY_ENV if app_id == "gateway" else {})}
            sidecars[app_id].start(env)
        for index, app_id in enumerate(SUBSCRIBERS):
            topics = self.fanout_topic + (f",{self.one_topic}" if index == 0 else "")
            sidecars[app_id].start(
                {"SUBSCRIBE_TOPICS": topics}, factory="bench.subscriber:create_app"
            )
        for sidecar in sidecars.values():
            sidecar.wait_ready(timeout=120)

    def _start_gateway_app(self, name: str, factory: str, env: dict[str, str]) -> Sidecar:
        """A second gateway app on the gateway's sidecar (which delivers events to the
        shop's gateway only: these have no cache to evict)."""
        gateway = self.sidecars["gateway"]
        app = Sidecar(
            "gateway",
            self.profile,
            http_port=gateway.http_port,
            grpc_port=gateway.grpc_port,
            app_port=free_port(),
            api_token=gateway.api_token,
            app_token=gateway.app_token,
            log_prefix=name,
        )
        app.start_app_only({**UNTRACED_ENV, **env}, factory)
        wait_for(f"{app.app_url}/readyz", f"the {name} gateway")
        return app

    def processes(self) -> list[Process]:
        found = []
        for app_id in SERVICES:
            sidecar = self.sidecars[app_id]
            found.append(Process(app_id, sidecar.processes["app"].pid))
            found.append(Process(f"{app_id}-sidecar", sidecar.processes["daprd"].pid))
        # Apps: their CPU is the gateway's in the `sidecars` and `direct` rows.
        if self.uncached_gateway is not None:
            found.append(Process("gateway-uncached", self.uncached_gateway.processes["app"].pid))
        if self.direct_gateway is not None:
            found.append(Process("gateway-direct", self.direct_gateway.processes["app"].pid))
        return found

    def stop(self) -> None:
        extra = filter(None, [self.uncached_gateway, self.direct_gateway])
        for sidecar in [*self.sidecars.values(), *extra]:
            sidecar.stop()


def write_untraced_config() -> str:
    """dapr-config.yaml with tracing sampled at 0, for the benchmark's sidecars."""
    config = yaml.safe_load((ROOT / "dapr-config.yaml").read_text())
    config["spec"]["tracing"]["samplingRate"] = "0"
    path = BENCH_DIR / "dapr-config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return str(path.relative_to(ROOT))


def write_event_resources(profile: str) -> str:
    """The profile's pub/sub component, open to the benchmark's subscribers too."""
    component = yaml.safe_load((ROOT / "components" / profile / "pubsub.yaml").read_text())
    component["scopes"] = list(SUBSCRIBERS)
    folder = BENCH_DIR / f"components-{profile}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pubsub.yaml").write_text(yaml.safe_dump(component))
    return str(folder.relative_to(ROOT))


def answers(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} was not ready at {url} within {timeout:.0f}s: see .data/logs/"
            )
        time.sleep(0.25)
