"""tools/run_file.py: the run file of `make run REPLICAS=N`, from the real dapr.yaml."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import run_file

ROOT = Path(__file__).resolve().parents[2]
PORTS_ENV = (ROOT / "tools" / "ports.env").read_text()


def original() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    return loaded


def written(tmp_path: Path, replicas: int) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "replicas"
    out.mkdir()
    path = run_file.write(replicas, out)
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return out, loaded


def own_port(app: dict[str, Any]) -> int:
    """The port the app is told to listen on: uvicorn's --port, or shipping's APP_PORT."""
    command = app["command"]
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    return int(app["env"]["APP_PORT"])


@pytest.mark.parametrize("replicas", [2, 3])
def test_every_app_repeated_under_its_app_id(tmp_path: Path, replicas: int) -> None:
    _, run = written(tmp_path, replicas)
    ids = [app["appID"] for app in original()["apps"]]
    # Every first instance, then every second...: the CLI starts them in this order.
    assert [app["appID"] for app in run["apps"]] == ids * replicas


@pytest.mark.parametrize("replicas", [2, 3])
def test_instance_k_moves_every_port_by_the_step(tmp_path: Path, replicas: int) -> None:
    _, run = written(tmp_path, replicas)
    first = original()["apps"]
    for n, app in enumerate(run["apps"]):
        k, base = divmod(n, len(first))
        offset = run_file.PORT_STEP * k
        for field in run_file.PORT_FIELDS:
            assert app[field] == first[base][field] + offset, (app["appID"], k + 1, field)
        assert own_port(app) == app["appPort"], app["appID"]


def test_no_port_twice_none_of_the_backing_services_none_ephemeral(tmp_path: Path) -> None:
    _, run = written(tmp_path, max(run_file.ALLOWED))
    fixed = run_file.fixed_ports(PORTS_ENV)
    assert fixed["REDIS_PORT"] == 16379  # the parse found the file's ports
    ports = [app[field] for app in run["apps"] for field in run_file.PORT_FIELDS]
    assert len(ports) == len(set(ports))
    assert not set(ports) & set(fixed.values())
    assert max(ports) < 32768
    # Nor the system tests' random ports (tests/system/launcher.py).
    assert max(ports) < 20_000


def test_the_first_instance_is_dapr_yaml_s(tmp_path: Path) -> None:
    out, run = written(tmp_path, 2)
    first = original()["apps"]
    for app, want in zip(run["apps"][: len(first)], first, strict=True):
        assert (out / app["appDirPath"]).resolve() == ROOT
        assert {**app, "appDirPath": "."} == want


def test_paths_resolve_from_the_written_file_as_from_the_root(tmp_path: Path) -> None:
    # The CLI resolves a run file's paths against the file's own directory.
    out, run = written(tmp_path, 2)
    common, want = run["common"], original()["common"]
    assert [(out / p).resolve() for p in common["resourcesPaths"]] == [
        (ROOT / p).resolve() for p in want["resourcesPaths"]
    ]
    assert (out / common["configFilePath"]).resolve() == ROOT / want["configFilePath"]


def test_a_later_instance_runs_in_its_own_directory_that_links_the_root(
    tmp_path: Path,
) -> None:
    out, run = written(tmp_path, 3)
    dirs = {app["appDirPath"] for app in run["apps"][len(original()["apps"]) :]}
    assert dirs == {"instance-2", "instance-3"}
    for name in dirs:
        directory = out / name
        # Its own .dapr (the CLI's logs), everything else the root's: the same .venv,
        # code, components and .data (secrets, name-resolution database).
        assert not (directory / ".dapr").exists()
        for entry in ("services", "libs", ".venv", ".data", "dapr-config.yaml", "components"):
            assert (directory / entry).is_symlink(), entry
            assert (directory / entry).resolve() == (ROOT / entry).resolve(), entry
            assert not os.path.isabs(os.readlink(directory / entry))


def test_writing_again_keeps_the_links_and_drops_stale_ones(tmp_path: Path) -> None:
    out, _ = written(tmp_path, 2)
    stale = out / "instance-2" / "gone"
    stale.symlink_to("../nowhere")
    logs = out / "instance-2" / ".dapr" / "logs"
    logs.mkdir(parents=True)
    run_file.write(2, out)
    assert not stale.is_symlink()
    assert logs.is_dir()
    assert (out / "instance-2" / "services").resolve() == ROOT / "services"


def test_the_second_gateway_relays_to_the_second_notifications(tmp_path: Path) -> None:
    _, run = written(tmp_path, 3)
    notifications = [app for app in run["apps"] if app["appID"] == "notifications"]
    gateways = [app for app in run["apps"] if app["appID"] == "gateway"]
    # The first keeps its default (services/gateway/settings.py: the first notifications).
    assert "NOTIFICATIONS_URL" not in gateways[0].get("env", {})
    for gateway, notification in zip(gateways[1:], notifications[1:], strict=True):
        assert gateway["env"]["NOTIFICATIONS_URL"] == f"http://127.0.0.1:{notification['appPort']}"


@pytest.mark.parametrize("value", ["0", "4", "two", "", "-1", "2.5"])
def test_refuses_other_counts_naming_the_allowed_ones(value: str) -> None:
    with pytest.raises(run_file.RunFileError, match="REPLICAS is one of 1, 2, 3"):
        run_file.parse_replicas(value)


def test_an_app_whose_port_cannot_be_moved_is_named() -> None:
    app = {**original()["apps"][0], "appID": "newcomer", "command": ["./newcomer"]}
    with pytest.raises(run_file.RunFileError, match="newcomer: cannot move its port"):
        run_file.instance(app, 2, {"notifications": 8106}, "instance-2")


def test_a_clash_is_named() -> None:
    apps = original()["apps"]
    with pytest.raises(run_file.RunFileError, match="REDIS_PORT"):
        run_file.check_ports([{**apps[0], "metricsPort": 16379}], run_file.fixed_ports(PORTS_ENV))
    with pytest.raises(run_file.RunFileError, match="ephemeral"):
        run_file.check_ports([{**apps[0], "appPort": 40000}], {})


def test_the_command_line_writes_and_says_where_or_refuses(tmp_path: Path) -> None:
    tool = [sys.executable, str(ROOT / "tools" / "run_file.py"), "--out", str(tmp_path)]
    done = subprocess.run([*tool, "--replicas", "2"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dapr.yaml").is_file()
    assert f"run file: {tmp_path / 'dapr.yaml'}" in done.stdout
    assert "gateway 2: http://127.0.0.1:8110/" in done.stdout
    refused = subprocess.run(
        [*tool, "--replicas", "9"], capture_output=True, text=True, check=False
    )
    assert refused.returncode == 1
    assert "REPLICAS is one of 1, 2, 3" in refused.stderr


def test_make_health_checks_every_instance_of_the_run_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import health

    out, run = written(tmp_path, 2)
    asked: list[str] = []

    def probe(url: str) -> str:
        asked.append(url)
        return "ok"

    monkeypatch.setattr(health, "probe", probe)
    assert health.main(["--run-file", str(out / "dapr.yaml")]) == 0
    assert len(asked) == 2 * len(run["apps"]) == 2 * 2 * len(original()["apps"])
    assert "http://127.0.0.1:8110/readyz" in asked  # the second gateway
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert names[:2] == ["gateway", "catalog"]
    assert "gateway-2" in names and "shipping-2" in names
