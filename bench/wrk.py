"""wrk, the compiled load generator, driven from Python: one run at a fixed concurrency,
with its own CPU time reported next to the shop's so that a saturated generator shows."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("report.lua")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    wrk_cpu_seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk_binary() -> str:
    """wrk's path, installed from apt first when missing (as root)."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0:
        print("installing wrk (apt)", flush=True)
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
            subprocess.run(install, capture_output=True, check=False)
        found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is missing and could not be installed: `sudo apt-get install wrk`")
    return found


def run_wrk(
    url: str, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> WrkResult:
    """`connections` concurrent keep-alive connections for `seconds`, one wrk thread
    (the machine has two cores; the shop needs the rest)."""
    env = {**os.environ, "WRK_HEADERS": "\n".join(f"{k}: {v}" for k, v in (headers or {}).items())}
    command = [
        wrk_binary(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "10s", "-s", str(LUA), url,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # wait4 gives the child's own CPU time, which Popen.wait would not.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    report = next((line for line in stdout.splitlines() if line.startswith("{")), None)
    if process.returncode != 0 or report is None:
        raise RuntimeError(f"wrk failed ({process.returncode}) on {url}: {stderr or stdout}")
    raw = json.loads(report)
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=raw["errors"] + raw["non_2xx"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        wrk_cpu_seconds=usage.ru_utime + usage.ru_stime,
    )
