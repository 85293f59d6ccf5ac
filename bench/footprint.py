"""Footprint: the resident memory of every app and sidecar, idle and at its peak under
load, and the time `make run` takes (everything built, backing services up) until every
service answers ready."""

import contextlib
import os
import signal
import subprocess
import threading
import time
from typing import Any

import yaml

from bench.shop import Process, answers
from tests.system.launcher import LOGS, ROOT


def resident_mb(processes: list[Process]) -> dict[str, float]:
    return {p.name: round(p.rss_mb(), 1) for p in processes}


class PeakMemory:
    """Samples every process's resident memory twice a second while in the block, and
    keeps each one's peak."""

    def __init__(self, processes: list[Process]) -> None:
        self.processes = processes
        self.peak: dict[str, float] = resident_mb(processes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for name, mb in resident_mb(self.processes).items():
                self.peak[name] = max(self.peak[name], mb)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def time_make_run(profile: str, timeout: float = 120) -> dict[str, Any]:
    """Seconds from starting `tools/run.sh` (what `make run` runs once everything is
    built) until every app of dapr.yaml answers /readyz with 200; then stops it."""
    apps = yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    ready_at: dict[str, float] = {}
    log = (LOGS / "bench-make-run.log").open("ab")
    started = time.monotonic()
    run = subprocess.Popen(
        ["tools/run.sh"], cwd=ROOT, env={**os.environ, "PROFILE": profile},
        stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    try:
        while len(ready_at) < len(apps):
            if run.poll() is not None:
                raise RuntimeError(f"`make run` exited with {run.returncode}: see {log.name}")
            if time.monotonic() - started > timeout:
                missing = sorted({a["appID"] for a in apps} - set(ready_at))
                raise RuntimeError(f"{missing} not ready {timeout:.0f}s after `make run`")
            for app in apps:
                url = f"http://127.0.0.1:{app['appPort']}/readyz"
                if app["appID"] not in ready_at and answers(url):
                    ready_at[app["appID"]] = time.monotonic() - started
            time.sleep(0.1)
    finally:
        _stop_group(run)
    return {
        "profile": profile,
        "all_ready_seconds": round(max(ready_at.values()), 2),
        "ready_seconds": {name: round(s, 2) for name, s in sorted(ready_at.items())},
    }


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user would; then whatever the CLI left of its apps and sidecars."""
    os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    time.sleep(1)  # children may outlive the CLI by a moment
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
