"""`make run REPLICAS=N`: the Multi-App Run file of N instances of every service.

Reads dapr.yaml and writes OUT/dapr.yaml (under .data/, never committed), in which each
app appears N times under its own app id, each instance beside its own daprd: instance k
(1-based) has every port of dapr.yaml moved up by PORT_STEP * (k - 1), the app's own
port included (uvicorn's `--port`, shipping's APP_PORT). Instance 1 is dapr.yaml's app,
unchanged. Prints what tools/run.sh's banner says of the instances.

Instance k > 1 runs in its own directory, OUT/instance-k, not in the repository root,
because Dapr CLI 1.12 names an app's logs `<appDirPath>/.dapr/logs/<app id>_{app,daprd}_
<YYYYMMDDhhmmss>.log` (cli pkg/runfileconfig/run_file_config.go, createLogFile) and opens
them with os.Create: two instances of one app id in one directory, started within the
same second, would truncate and overwrite one file. That directory holds a link to every
entry of the repository root except .dapr, so the apps and daprd, which run there, find
every relative path of dapr.yaml, components/ and dapr-config.yaml as in the root: the
same .venv, code, components and, through .data, the same secrets and the same SQLite
name-resolution database, which is what makes the instances one app id to their callers
(docs/dapr-traps.md).
"""

import argparse
import copy
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

# 1 is `make run` as ever (tools/run.sh runs dapr.yaml itself); more than 3 is more than
# two cores carry (eight Python apps and eight sidecars an instance).
ALLOWED = (1, 2, 3)
# dapr.yaml's ports come in runs of eight (8100-8107, 3600-3607, 3700-3707, 3800-3807,
# 9600-9607): a step of 10 moves instance 2 to 8110-8117, 3610-3617... and instance 3
# to 8120-8127, 3620-3627..., clear of each other, of every port of tools/ports.env
# (15432 and up) and of the system tests' random ones (20000-32000,
# tests/system/launcher.py). check_ports() holds it to that.
PORT_STEP = 10
# Ports stay below the kernel's range for outgoing connections (docs/dapr-traps.md).
EPHEMERAL_START = 32768
PORT_FIELDS = ("appPort", "daprHTTPPort", "daprGRPCPort", "daprInternalGRPCPort", "metricsPort")
# What an app is told about another app's own port (not its sidecar's): the gateway
# relays /ws/orders to the notifications app itself (services/gateway/updates.py).
# Instance k of the gateway relays to instance k of notifications.
PEER_URLS = {"gateway": {"NOTIFICATIONS_URL": "notifications"}}
# Entries of the repository root an instance's directory does not link: .dapr is where
# the CLI writes that instance's logs; .git is no business of the apps.
NOT_LINKED = {".dapr", ".git"}


class RunFileError(Exception):
    """dapr.yaml cannot be repeated as asked; the message says why."""


def parse_replicas(value: str) -> int:
    allowed = ", ".join(str(n) for n in ALLOWED)
    try:
        replicas = int(value)
    except ValueError:
        replicas = 0
    if replicas not in ALLOWED:
        raise RunFileError(
            f"REPLICAS is one of {allowed} (instances of every service), not {value!r}"
        )
    return replicas


def _shift_app_port(app: dict[str, Any], offset: int) -> None:
    """Moves the port the app itself listens on: uvicorn's `--port` in its command, or
    APP_PORT in its env (shipping)."""
    port = app["appPort"]
    command = [str(arg) for arg in app.get("command", [])]
    env = {key: str(value) for key, value in (app.get("env") or {}).items()}
    moved = False
    if "--port" in command:
        at = command.index("--port") + 1
        if command[at] != str(port):
            raise RunFileError(f"{app['appID']}: --port {command[at]} is not appPort {port}")
        command[at] = str(port + offset)
        moved = True
    if "APP_PORT" in env:
        if env["APP_PORT"] != str(port):
            raise RunFileError(f"{app['appID']}: APP_PORT {env['APP_PORT']} is not appPort {port}")
        env["APP_PORT"] = str(port + offset)
        moved = True
    if not moved:
        raise RunFileError(
            f"{app['appID']}: cannot move its port, its command has no --port and its env "
            "no APP_PORT: teach tools/run_file.py how it is told its port"
        )
    app["command"] = command
    if env:
        app["env"] = env


def instance(
    app: dict[str, Any], k: int, app_ports: dict[str, int], app_dir: str
) -> dict[str, Any]:
    """Instance k of `app`: its ports moved up by PORT_STEP * (k - 1), running in
    `app_dir`. app_ports: each app id's appPort in dapr.yaml, for PEER_URLS."""
    offset = PORT_STEP * (k - 1)
    app = copy.deepcopy(app)
    app["appDirPath"] = app_dir
    _shift_app_port(app, offset)
    for field in PORT_FIELDS:
        app[field] += offset
    peers = PEER_URLS.get(app["appID"], {}) if k > 1 else {}  # instance 1: the defaults
    for name, peer in peers.items():
        app.setdefault("env", {})[name] = f"http://127.0.0.1:{app_ports[peer] + offset}"
    return app


def fixed_ports(ports_env: str) -> dict[str, int]:
    """The backing services' ports, `: "${NAME:=PORT}"` lines of tools/ports.env."""
    return {name: int(port) for name, port in re.findall(r"\$\{(\w+):=(\d+)\}", ports_env)}


def check_ports(apps: list[dict[str, Any]], fixed: dict[str, int]) -> None:
    """Every port once, none of the backing services', all below the ephemeral range."""
    taken = {port: f"tools/ports.env {name}" for name, port in fixed.items()}
    for n, app in enumerate(apps):
        for field in PORT_FIELDS:
            port = app[field]
            what = f"{app['appID']} (entry {n + 1}) {field}"
            if port >= EPHEMERAL_START:
                raise RunFileError(f"{what} {port} is in the ephemeral range ({EPHEMERAL_START}+)")
            if port in taken:
                raise RunFileError(f"{what} {port} is also {taken[port]}")
            taken[port] = what


def _relative(path: str, root: Path, out: Path) -> str:
    """A path of dapr.yaml (relative to the root) as the written file must say it: the
    CLI resolves a run file's paths against the file's own directory."""
    return os.path.relpath(root / path, out)


def replicate(run: dict[str, Any], replicas: int, root: Path, out: Path) -> dict[str, Any]:
    """dapr.yaml's content `run` with `replicas` instances of every app, to be written
    into the directory `out`: every instance 1 first, in dapr.yaml's order, then every
    instance 2, and so on (the CLI starts them in that order, about one a second)."""
    run = copy.deepcopy(run)
    common = run.get("common", {})
    if "resourcesPaths" in common:
        common["resourcesPaths"] = [_relative(p, root, out) for p in common["resourcesPaths"]]
    if "configFilePath" in common:
        common["configFilePath"] = _relative(common["configFilePath"], root, out)
    app_ports = {app["appID"]: app["appPort"] for app in run["apps"]}
    apps = []
    for k in range(1, replicas + 1):
        for app in run["apps"]:
            if app.get("appDirPath") != ".":
                raise RunFileError(f"{app['appID']}: appDirPath is not the repository root")
            for field in ("resourcesPaths", "configFilePath", "resourcesPath"):
                if field in app:
                    raise RunFileError(f"{app['appID']}: its own {field} is not handled here")
            # Instance 1 runs in the root as with dapr.yaml, the others in their own.
            app_dir = _relative(".", root, out) if k == 1 else instance_dir(out, k).name
            apps.append(instance(app, k, app_ports, app_dir))
    run["apps"] = apps
    return run


def instance_dir(out: Path, k: int) -> Path:
    return out / f"instance-{k}"


def link_root(root: Path, directory: Path) -> None:
    """Makes `directory` look like the repository root to whatever runs there: a relative
    link to each entry of the root but NOT_LINKED; links to entries gone are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {entry.name for entry in root.iterdir() if entry.name not in NOT_LINKED}
    for link in directory.iterdir():
        if link.is_symlink() and link.name not in wanted:
            link.unlink()
    for name in sorted(wanted):
        link = directory / name
        target = os.path.relpath(root / name, directory)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            raise RunFileError(f"{link} is in the way of a link to {target}")
        link.symlink_to(target)


def write(replicas: int, out: Path, root: Path = ROOT) -> Path:
    """Writes out/dapr.yaml with `replicas` instances of every app of root/dapr.yaml and
    links each instance's directory; returns the file's path."""
    out = out.resolve()
    run = replicate(yaml.safe_load((root / "dapr.yaml").read_text()), replicas, root, out)
    check_ports(run["apps"], fixed_ports((root / "tools" / "ports.env").read_text()))
    for k in range(2, replicas + 1):
        link_root(root, instance_dir(out, k))
    path = out / "dapr.yaml"
    header = (
        f"# Written by tools/run_file.py from dapr.yaml for `make run REPLICAS={replicas}`:\n"
        "# do not edit, it is written again at every start.\n"
    )
    path.write_text(header + yaml.safe_dump(run, sort_keys=False, width=100))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", required=True, help="instances of every service")
    parser.add_argument("--out", type=Path, required=True, help="the directory to write into")
    args = parser.parse_args(argv)
    try:
        replicas = parse_replicas(args.replicas)
        path = write(replicas, args.out)
    except RunFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(describe(yaml.safe_load(path.read_text()), replicas, path))
    return 0


def describe(run: dict[str, Any], replicas: int, path: Path) -> str:
    """What tools/run.sh's banner says of the instances."""
    out = path.parent
    gateways = [app for app in run["apps"] if app["appID"] == "gateway"]
    lines = [
        f"    run file: {path} ({replicas} instances of every service, each beside its daprd)",
        f"    instance k: the ports of dapr.yaml + {PORT_STEP}*(k-1), its logs in "
        f"{out}/instance-k/.dapr/logs/ (k > 1); `make health REPLICAS={replicas}` checks them all",
        *(
            f"    gateway {k}: http://127.0.0.1:{gateway['appPort']}/"
            for k, gateway in enumerate(gateways[1:], start=2)
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
