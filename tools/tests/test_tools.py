"""The shell tools fail fast, with a message that names the problem and its fix.

Each case points the tools at empty folders (SHOP_DATA_DIR, SHOP_RUNTIME_DIR) and free
ports, so it never touches the services a developer has running."""

import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "tools" / "infra.sh"
OWN_PORTS = [
    "REDIS_PORT",
    "KAFKA_PORT",
    "KAFKA_CONTROLLER_PORT",
    "PLACEMENT_PORT",
    "PLACEMENT_HEALTHZ_PORT",
    "PLACEMENT_METRICS_PORT",
    "PLACEMENT_RAFT_PORT",
    "SENTRY_PORT",
    "SENTRY_HEALTHZ_PORT",
    "SENTRY_METRICS_PORT",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def isolated(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment whose data, runtime and ports belong to this test alone; whatever
    it started is stopped afterwards."""
    env = {**os.environ, "SHOP_DATA_DIR": str(tmp_path / "data")}
    env["SHOP_RUNTIME_DIR"] = str(tmp_path / "runtime")
    for name in OWN_PORTS:
        env[name] = str(free_port())
    yield env
    run([str(INFRA), "down"], env)


def run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def fake_sentry(env: dict[str, str], script: str) -> None:
    """A stand-in sentry binary (the first Dapr service infra.sh starts), to drive its
    start-up checks."""
    path = Path(env["SHOP_RUNTIME_DIR"]) / ".dapr" / "bin" / "sentry"
    path.parent.mkdir(parents=True)
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_unknown_profile_names_the_known_ones(isolated: dict[str, str]) -> None:
    result = run([str(INFRA), "up", "mongo"], isolated)
    assert result.returncode != 0
    assert "unknown profile 'mongo'" in result.stderr
    assert "redis kafka-postgres" in result.stderr


def test_port_already_taken_is_named(isolated: dict[str, str], listening: int) -> None:
    isolated["REDIS_PORT"] = str(listening)
    result = run([str(INFRA), "up", "redis"], isolated)
    assert result.returncode != 0
    assert f"port {listening}, needed by redis, is already taken" in result.stderr
    assert "tools/ports.env" in result.stderr


def test_missing_runtime_names_the_build_command(isolated: dict[str, str]) -> None:
    result = run([str(INFRA), "up", "redis"], isolated)
    assert result.returncode != 0
    assert "make runtime" in result.stderr


def test_service_that_never_gets_healthy_hits_the_deadline(isolated: dict[str, str]) -> None:
    fake_sentry(isolated, "exec sleep 60")
    result = run([str(INFRA), "up", "redis"], {**isolated, "SHOP_START_TIMEOUT": "2"})
    assert result.returncode != 0
    assert "sentry did not become healthy within 2s" in result.stderr


def test_service_that_exits_at_start_is_reported(isolated: dict[str, str]) -> None:
    fake_sentry(isolated, "echo 'bad flag' >&2; exit 3")
    result = run([str(INFRA), "up", "redis"], isolated)
    assert result.returncode != 0
    assert "sentry exited during start-up" in result.stderr
    assert "bad flag" in result.stderr


def test_missing_go_toolchain_is_named(isolated: dict[str, str]) -> None:
    without_go = [d for d in os.environ["PATH"].split(":") if not (Path(d) / "go").exists()]
    result = run(
        ["/bin/bash", str(ROOT / "tools" / "build-dapr.sh")],
        {**isolated, "PATH": ":".join(without_go)},
    )
    assert result.returncode != 0
    assert "'go' not found: install Go" in result.stderr


def test_missing_java_is_named_before_fetching_kafka(isolated: dict[str, str]) -> None:
    result = run([str(INFRA), "up", "kafka-postgres"], {**isolated, "JAVA_HOME": "/nowhere"})
    assert result.returncode != 0
    assert "/nowhere/bin/java not found" in result.stderr
    assert "install Java 17" in result.stderr


def test_up_twice_is_harmless_and_down_leaves_nothing_running(isolated: dict[str, str]) -> None:
    # With no runtime built, `up redis` starts Redis, then stops at sentry.
    run([str(INFRA), "up", "redis"], isolated)
    again = run([str(INFRA), "up", "redis"], isolated)
    assert "redis is already running" in again.stderr
    pid = int((Path(isolated["SHOP_DATA_DIR"]) / "pids" / "redis.pid").read_text())
    os.kill(pid, 0)  # alive

    run([str(INFRA), "down"], isolated)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(isolated["REDIS_PORT"]))) != 0
