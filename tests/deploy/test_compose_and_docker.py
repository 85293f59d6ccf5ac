"""docker-compose.yml and the Dockerfile, checked without Docker: the compose file against
the Compose Specification, the Dockerfile with hadolint, and both against the files they
must agree with (dapr.yaml, components/, tools/versions.env, tools/make_secrets.py)."""

import re
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv" / "bin"  # check-jsonschema and hadolint come with the venv
TOOL_TIMEOUT_SECONDS = 120

Obj = dict[str, Any]


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def components(folder: str) -> list[Obj]:
    """The Component resources of components/<folder>/ (not subscriptions, resiliency)."""
    paths = sorted((ROOT / "components" / folder).glob("*.yaml"))
    docs = [doc for path in paths for doc in yaml.safe_load_all(path.read_text())]
    return [doc for doc in docs if doc and doc["kind"] == "Component"]


COMPOSE: Obj = load(ROOT / "docker-compose.yml")
SERVICES: dict[str, Obj] = COMPOSE["services"]
SIDECARS = {
    name: s for name, s in SERVICES.items() if s.get("image", "").startswith("daprio/daprd:")
}
DAPR_APPS: dict[str, int] = {a["appID"]: a["appPort"] for a in load(ROOT / "dapr.yaml")["apps"]}
PROFILES = sorted(p.name for p in (ROOT / "components").iterdir() if p.is_dir())
PROFILES.remove("common")
VERSIONS = dict(re.findall(r"^(\w+)=(\S+)$", (ROOT / "tools/versions.env").read_text(), re.M))
# The sidecars' profile folder: ./components/${SHOP_PROFILE:-<default>}.
PROFILE_MOUNT = re.compile(r"\./components/\$\{SHOP_PROFILE:-([\w-]+)\}")
# The compose service a component type needs running (None: nothing). A component of a
# new type fails test_each_profile_starts_what_its_components_need until it is added.
BACKING_SERVICE = {
    "state.redis": "redis",
    "pubsub.redis": "redis",
    "state.postgresql": "postgres",
    "pubsub.kafka": "kafka",
    "bindings.smtp": "mailpit",
    "secretstores.local.file": None,
}
# As docs/compose.md tells the reader to run it.
MAKE_SECRETS = ["tools/make_secrets.py", ".data/compose/secrets.json", "5432", "postgres"]


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    tool = TOOLS / args[0]
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make deps`")
    return subprocess.run(
        [str(tool), *args[1:]], capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS
    )


def flags(service: Obj) -> dict[str, list[str]]:
    """A daprd container's `--flag value` pairs (entrypoint, then command), by flag."""
    argv = [*service["entrypoint"][1:], *service.get("command", [])]
    values: dict[str, list[str]] = {}
    for name, value in zip(argv[::2], argv[1::2], strict=True):
        assert name.startswith("--"), f"not a --flag value pair: {name} {value}"
        values.setdefault(name, []).append(value)
    return values


def binds(service: Obj) -> dict[str, Obj]:
    return {m["source"]: m for m in service["volumes"] if m["type"] == "bind"}


def enabled(service: str, profile: str) -> bool:
    profiles = SERVICES[service].get("profiles", [])
    return not profiles or profile in profiles


def env_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["envRef"]} if "envRef" in node else set()
        return own.union(*(env_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(env_refs(item) for item in node))
    return set()


def test_compose_file_follows_the_compose_specification() -> None:
    compose = str(ROOT / "docker-compose.yml")
    result = run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", compose])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_rejects_an_unknown_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  app:\n    image: shop\n    restarts: always\n")
    result = run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(broken)])
    assert result.returncode != 0
    assert "restarts" in result.stdout


def test_hadolint_passes_the_dockerfile() -> None:
    # No rule ignored, and even the info-level ones fail the check.
    result = run(
        ["hadolint", "--no-color", "--failure-threshold", "info", str(ROOT / "Dockerfile")]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_an_unpinned_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install fastapi\n")
    result = run(["hadolint", "--no-color", str(bad)])
    assert result.returncode != 0
    assert {"DL3007", "DL3013"} <= set(re.findall(r"DL\d+", result.stdout))


@pytest.mark.parametrize("app_id", DAPR_APPS)
def test_each_app_runs_beside_its_sidecar_as_in_dapr_yaml(app_id: str) -> None:
    app = SERVICES[app_id]
    assert app["build"] == {"context": ".", "args": {"SERVICE": app_id}}
    sidecars = [s for s in SIDECARS.values() if s.get("network_mode") == f"service:{app_id}"]
    assert len(sidecars) == 1, f"{app_id} needs exactly one daprd in its network namespace"
    sidecar = sidecars[0]
    given = flags(sidecar)
    assert given["--app-id"] == [app_id]
    assert given["--app-port"] == [str(DAPR_APPS[app_id])]
    # The app reaches its sidecar on the ports the sidecar listens on.
    assert app["environment"]["DAPR_HTTP_PORT"] == given["--dapr-http-port"][0]
    assert app["environment"]["DAPR_GRPC_PORT"] == given["--dapr-grpc-port"][0]
    assert sidecar["depends_on"][app_id]["restart"] is True
    assert "profiles" not in app and "profiles" not in sidecar


def test_the_apps_are_exactly_the_service_folders() -> None:
    built = {s["build"]["args"]["SERVICE"] for s in SERVICES.values() if "build" in s}
    folders = {p.parent.name for p in (ROOT / "services").glob("*/main.py")}
    assert built == folders == set(DAPR_APPS)


def test_only_loopback_ports_are_published_and_apps_on_their_own() -> None:
    published = {name: s["ports"] for name, s in SERVICES.items() if "ports" in s}
    assert set(published) == {
        "gateway",
        "notifications",
        "mailpit",
        "zipkin",
        "prometheus",
        "grafana",
    }
    for name, ports in published.items():
        for port in ports:
            address, host_port, container_port = port.split(":")
            assert address == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            if name in DAPR_APPS:  # the README's URLs hold: the app port, on the host too
                assert int(host_port) == int(container_port) == DAPR_APPS[name], port


@pytest.mark.parametrize("name", SIDECARS)
def test_each_sidecar_mounts_the_repository_components_and_configuration(name: str) -> None:
    sidecar = SIDECARS[name]
    mounts = binds(sidecar)
    [profile_source] = [source for source in mounts if PROFILE_MOUNT.fullmatch(source)]
    given = flags(sidecar)
    assert given["--resources-path"] == [
        mounts["./components/common"]["target"],
        mounts[profile_source]["target"],
    ]
    # The shared Configuration first, then what compose changes in it.
    assert given["--config"] == [
        mounts["./dapr-config.yaml"]["target"],
        mounts["./compose/dapr-config.yaml"]["target"],
    ]
    for mount in mounts.values():
        assert mount["read_only"] and not mount["bind"]["create_host_path"], mount
    # The local file secret store resolves its file against daprd's working directory.
    [store] = [c for c in components("common") if c["spec"]["type"] == "secretstores.local.file"]
    [secrets_file] = [m["value"] for m in store["spec"]["metadata"] if m["name"] == "secretsFile"]
    [secret] = sidecar["secrets"]
    assert secret["target"] == str(PurePosixPath(sidecar["working_dir"]) / secrets_file)


def test_the_compose_configuration_changes_only_name_resolution_tracing_and_acl() -> None:
    shared = load(ROOT / "dapr-config.yaml")
    overlay = load(ROOT / "compose/dapr-config.yaml")
    assert (overlay["kind"], overlay["metadata"]) == (shared["kind"], shared["metadata"])
    assert set(overlay["spec"]) <= {"nameResolution", "tracing", "accessControl"}
    # No sentry in compose, so no mTLS identities: per-app rules could never match.
    assert overlay["spec"]["accessControl"] == {"defaultAction": "allow", "trustDomain": "public"}
    # Every sidecar registers in the same SQLite file: one volume, mounted by all.
    database = PurePosixPath(overlay["spec"]["nameResolution"]["configuration"]["connectionString"])
    for name, sidecar in SIDECARS.items():
        volumes = [m for m in sidecar["volumes"] if m["type"] == "volume"]
        assert any(database.is_relative_to(m["target"]) for m in volumes), name
    zipkin = overlay["spec"]["tracing"]["zipkin"]["endpointAddress"]
    assert re.match(r"http://zipkin:9411/", zipkin) and "profiles" not in SERVICES["zipkin"]


def test_every_env_ref_of_the_components_is_set_for_every_sidecar() -> None:
    wanted = set().union(*(env_refs(c) for f in ["common", *PROFILES] for c in components(f)))
    assert wanted, "no envRef found: has the component layout changed?"
    for name, sidecar in SIDECARS.items():
        environment = sidecar["environment"]
        assert wanted <= set(environment), f"{name} lacks {wanted - set(environment)}"
        for value in environment.values():
            for host in (address.split(":")[0] for address in value.split(",")):
                assert host.isdigit() or host in SERVICES, f"{name}: {host} is no service"


def test_control_plane_addresses_name_services_of_every_profile() -> None:
    for sidecar in SIDECARS.values():
        given = flags(sidecar)
        for flag in ("--placement-host-address", "--scheduler-host-address"):
            [host] = [address.split(":")[0] for address in given[flag]]
            assert host in SERVICES and "profiles" not in SERVICES[host], flag


def test_images_match_the_pinned_versions() -> None:
    runtime, kafka = VERSIONS["DAPR_RUNTIME_VERSION"], VERSIONS["KAFKA_VERSION"]
    for name, sidecar in SIDECARS.items():
        assert sidecar["image"] == f"daprio/daprd:{runtime}", name
    assert SERVICES["placement"]["image"] == f"daprio/placement:{runtime}"
    assert SERVICES["scheduler"]["image"] == f"daprio/scheduler:{runtime}"
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{kafka}"


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_starts_what_its_components_need(profile: str) -> None:
    needed = set()
    for component in components("common") + components(profile):
        kind = component["spec"]["type"]
        assert kind in BACKING_SERVICE, f"which compose service does {kind} need?"
        needed.add(BACKING_SERVICE[kind])
    needed.discard(None)
    for service in needed:
        assert service in SERVICES and enabled(service, profile), f"{profile} needs {service}"
    # And a service of this compose profile is one its components need.
    own = {name for name, s in SERVICES.items() if profile in s.get("profiles", [])}
    assert own <= needed, f"{own - needed} start for {profile} but nothing there uses them"


def test_compose_profiles_are_component_profiles() -> None:
    for name, service in SERVICES.items():
        assert set(service.get("profiles", [])) <= set(PROFILES), name


def test_shop_profile_alone_picks_the_components_and_the_backing_services() -> None:
    env = dict(re.findall(r"^(\w+)=(.*)$", (ROOT / ".env").read_text(), re.M))
    mount_defaults = {
        match.group(1)
        for sidecar in SIDECARS.values()
        for source in binds(sidecar)
        if (match := PROFILE_MOUNT.fullmatch(source))
    }
    assert len(mount_defaults) == 1
    [default] = mount_defaults
    assert env["COMPOSE_PROFILES"] == f"${{SHOP_PROFILE:-{default}}}"
    assert default in PROFILES


def test_backing_services_read_the_secrets_file_make_secrets_writes(tmp_path: Path) -> None:
    docs = (ROOT / "docs/compose.md").read_text()
    assert f"python3 {' '.join(MAKE_SECRETS)}" in docs
    assert COMPOSE["secrets"]["shop"]["file"] == f"./{MAKE_SECRETS[1]}"
    assert ".data/" in (ROOT / ".gitignore").read_text().split()
    secrets_file = tmp_path / "secrets.json"
    script, _, port, host = MAKE_SECRETS
    subprocess.run([sys.executable, ROOT / script, secrets_file, port, host], check=True)
    values = yaml.safe_load(secrets_file.read_text())  # JSON is YAML

    def extract(service: str) -> str:
        [sed] = re.findall(r"sed -n '([^']*)'", SERVICES[service]["command"][0])
        found = subprocess.run(["sed", "-n", sed, secrets_file], capture_output=True, text=True)
        return found.stdout.strip()

    assert extract("redis") == f"requirepass {values['redis-password']}"
    assert extract("postgres") == values["postgres-password"]
    connection = dict(p.split("=", 1) for p in values["postgres-connection-string"].split())
    postgres = SERVICES[connection["host"]]
    assert enabled(connection["host"], "kafka-postgres") and connection["port"] == "5432"
    assert connection["user"] == postgres["environment"]["POSTGRES_USER"]
    assert connection["dbname"] == postgres["environment"]["POSTGRES_DB"]


DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_dockerfile_pins_its_base_and_installs_from_the_lock_first() -> None:
    bases = set(re.findall(r"^FROM (\S+)", DOCKERFILE, re.M))
    python = re.search(r'requires-python = ">=(\d+\.\d+)', (ROOT / "pyproject.toml").read_text())
    assert python and len(bases) == 1
    assert re.fullmatch(rf"python:{re.escape(python.group(1))}\.\d+-slim-\w+", bases.pop())
    # The dependency layer sees the lock file only, so that code edits leave it cached.
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M)
    assert copies[0].split() == ["pyproject.toml", "uv.lock"]
    assert DOCKERFILE.index("uv sync --frozen --no-dev") < DOCKERFILE.index(f"COPY {copies[1]}")
    assert re.search(r"uv==\d+\.\d+\.\d+", DOCKERFILE)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_each_image_serves_on_its_app_port_from_dapr_yaml() -> None:
    # The build step that writes /app/port, run here against the repository's dapr.yaml.
    found = re.search(
        r"source=dapr\.yaml,target=(\S+) python - .* > port <<'EOF'\n(.*?)\nEOF$",
        DOCKERFILE,
        re.M | re.S,
    )
    assert found and re.search(r"^WORKDIR /app$", DOCKERFILE, re.M)
    mount, script = found.groups()
    script = script.replace(mount, str(ROOT / "dapr.yaml"))

    def port_of(service: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-", service], input=script, cwd=ROOT, capture_output=True, text=True
        )

    for service, port in DAPR_APPS.items():
        assert port_of(service).stdout == f"{port}\n"
    refused = port_of("nope")
    assert refused.returncode != 0 and "no service 'nope'" in refused.stderr
    # The entrypoint and the health check read it; EXPOSE documents the range.
    assert DOCKERFILE.count("open('/app/port')") == DOCKERFILE.count("$(cat /app/port)") == 1
    [(low, high)] = re.findall(r"^EXPOSE (\d+)-(\d+)$", DOCKERFILE, re.M)
    assert all(int(low) <= port <= int(high) for port in DAPR_APPS.values())


def test_build_context_holds_what_the_dockerfile_reads() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "an allow-list keeps .data/ (secrets) and .venv/ out"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    sources = {
        source.split("/")[0]
        for line in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M)
        for source in line.split()
    }
    sources.update(re.findall(r"--mount=type=bind,source=([^,\s]+)", DOCKERFILE))
    assert sources <= allowed, f"not in the build context: {sources - allowed}"
    assert not allowed & {".data", ".venv", ".git", ".runtime", ".env"}
