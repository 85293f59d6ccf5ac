"""docker-compose.yml and the Dockerfile, checked without Docker: the compose file against
the Compose Specification, the Dockerfile with hadolint, and both against the files they
must agree with (dapr.yaml, components/, tools/versions.env, tools/make_secrets.py,
services/shipping/go.mod, contracts/events/)."""

import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from gateway.settings import Settings as GatewaySettings

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
# The services by language: a Python service is services/<name>/main.py (the SERVICE build
# arg of the Dockerfile's last stage), a Go one a module, services/<name>/go.mod (a stage
# of its own name, picked with --target).
PYTHON_APPS = sorted(p.parent.name for p in (ROOT / "services").glob("*/main.py"))
GO_APPS = sorted(p.parent.name for p in (ROOT / "services").glob("*/go.mod"))
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
    if app_id in GO_APPS:
        assert app["build"] == {"context": ".", "target": app_id}
        assert app_id in STAGE, f"the Dockerfile has no stage {app_id}"
    else:
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
    builds = [s["build"] for s in SERVICES.values() if "build" in s]
    by_arg = {b["args"]["SERVICE"] for b in builds if "args" in b}
    by_target = {b["target"] for b in builds if "target" in b}
    assert by_arg == set(PYTHON_APPS) and by_target == set(GO_APPS)
    assert not set(PYTHON_APPS) & set(GO_APPS), "a service is Python or Go, not both"
    assert by_arg | by_target == set(DAPR_APPS)


def test_only_loopback_ports_are_published_and_apps_on_their_own() -> None:
    published = {name: s["ports"] for name, s in SERVICES.items() if "ports" in s}
    # The gateway is the shop's one entry: the storefront, /api/v1 and /ws/orders.
    assert set(published) == {"gateway", "mailpit", "zipkin", "prometheus", "grafana"}
    for name, ports in published.items():
        for port in ports:
            address, host_port, container_port = port.split(":")
            assert address == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            if name in DAPR_APPS:  # the README's URLs hold: the app port, on the host too
                assert int(host_port) == int(container_port) == DAPR_APPS[name], port


def test_the_addresses_docs_compose_md_gives_are_published() -> None:
    # The rows of its tables that name an address on the host (not the curl from inside a
    # container further down).
    rows = [line for line in (ROOT / "docs/compose.md").read_text().splitlines() if line[:1] == "|"]
    given = {int(port) for row in rows for port in re.findall(r"//127\.0\.0\.1:(\d+)", row)}
    published = {
        int(port.split(":")[1])
        for service in SERVICES.values()
        for port in service.get("ports", [])
    }
    assert given and given <= published, f"not published: {given - published}"


def test_every_app_gets_the_shared_environment() -> None:
    # An app that sets environment of its own must merge x-app's in, not replace it.
    shared = COMPOSE["x-app"]["environment"]
    for app_id in DAPR_APPS:
        environment = SERVICES[app_id]["environment"]
        assert environment.items() >= shared.items(), f"{app_id} lost {shared.keys() - environment}"


def test_the_gateway_relays_the_websocket_to_the_notifications_app() -> None:
    # Not its sidecar (a WebSocket cannot pass through service invocation): the app, at the
    # name of the container whose network namespace it shares with its daprd.
    url = urlsplit(SERVICES["gateway"]["environment"]["NOTIFICATIONS_URL"])
    assert "notifications_url" in GatewaySettings.model_fields
    assert (url.scheme, url.hostname, url.port) == (
        "http",
        "notifications",
        DAPR_APPS["notifications"],
    )
    assert "network_mode" not in SERVICES["notifications"]
    assert "PORT" not in SERVICES["notifications"]["environment"]
    # ...which the app listens on: every interface of that namespace, not only loopback.
    [entrypoint] = [a for keyword, a in FINAL.instructions if keyword == "ENTRYPOINT"]
    assert "--host 0.0.0.0 --port" in entrypoint


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
STOREFRONT = ROOT / "storefront"
INSTRUCTION = re.compile(r"^([A-Z]+) (.*)")
BACKSLASH = "\\"


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]]  # (COPY, "--from=deps /app/.venv .venv"), ...

    def copies(self) -> list[tuple[list[str], str]]:
        """(sources, destination) of each COPY from the build context."""
        found = []
        for keyword, args in self.instructions:
            if keyword == "COPY" and not args.startswith("--from"):
                *sources, destination = args.split()
                found.append((sources, destination))
        return found

    def index(self, keyword: str, containing: str = "") -> int:
        return next(
            i
            for i, (kw, args) in enumerate(self.instructions)
            if kw == keyword and containing in args
        )


def stages(dockerfile: str) -> list[Stage]:
    """Each FROM's stage, with its instructions (continued lines joined; comments and the
    lines of a heredoc left out)."""
    found: list[Stage] = []
    continued = False
    for line in dockerfile.splitlines():
        if continued:
            keyword, args = found[-1].instructions[-1]
            found[-1].instructions[-1] = (keyword, f"{args} {line.strip().rstrip(BACKSLASH)}")
        elif match := INSTRUCTION.match(line):
            keyword, args = match.groups()
            if keyword == "FROM":
                base, _, name = args.partition(" AS ")
                found.append(Stage(base, name or None, []))
            else:
                found[-1].instructions.append((keyword, args.rstrip(BACKSLASH).strip()))
        continued = line.endswith(BACKSLASH)
    return found


STAGES = stages(DOCKERFILE)
STAGE = {stage.name: stage for stage in STAGES}
FINAL = STAGES[-1]


def workdir(stage: Stage, before: int | None = None) -> PurePosixPath:
    """The stage's working directory at its instruction `before` (by default, at its end)."""
    [*_, last] = [PurePosixPath(a) for kw, a in stage.instructions[:before] if kw == "WORKDIR"]
    return last


def test_the_python_stages_pin_their_base_and_install_from_the_lock_first() -> None:
    python = re.search(r'requires-python = ">=(\d+\.\d+)', (ROOT / "pyproject.toml").read_text())
    bases = {stage.base for stage in STAGES if stage.base.startswith("python:")}
    assert python and len(bases) == 1 and {STAGE["deps"].base, FINAL.base} == bases
    assert re.fullmatch(rf"python:{re.escape(python.group(1))}\.\d+-slim-\w+", bases.pop())
    # The dependency layer sees the lock file only, so that code edits leave it cached.
    deps = STAGE["deps"]
    assert deps.copies() == [(["pyproject.toml", "uv.lock"], "./")]
    assert deps.index("RUN", "uv sync --frozen --no-dev") > deps.index("COPY")
    assert re.search(r"uv==\d+\.\d+\.\d+", DOCKERFILE)
    # The image takes the installed environment, not the tools that made it.
    assert ("COPY", "--from=deps /app/.venv .venv") in FINAL.instructions
    users = [args for keyword, args in FINAL.instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_the_storefront_stage_installs_from_the_lock_then_builds_with_a_pinned_node() -> None:
    stage = STAGE["storefront"]
    package = json.loads((STOREFRONT / "package.json").read_text())
    wanted = re.fullmatch(r">=(\d+)\.(\d+)", package["engines"]["node"])
    node = re.fullmatch(r"node:(\d+)\.(\d+)\.\d+-(\w+)-slim", stage.base)
    assert wanted and node, f"an exact Node of the engines ({package['engines']}): {stage.base}"
    assert (int(node[1]), int(node[2])) >= (int(wanted[1]), int(wanted[2]))
    # On the Debian of the Python base, one distribution to patch for both.
    assert FINAL.base.endswith(f"-{node[3]}")
    # npm ci sees only the manifest and the lock file; the build comes after every source.
    [first, *sources] = stage.copies()
    assert first == (["storefront/package.json", "storefront/package-lock.json"], "./")
    install = stage.index("RUN", "npm ci")
    assert stage.index("COPY", "storefront/package-lock.json") < install
    assert all(stage.index("COPY", s[0]) > install for s, _ in sources)
    assert stage.instructions[-1] == ("RUN", "npm run build")
    # What the build reads: the manifests, index.html and the compiler's inputs
    # (tsconfig.json's include), each where it lies in storefront/, under the WORKDIR.
    tsconfig = json.loads((STOREFRONT / "tsconfig.json").read_text())
    needed = {"package.json", "package-lock.json", "index.html", "tsconfig.json"}
    needed.update(tsconfig["include"])
    landed = {}
    for names, destination in [first, *sources]:
        into = workdir(stage, stage.index("COPY", names[0])) / destination
        for name in names:
            relative = PurePosixPath(name).relative_to("storefront")
            # A folder's contents go into the destination, a file under it.
            landed[str(relative)] = into if name.endswith("/") else into / relative.name
    assert needed <= set(landed), f"the build reads {needed - set(landed)}, not copied"
    for copied, path in landed.items():
        assert path == workdir(stage) / copied, copied


def test_the_gateway_finds_the_built_storefront() -> None:
    stage = STAGE["storefront"]
    # Vite writes dist/ (its default outDir) under the stage's WORKDIR.
    assert "outDir" not in (STOREFRONT / "vite.config.ts").read_text()
    built = workdir(stage) / "dist"
    [(source, destination)] = [
        args.split()[1:]
        for keyword, args in FINAL.instructions
        if keyword == "COPY" and args.startswith("--from=storefront ")
    ]
    assert PurePosixPath(source) == built
    # Where STOREFRONT_DIR's default points, from the WORKDIR the entrypoint runs in.
    copied = FINAL.index("COPY", "--from=storefront")
    default = GatewaySettings.model_fields["storefront_dir"].default
    assert not default.is_absolute()
    assert not any(kw == "ENV" and "STOREFRONT_DIR" in args for kw, args in FINAL.instructions)
    assert workdir(FINAL, copied) / destination == workdir(FINAL) / default
    # Before ARG SERVICE: one layer, shared by every image (the Dockerfile says why).
    assert copied < FINAL.index("ARG", "SERVICE")


def test_each_image_serves_on_its_app_port_from_dapr_yaml() -> None:
    # The build step that writes /app/port, run here against the repository's dapr.yaml.
    found = re.search(
        r"source=dapr\.yaml,target=(\S+) python - .* > port <<'EOF'\n(.*?)\nEOF$",
        DOCKERFILE,
        re.M | re.S,
    )
    assert found and workdir(FINAL) == PurePosixPath("/app")
    mount, script = found.groups()
    script = script.replace(mount, str(ROOT / "dapr.yaml"))

    def port_of(service: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-", service], input=script, cwd=ROOT, capture_output=True, text=True
        )

    for service in PYTHON_APPS:
        assert port_of(service).stdout == f"{DAPR_APPS[service]}\n"
    refused = port_of("nope")
    assert refused.returncode != 0 and "no Python service 'nope'" in refused.stderr
    # A Go service is in dapr.yaml but has no main.py: pointed to its own target.
    for service in GO_APPS:
        refused = port_of(service)
        assert refused.returncode != 0 and f"--target {service}" in refused.stderr
    # The entrypoint and the health check read it; EXPOSE documents the range.
    assert DOCKERFILE.count("open('/app/port')") == DOCKERFILE.count("$(cat /app/port)") == 1
    [(low, high)] = re.findall(r"^EXPOSE (\d+)-(\d+)$", DOCKERFILE, re.M)
    assert all(int(low) <= DAPR_APPS[service] <= int(high) for service in PYTHON_APPS)


def _pattern(rule: str) -> re.Pattern[str]:
    """A .dockerignore rule as Docker reads it (moby's patternmatcher): `**` crosses
    folders, `*` and `?` do not."""
    rule = os.path.normpath(rule).replace(os.sep, "/")
    regex = ""
    i = 0
    while i < len(rule):
        if rule.startswith("**/", i):
            regex, i = regex + "(.*/)?", i + 3
        elif rule.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif rule[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif rule[i] == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(rule[i]), i + 1
    return re.compile(regex)


DOCKERIGNORE = [
    line.strip()
    for line in (ROOT / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
IGNORE_RULES = [(rule.startswith("!"), _pattern(rule.lstrip("!"))) for rule in DOCKERIGNORE]


def in_context(path: str) -> bool:
    """Whether the build context holds `path`: the last rule matching it or one of its
    parent folders decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    sent = True
    for allowed, pattern in IGNORE_RULES:
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            sent = allowed
    return sent


def build_context() -> set[str]:
    """The files of this checkout the build context holds (skipping the folders no rule
    lets anything out of)."""
    exceptions = [rule[1:] for rule in DOCKERIGNORE if rule.startswith("!")]
    found: set[str] = set()
    for folder, dirs, files in os.walk(ROOT):
        relative = Path(folder).relative_to(ROOT).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        dirs[:] = [
            d
            for d in dirs
            if in_context(prefix + d)
            or any(e.startswith((f"{prefix}{d}/", "*")) for e in exceptions)
        ]
        found.update(prefix + f for f in files if in_context(prefix + f))
    return found


def test_the_dockerignore_reading_follows_docker() -> None:
    # The cases of Docker's documentation, and the allow-list's own shape.
    assert _pattern("*/temp*").fullmatch("somedir/temporary.txt")
    assert not _pattern("*/temp*").fullmatch("temp")
    assert _pattern("**/*.go").fullmatch("a.go") and _pattern("**/*.go").fullmatch("x/y/a.go")
    assert _pattern("temp?").fullmatch("tempa") and not _pattern("temp?").fullmatch("temp/a")
    assert in_context("services/gateway/main.py") and not in_context("services/gateway/tests/a.py")
    assert not in_context("README.md")


def test_build_context_holds_what_the_dockerfile_reads_and_nothing_more() -> None:
    assert DOCKERIGNORE[0] == "*", "an allow-list keeps .data/ (secrets) and .venv/ out"
    context = build_context()
    read = [s.rstrip("/") for stage in STAGES for sources, _ in stage.copies() for s in sources]
    read += re.findall(r"--mount=type=bind,source=([^,\s]+)", DOCKERFILE)
    # services/${SERVICE}/: each Python service's own.
    read = [s.replace("${SERVICE}", app) for s in read for app in PYTHON_APPS]
    for source in read:
        # A file, a folder, or a pattern (COPY's, as Go's filepath.Match: `*` stays
        # within a folder, as fnmatch's does not, so that is checked apart).
        matched = [f for f in context if fnmatch.fnmatchcase(f, source)]
        assert (
            source in context
            or any(f.startswith(f"{source}/") for f in context)
            or (matched and all(f.count("/") == source.count("/") for f in matched))
        ), source
    # Secrets, environments and what the storefront's Node stage makes for itself stay out,
    # whether or not this checkout has them; so do tests.
    for path in [
        ".data/secrets.json",
        ".data/compose/secrets.json",
        ".env",
        ".venv/bin/python",
        ".runtime/bin/daprd",
        ".git/HEAD",
        "storefront/node_modules/vite/package.json",
        "storefront/dist/index.html",
        "storefront/dist/assets/index-0.js",
        "storefront/src/format.test.ts",
        "services/gateway/tests/test_api.py",
        "libs/shop_dapr/__pycache__/app.cpython-311.pyc",
        # A Go service's tests, their data, and a binary `go build` leaves in the folder.
        *(f"services/{app}/{app}" for app in GO_APPS),
        *(f"services/{app}/main_test.go" for app in GO_APPS),
        *(f"services/{app}/internal/x/x_test.go" for app in GO_APPS),
        *(f"services/{app}/testdata/event.json" for app in GO_APPS),
        "contracts/asyncapi.yaml",
    ]:
        assert not in_context(path), path
    # A Go service's module files and every source, at any depth; every event schema.
    for app in GO_APPS:
        for path in ["go.mod", "go.sum", "main.go", "internal/x/x.go"]:
            assert in_context(f"services/{app}/{path}"), path
    schemas = [p.relative_to(ROOT).as_posix() for p in (ROOT / "contracts/events").iterdir()]
    assert schemas and all(in_context(path) for path in schemas if path.endswith(".schema.json"))
    # Of the storefront, exactly what the Node stage copies: its build's inputs.
    copied = [s for sources, _ in STAGE["storefront"].copies() for s in sources]
    storefront = {f for f in context if f.startswith("storefront/")}
    assert storefront and all(
        f in copied or any(s.endswith("/") and f.startswith(s) for s in copied) for f in storefront
    ), storefront


# --- the Go services: a build stage <app>-build, and the image, stage <app> ----------------
SHELL_FORM_ENV = re.compile(r"(\w+)=(\S+)")


def env_of(stage: Stage) -> dict[str, str]:
    """The stage's ENV NAME=value pairs (none of this Dockerfile's values holds a space)."""
    return {
        name: value
        for keyword, args in stage.instructions
        if keyword == "ENV"
        for name, value in SHELL_FORM_ENV.findall(args)
    }


def go_version(app: str) -> tuple[int, ...]:
    """The oldest Go a module accepts: its toolchain line, else its go line (1.26 is
    1.26.0)."""
    go_mod = (ROOT / "services" / app / "go.mod").read_text()
    toolchain = re.search(r"^toolchain go(\d+(?:\.\d+)*)$", go_mod, re.M)
    go = re.search(r"^go (\d+(?:\.\d+)*)$", go_mod, re.M)
    assert go, f"services/{app}/go.mod has no go line"
    version = tuple(int(part) for part in (toolchain or go)[1].split("."))
    return (*version, 0, 0)[:3]


def test_the_services_are_python_or_go() -> None:
    assert PYTHON_APPS and GO_APPS == ["shipping"]


@pytest.mark.parametrize("app", GO_APPS)
def test_each_go_service_builds_statically_with_the_go_of_its_go_mod(app: str) -> None:
    build = STAGE[f"{app}-build"]
    wanted = go_version(app)
    image = re.fullmatch(r"golang:(\d+)\.(\d+)\.(\d+)-(\w+)", build.base)
    assert image, f"an exact Go on a named Debian, not {build.base}"
    # A release of go.mod's Go (the language version it is written in), at least the
    # one it asks for: with GOTOOLCHAIN=local an older one fails, a newer minor would
    # build with a language go.mod has not been tried with.
    given = tuple(int(part) for part in image.groups()[:3])
    assert given[:2] == wanted[:2] and given >= wanted, (build.base, wanted)
    # One Debian for every base: the Python images' and the Node stage's.
    assert FINAL.base.endswith(f"-{image[4]}")
    env = env_of(build)
    # Static (no libc in the image), and never a toolchain downloaded behind go.mod's back.
    assert env["CGO_ENABLED"] == "0" and env["GOTOOLCHAIN"] == "local"
    # The dependency download sees only go.mod and go.sum; the sources come after it.
    [first, *rest] = build.copies()
    assert first == ([f"services/{app}/go.mod", f"services/{app}/go.sum"], "./")
    download = build.index("RUN", "go mod download")
    assert build.index("COPY", f"services/{app}/go.sum") < download
    assert rest == [([f"services/{app}/"], "./")]
    sources = build.index("COPY", f"services/{app}/ ")
    assert sources > download
    # The module's root package is the program (`go build .` where the module landed).
    built = build.index("RUN", f"-o /out/{app} .")
    assert built > sources and workdir(build, built) == workdir(build, sources)
    roots = [p for p in (ROOT / "services" / app).glob("*.go") if not p.stem.endswith("_test")]
    assert any(re.search(r"^package main$", p.read_text(), re.M) for p in roots), (
        f"services/{app} has no package main at its root"
    )
    # Only its own folder is in the stage: no replace may point outside it.
    go_mod = (ROOT / "services" / app / "go.mod").read_text()
    assert not re.search(r"=>\s*\.", go_mod), "a local replace the build stage cannot see"


@pytest.mark.parametrize("app", GO_APPS)
def test_each_go_image_is_its_binary_on_scratch_as_non_root_on_its_app_port(app: str) -> None:
    image = STAGE[app]
    # Nothing but what is copied in: no distribution to patch, no shell.
    assert image.base == "scratch"
    copied_from_build = {
        f"{destination.rstrip('/')}/{PurePosixPath(source).name}": source
        for keyword, args in image.instructions
        if keyword == "COPY" and args.startswith(f"--from={app}-build ")
        for *sources, destination in [args.split()[1:]]
        for source in sources
    }
    # It runs the binary the build stage wrote, and checks its health with the same
    # binary's `healthcheck`, which asks /healthz on APP_PORT (services/<app>/main.go).
    [entrypoint] = [json.loads(a) for kw, a in image.instructions if kw == "ENTRYPOINT"]
    assert copied_from_build[entrypoint[0]] == f"/out/{app}"
    [healthcheck] = [a for kw, a in image.instructions if kw == "HEALTHCHECK"]
    assert json.loads(healthcheck.partition(" CMD ")[2]) == [entrypoint[0], "healthcheck"]
    main_go = (ROOT / "services" / app / "main.go").read_text()
    assert '"healthcheck"' in main_go and "/healthz" in main_go
    # dapr.yaml's app port, on every interface (its sidecar shares the namespace in
    # compose; the kubelet probes the pod's address).
    env = env_of(image)
    assert env["APP_PORT"] == str(DAPR_APPS[app])
    assert env["APP_HOST"] == "0.0.0.0"
    assert [a for kw, a in image.instructions if kw == "EXPOSE"] == [str(DAPR_APPS[app])]
    users = [args for keyword, args in image.instructions if keyword == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), "a numeric non-root user"
    assert users[-1] == [a for kw, a in FINAL.instructions if kw == "USER"][-1], "as the others"


@pytest.mark.parametrize("app", GO_APPS)
def test_each_go_image_holds_the_event_contracts_where_contracts_dir_points(app: str) -> None:
    image = STAGE[app]
    [(sources, destination)] = image.copies()
    assert sources == ["contracts/events/*.schema.json"]
    landed = workdir(image, image.index("COPY", sources[0])) / destination
    contracts_dir = PurePosixPath(env_of(image)["CONTRACTS_DIR"])
    assert landed == workdir(image) / contracts_dir  # an absolute CONTRACTS_DIR stands alone
    schemas = sorted((ROOT / "contracts/events").glob("*.schema.json"))
    assert schemas and all(in_context(p.relative_to(ROOT).as_posix()) for p in schemas)
