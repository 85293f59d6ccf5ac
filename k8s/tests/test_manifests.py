"""The Kubernetes manifests, checked offline: every overlay renders; every object is
valid (Kubernetes objects against the API's schemas, Dapr objects against Dapr's own
CRDs); and the manifests agree with dapr.yaml, dapr-config.yaml, components/, the
services' settings and k8s/dev-infra."""

import importlib
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute, APIWebSocketRoute
from gateway import api as gateway_api
from gateway import events as gateway_events
from gateway import updates as gateway_updates
from gateway.storefront import PAGES
from pydantic_settings import BaseSettings
from shop_dapr.apptoken import ALWAYS_OPEN

from .manifests import (
    COMPONENTS,
    K8S,
    KUBERNETES_VERSION,
    NAMESPACE,
    PROFILES,
    ROOT,
    Obj,
    app_container,
    as_written,
    dapr_deployments,
    dapr_env,
    dapr_schemas,
    describe,
    is_dapr,
    load,
    of_kind,
    render,
)

OVERLAYS = [f"overlays/{profile}" for profile in PROFILES]
SECRETS_EXAMPLE = K8S / "dev-infra" / "secrets.example.yaml"
PLACEHOLDER = "REPLACE-BEFORE-USE"
# Environment an app container may hold that no Settings class reads: uvicorn's own.
NOT_SETTINGS = frozenset({"FORWARDED_ALLOW_IPS"})
# A Go service's settings (services/<app>/*.go, LoadConfig): env.str/port/seconds("NAME",
# fallback[, zero allowed]) and getenv("NAME"), checked as the Go code checks them.
GO_SETTING = re.compile(
    r'\benv\.(str|port|seconds)\("(\w+)"(?:,[^,)]*,\s*(true|false))?|getenv\("(\w+)"\)'
)


def _objects(target: str) -> tuple[Obj, ...]:
    if target.endswith(".yaml"):
        return tuple(load(K8S / target))
    return render(target)


def _kubernetes_errors(obj: Obj) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path))}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [exc.message]
    return []


@pytest.mark.parametrize("target", [*OVERLAYS, "dev-infra", "dev-infra/secrets.example.yaml"])
def test_kubernetes_objects_are_valid(target: str) -> None:
    objects = [obj for obj in _objects(target) if not is_dapr(obj)]
    errors = [f"{describe(obj)}: {error}" for obj in objects for error in _kubernetes_errors(obj)]
    assert objects
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dapr_objects_match_dapr_crds(overlay: str) -> None:
    objects = [obj for obj in render(overlay) if is_dapr(obj)]
    assert {"Component", "Configuration", "Resiliency", "Subscription"} <= {
        obj["kind"] for obj in objects
    }
    errors = []
    for obj in objects:
        schema = dapr_schemas().get((obj["apiVersion"], obj["kind"]))
        if schema is None:
            errors.append(f"{describe(obj)}: Dapr has no CRD for {obj['apiVersion']}")
            continue
        for error in jsonschema.Draft7Validator(schema).iter_errors(obj):
            errors.append(f"{describe(obj)}: {error.json_path}: {error.message}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_app_of_the_run_file_is_deployed_with_its_id_and_port(overlay: str) -> None:
    apps = {app["appID"]: app["appPort"] for app in load(ROOT / "dapr.yaml")[0]["apps"]}
    objects = render(overlay)
    deployments = dapr_deployments(objects)
    services = {svc["metadata"]["name"]: svc for svc in of_kind(objects, "Service")}
    assert sorted(deployments) == sorted(apps)
    for app_id, port in apps.items():
        pod = deployments[app_id]["spec"]["template"]
        assert deployments[app_id]["metadata"]["name"] == app_id
        assert pod["metadata"]["annotations"]["dapr.io/app-port"] == str(port), app_id
        ports = {p["name"]: p["containerPort"] for p in app_container(deployments[app_id])["ports"]}
        assert ports.get("http") == port, app_id
        service_ports = services[app_id]["spec"]["ports"]
        assert {"name": "http", "port": port, "targetPort": "http"} in service_ports, app_id


def test_the_overlays_define_the_same_component_names() -> None:
    names = {
        overlay: sorted(c["metadata"]["name"] for c in of_kind(render(overlay), "Component"))
        for overlay in OVERLAYS
    }
    assert len(set(map(tuple, names.values()))) == 1, names


def _listed_component_files(folder: Path) -> set[Path]:
    """The files under components/ a kustomization lists, following its bases."""
    found = set()
    for entry in load(folder / "kustomization.yaml")[0].get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            found |= _listed_component_files(path)
        elif path.is_relative_to(COMPONENTS):
            found.add(path)
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_an_overlay_uses_the_repository_component_files(profile: str) -> None:
    local_secret_store = COMPONENTS / "common" / "secretstore.yaml"
    # Each components/ folder is a kustomization of its own (so that no render needs a
    # flag): every Dapr file of the two folders is listed, but the local secret store.
    expected = {
        path
        for folder in ("common", profile)
        for path in (COMPONENTS / folder).glob("*.yaml")
        if path.name != "kustomization.yaml"
    } - {local_secret_store}
    assert _listed_component_files(K8S / "overlays" / profile) == expected

    # Rendered, each of those files' objects is unchanged but for the namespace and label.
    rendered = {describe(obj): obj for obj in render(f"overlays/{profile}") if is_dapr(obj)}
    written = {describe(obj): obj for path in expected for obj in load(path)}
    for name, obj in written.items():
        assert as_written(rendered.pop(name)) == obj, name
    # Besides them: the cluster's Configuration, and the secret store swapped by name.
    assert sorted(rendered) == ["Component/secretstore", "Configuration/shop"]
    assert load(local_secret_store)[0]["metadata"]["name"] == "secretstore"
    assert rendered["Component/secretstore"]["spec"]["type"] == "secretstores.kubernetes"


def test_no_component_is_copied_into_k8s() -> None:
    copies = [
        f"{path.relative_to(ROOT)}: {describe(obj)}"
        for path in sorted(K8S.rglob("*.yaml"))
        if path != K8S / "base" / "secretstore.yaml"
        for obj in load(path)
        if obj.get("kind") == "Component"
    ]
    assert not copies, "use the files under components/ instead:\n" + "\n".join(copies)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_env_ref_of_a_component_is_in_its_apps_dapr_env(overlay: str) -> None:
    objects = render(overlay)
    env = {app_id: dapr_env(d) for app_id, d in dapr_deployments(objects).items()}
    used, missing = set(), []
    for component in of_kind(objects, "Component"):
        refs = [item["envRef"] for item in component["spec"]["metadata"] if "envRef" in item]
        used.update(refs)
        for app_id in component.get("scopes") or env:
            missing += [
                f"{describe(component)}: {ref} for {app_id}"
                for ref in refs
                if not env[app_id].get(ref)
            ]
    assert used, "no component reads its address by envRef: check components/"
    assert not missing, "\n".join(missing)


def _in_cluster_addresses(objects: tuple[Obj, ...]) -> list[tuple[str, str, str]]:
    """(where, host, port) of each address daprd is given: dapr.io/env and the tracing."""
    found = []
    for app_id, deployment in dapr_deployments(objects).items():
        env = dapr_env(deployment)
        for name, value in env.items():
            if name.endswith("_PORT"):
                continue
            for address in value.split(","):
                host, _, port = address.strip().partition(":")
                if name.endswith("_HOST") and not port:
                    port = env.get(name.removesuffix("_HOST") + "_PORT", "")
                found.append((f"{app_id} {name}", host, port))
    for config in of_kind(objects, "Configuration"):
        url = urlsplit(config["spec"]["tracing"]["zipkin"]["endpointAddress"])
        found.append((describe(config), url.hostname or "", str(url.port or "")))
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_addresses_daprd_is_given_are_dev_infra_services(overlay: str) -> None:
    services = {
        (svc["metadata"]["namespace"], svc["metadata"]["name"]): {
            p["port"] for p in svc["spec"]["ports"]
        }
        for svc in of_kind(render("dev-infra"), "Service")
    }
    wrong = []
    for where, host, port in _in_cluster_addresses(render(overlay)):
        match = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", host)
        ports = services.get((match[2], match[1])) if match else None
        if ports is None or (port and int(port) not in ports):
            wrong.append(f"{where}: {host}:{port} is no Service port of k8s/dev-infra")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_app_runs_the_image_docs_kubernetes_md_builds(overlay: str) -> None:
    # shop/<app>, from the Dockerfile: a Python service by its SERVICE build arg, a Go one
    # (a module, services/<app>/go.mod) by the stage of its name, as step 1 builds them.
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.M))
    [python] = re.findall(r'^PYTHON_SERVICES="([^"]*)"$', docs, re.M)
    [every] = re.findall(r'^SERVICES="([^"]*)"', docs, re.M)
    every = every.replace("$PYTHON_SERVICES", python)
    # The tag step 1 builds under (test_production checks it is the kustomization's).
    [tag] = re.findall(r"^TAG=(\S+)", docs, re.M)
    assert (
        "for s in $PYTHON_SERVICES; do docker build --build-arg SERVICE=$s -t shop/$s:$TAG" in docs
    )
    deployments = dapr_deployments(render(overlay))
    assert sorted(every.split()) == sorted(deployments), "step 1 builds and loads every image"
    for app_id, deployment in deployments.items():
        assert app_container(deployment)["image"] == f"shop/{app_id}:{tag}", app_id
        if (ROOT / "services" / app_id / "go.mod").is_file():
            assert app_id in stages, f"the Dockerfile has no stage {app_id}"
            assert f"docker build --target {app_id} -t shop/{app_id}:$TAG ." in docs
        else:
            assert (ROOT / "services" / app_id / "main.py").is_file(), app_id
            assert app_id in python.split(), app_id


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_the_health_routes_on_the_app_port(overlay: str) -> None:
    for app_id, deployment in dapr_deployments(render(overlay)).items():
        container = app_container(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        app_port = int(
            deployment["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-port"]
        )
        for probe, path in (
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ):
            get = container[probe]["httpGet"]
            assert get["path"] == path, f"{app_id} {probe}"
            assert ports.get(get["port"], get["port"]) == app_port, f"{app_id} {probe}"
        # The app starts serving only after its sidecar answers: the startup probe must
        # wait longer than the app waits for the sidecar.
        startup = container["startupProbe"]
        waits = {e["name"]: e.get("value") for e in container["env"]}
        budget = startup["periodSeconds"] * startup["failureThreshold"]
        assert budget > float(waits["DAPR_STARTUP_TIMEOUT_SECONDS"]), app_id


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_non_root_within_limits_with_the_shop_configuration(overlay: str) -> None:
    for app_id, deployment in dapr_deployments(render(overlay)).items():
        pod = deployment["spec"]["template"]
        annotations = pod["metadata"]["annotations"]
        container = app_container(deployment)
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True, app_id
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, app_id
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), app_id
            for resource in ("cpu", "memory"):
                assert annotations[f"dapr.io/sidecar-{resource}-{bound[:-1]}"], app_id
        assert annotations["dapr.io/config"] == "shop", app_id
        assert annotations["dapr.io/api-token-secret"], app_id
        assert annotations["dapr.io/app-token-secret"], app_id


def _go_settings(app_id: str) -> dict[str, tuple[str, bool]]:
    """A Go service's settings: name -> (kind, zero allowed), kind str, port or seconds."""
    found = {}
    for path in sorted((ROOT / "services" / app_id).glob("*.go")):
        if path.stem.endswith("_test"):
            continue
        for kind, name, zero, raw in GO_SETTING.findall(path.read_text()):
            found[name or raw] = (kind or "str", zero == "true")
    assert found, f"no settings found in services/{app_id}/*.go: has LoadConfig changed?"
    return found


def _go_value_errors(name: str, kind: str, zero_allowed: bool, value: str) -> list[str]:
    """What services/<app>/config.go would refuse in `value` (settings.port, .seconds)."""
    try:
        if kind == "port" and not 1 <= int(value) <= 65535:
            return [f"{name}={value!r}: not a port"]
        if kind == "seconds":
            number = float(value)
            if not (number > 0 or (zero_allowed and number == 0)) or number > 86400:
                return [f"{name}={value!r}: out of bounds"]
    except ValueError:
        return [f"{name}={value!r}: not a {kind}"]
    return []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_env_names_are_settings_with_valid_values(overlay: str) -> None:
    for app_id, deployment in dapr_deployments(render(overlay)).items():
        if (ROOT / "services" / app_id / "go.mod").is_file():
            go_settings = _go_settings(app_id)
            for variable in app_container(deployment)["env"]:
                name = variable["name"]
                assert name in go_settings, f"{app_id}: no setting reads {name}"
                if "value" in variable:
                    errors = _go_value_errors(name, *go_settings[name], variable["value"])
                    assert not errors, f"{app_id}: {errors}"
            continue
        settings: type[BaseSettings] = importlib.import_module(f"{app_id}.settings").Settings
        values = {}
        for variable in app_container(deployment)["env"]:
            name = variable["name"]
            if name in NOT_SETTINGS:
                continue
            assert name.lower() in settings.model_fields, f"{app_id}: no setting reads {name}"
            if "value" in variable:
                values[name.lower()] = variable["value"]
        settings(**values)  # raises if a value is out of the setting's bounds


def test_the_go_settings_reading_follows_config_go() -> None:
    settings = _go_settings("shipping")
    assert settings["APP_PORT"] == ("port", False)
    assert settings["DAPR_API_TOKEN"] == ("str", False)
    assert settings["SHIPPING_DISPATCH_DELAY_SECONDS"] == ("seconds", True)
    assert settings["DAPR_STARTUP_TIMEOUT_SECONDS"] == ("seconds", False)
    assert _go_value_errors("P", "port", False, "8107") == []
    assert _go_value_errors("P", "port", False, "70000")
    assert _go_value_errors("S", "seconds", False, "0") and not _go_value_errors(
        "S", "seconds", True, "0"
    )
    assert _go_value_errors("S", "seconds", True, "soon")


def test_the_cluster_configuration_keeps_in_step_with_dapr_config() -> None:
    standalone = load(ROOT / "dapr-config.yaml")[0]["spec"]
    [cluster] = [c["spec"] for c in of_kind(render("base"), "Configuration")]
    # Name resolution is Kubernetes' own in a cluster; tracing and metrics name
    # addresses that differ between a laptop and a cluster; mTLS is set by the Dapr
    # installation. Access control is the same but for where identities live.
    assert "nameResolution" not in cluster
    assert "mtls" not in cluster
    local_acl = json.dumps(standalone["accessControl"])
    in_cluster = local_acl.replace('"public"', '"cluster.local"').replace('"default"', '"shop"')
    assert cluster["accessControl"] == json.loads(in_cluster)
    shared = set(standalone) - {"nameResolution", "tracing", "metrics", "mtls", "accessControl"}
    for key in sorted(shared):
        assert cluster.get(key) == standalone[key], f"spec.{key} differs from dapr-config.yaml"
    assert float(cluster["tracing"]["samplingRate"]) > 0
    assert cluster["metrics"]["enabled"] is True


def _secret_store_reads(objects: tuple[Obj, ...]) -> set[str]:
    """Secrets daprd reads through `secretstore`: the components' secretKeyRefs, and what
    the Configuration lets the apps read through the secrets API."""
    names = set()
    for component in of_kind(objects, "Component"):
        for item in component["spec"]["metadata"]:
            if ref := item.get("secretKeyRef"):
                assert ref.get("key", ref["name"]) == ref["name"], "one key, named like its Secret"
                names.add(ref["name"])
    for config in of_kind(objects, "Configuration"):
        for scope in config["spec"].get("secrets", {}).get("scopes", []):
            names.update(scope.get("allowedSecrets", []))
    return names


def _pod_secret_refs(objects: tuple[Obj, ...]) -> set[tuple[str, str]]:
    """(Secret, key) pairs the kubelet puts into pods: Dapr's tokens, and secretKeyRef env."""
    refs = set()
    for deployment in of_kind(objects, "Deployment"):
        pod = deployment["spec"]["template"]
        annotations = pod["metadata"].get("annotations", {})
        for annotation in ("dapr.io/api-token-secret", "dapr.io/app-token-secret"):
            if annotation in annotations:
                refs.add((annotations[annotation], "token"))  # the key Dapr's injector reads
        for container in pod["spec"]["containers"]:
            for variable in container.get("env", []):
                if ref := variable.get("valueFrom", {}).get("secretKeyRef"):
                    refs.add((ref["name"], ref["key"]))
    return refs


def test_the_secrets_example_and_the_docs_provide_every_secret_read() -> None:
    needed = set()
    for target in [*OVERLAYS, "dev-infra"]:
        needed |= {(name, name) for name in _secret_store_reads(render(target))}
        needed |= _pod_secret_refs(render(target))
    example = {
        (secret["metadata"]["name"], key): value
        for secret in load(SECRETS_EXAMPLE)
        for key, value in secret["stringData"].items()
    }
    assert needed <= set(example), f"missing from {SECRETS_EXAMPLE.name}: {needed - set(example)}"
    assert all(PLACEHOLDER in value for value in example.values()), "placeholders only"
    assert not any("data" in secret for secret in load(SECRETS_EXAMPLE)), "stringData only"
    assert {s["metadata"]["namespace"] for s in load(SECRETS_EXAMPLE)} == {NAMESPACE}
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    created = set(re.findall(r"create secret generic ([\w-]+) --from-literal=([\w-]+)=", docs))
    assert created == set(example), "docs/kubernetes.md creates other secrets than the example"


def test_daprd_may_read_exactly_the_secrets_the_secret_store_serves() -> None:
    served = set().union(*(_secret_store_reads(render(overlay)) for overlay in OVERLAYS))
    [role] = of_kind(render("base"), "Role")
    assert set(role["rules"][0]["resourceNames"]) == served


def _route_paths(*routers: APIRouter) -> list[str]:
    return [
        route.path
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute | APIWebSocketRoute)
    ]


def _example(template: str) -> str:
    """A request path of a route template: /orders/{order_id} -> /orders/x."""
    return re.sub(r"\{[^}]+\}", "x", template)


# What clients ask the gateway for: the storefront's pages and assets (mounted at /assets
# by gateway/storefront.py), the API, its OpenAPI page, and /ws/orders.
PUBLIC_PATHS = [
    *map(_example, PAGES),
    "/assets/index-0.js",
    *map(_example, _route_paths(gateway_api.router, gateway_updates.router)),
    "/docs",
    "/openapi.json",
]
# What only the cluster asks: probes, scrapes, and deliveries from its sidecar.
INTERNAL_PATHS = [*ALWAYS_OPEN, *map(_example, _route_paths(gateway_events.router))]


def _ingress_backend(paths: list[Obj], request: str) -> str | None:
    """The Service an Ingress sends `request` to: an Exact path first, else the longest
    Prefix that matches it element by element (the Ingress API's rules)."""
    exact = [p for p in paths if p["pathType"] == "Exact" and p["path"] == request]
    prefixes = sorted(
        (
            p
            for p in paths
            if p["pathType"] == "Prefix"
            and (p["path"] == "/" or f"{request}/".startswith(f"{p['path'].rstrip('/')}/"))
        ),
        key=lambda p: len(p["path"]),
    )
    matched = exact or prefixes[-1:]
    return str(matched[0]["backend"]["service"]["name"]) if matched else None


def test_the_ingress_sends_what_clients_ask_to_the_gateway_and_nothing_else() -> None:
    objects = render("base")
    [ingress] = of_kind(objects, "Ingress")
    paths = [path for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert {p["backend"]["service"]["name"] for p in paths} == {"gateway"}
    assert {p["backend"]["service"]["port"]["name"] for p in paths} == {"http"}
    assert "/ws/orders" in PUBLIC_PATHS and "/" in PUBLIC_PATHS
    unrouted = [path for path in PUBLIC_PATHS if _ingress_backend(paths, path) != "gateway"]
    assert not unrouted, f"the gateway serves these, the Ingress does not route them: {unrouted}"
    exposed = [path for path in INTERNAL_PATHS if _ingress_backend(paths, path)]
    assert not exposed, f"for the cluster only, yet routed: {exposed}"
    # A client following its order on /ws/orders may wait minutes between updates.
    annotations = ingress["metadata"]["annotations"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 3600, timeout
    assert all(
        svc["spec"].get("type", "ClusterIP") == "ClusterIP" for svc in of_kind(objects, "Service")
    )


def test_the_ingress_path_matching_follows_the_ingress_api() -> None:
    paths = [
        {"path": "/", "pathType": "Exact", "backend": {"service": {"name": "root"}}},
        {"path": "/orders", "pathType": "Prefix", "backend": {"service": {"name": "orders"}}},
        {"path": "/orders/x", "pathType": "Prefix", "backend": {"service": {"name": "one"}}},
    ]
    assert _ingress_backend(paths, "/") == "root"
    assert _ingress_backend(paths, "/orders") == "orders"
    assert _ingress_backend(paths, "/orders/") == "orders"
    assert _ingress_backend(paths, "/orders/y") == "orders"
    assert _ingress_backend(paths, "/orders/x/z") == "one"
    assert _ingress_backend(paths, "/ordersx") is None
    assert _ingress_backend(paths, "/metrics") is None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_relays_the_websocket_to_the_notifications_app(overlay: str) -> None:
    # To the app through its Service, not to its sidecar: a WebSocket cannot pass through
    # Dapr service invocation.
    objects = render(overlay)
    deployments = dapr_deployments(objects)
    gateway = {e["name"]: e.get("value") for e in app_container(deployments["gateway"])["env"]}
    url = urlsplit(str(gateway["NOTIFICATIONS_URL"]))
    name, _, domain = (url.hostname or "").partition(".")
    assert url.scheme == "http"
    assert domain in {"", f"{NAMESPACE}.svc.cluster.local"}, "a Service of the shop's namespace"
    [service] = [s for s in of_kind(objects, "Service") if s["metadata"]["name"] == name]
    notifications = deployments["notifications"]
    pod_labels = notifications["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [port] = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    container_ports = {p["name"]: p["containerPort"] for p in app_container(notifications)["ports"]}
    apps = {app["appID"]: app["appPort"] for app in load(ROOT / "dapr.yaml")[0]["apps"]}
    assert container_ports.get(port["targetPort"], port["targetPort"]) == apps["notifications"]
