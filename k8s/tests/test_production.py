"""What makes the overlays production-grade, checked offline: two replicas or more of each
Deployment, a PodDisruptionBudget and a host anti-affinity for each, autoscalers for the
stateless ones, NetworkPolicies that open only what each pod needs, images under one
version tag, and ephemeral storage bounded for every container (docs/kubernetes.md)."""

import re
import tomllib
from typing import Any

import pytest
import yaml
from gateway.settings import Settings as GatewaySettings

from .manifests import (
    K8S,
    PROFILES,
    ROOT,
    Obj,
    app_container,
    dapr_deployments,
    describe,
    load,
    of_kind,
    pod_labels,
    render,
    selects,
)

OVERLAYS = [f"overlays/{profile}" for profile in PROFILES]
# Any replica serves any request: the CPU decides how many run. The others keep a fixed
# count, each for a reason its own file gives (orders' sweeper and workflows,
# notifications' WebSockets, shipping's carrier sweeper).
AUTOSCALED = {"gateway", "identity", "catalog", "cart", "payments"}
FIXED_REPLICAS = 2
MIN_REPLICAS = 2
HOSTNAME = "kubernetes.io/hostname"
PART_OF_SHOP = {"app.kubernetes.io/part-of": "shop"}
# daprd's ports that other pods may reach: the internal gRPC port of sidecar-to-sidecar
# invocation, and the metrics port (pod-defaults.yaml's dapr.io/metrics-port). Its HTTP
# (3500) and gRPC (50001) APIs listen on loopback only and are never opened.
DAPRD_INTERNAL_GRPC = 50002
DAPRD_METRICS = 9090

# A peer of a NetworkPolicy rule: (namespaceSelector's labels, podSelector's labels),
# None where the rule leaves the selector out.
Peer = tuple[frozenset[tuple[str, str]] | None, frozenset[tuple[str, str]] | None]


def _labels(selector: Obj | None) -> frozenset[tuple[str, str]] | None:
    if selector is None:
        return None
    assert set(selector) <= {"matchLabels"}, f"by labels only: {selector}"
    return frozenset(selector.get("matchLabels", {}).items())


SHOP_PODS: Peer = (None, frozenset(PART_OF_SHOP.items()))
GATEWAY_PODS: Peer = (None, frozenset({("app.kubernetes.io/name", "gateway")}))
PROMETHEUS: Peer = (None, frozenset({("app.kubernetes.io/name", "prometheus")}))
MONITORING: Peer = (frozenset({("kubernetes.io/metadata.name", "monitoring")}), None)
INGRESS_NGINX: Peer = (
    frozenset({("kubernetes.io/metadata.name", "ingress-nginx")}),
    frozenset({("app.kubernetes.io/name", "ingress-nginx")}),
)


def _targets(objects: tuple[Obj, ...], selector: Obj) -> list[str]:
    """The Deployments whose pods a selector of the shop's namespace matches."""
    return [
        d["metadata"]["name"]
        for d in of_kind(objects, "Deployment")
        if selects(selector, pod_labels(d))
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_runs_two_replicas_or_more(overlay: str) -> None:
    objects = render(overlay)
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    for name, deployment in dapr_deployments(objects).items():
        replicas = deployment["spec"].get("replicas")
        if name in AUTOSCALED:
            # Named replicas would fight the autoscaler: each apply would reset its count.
            assert replicas is None, f"{name}: the autoscaler sets its replicas"
            assert autoscalers[name]["spec"]["minReplicas"] >= MIN_REPLICAS, name
        else:
            assert name not in autoscalers, f"{name} keeps a fixed count: no autoscaler"
            assert replicas == FIXED_REPLICAS, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_autoscalers_scale_the_stateless_deployments_on_cpu(overlay: str) -> None:
    objects = render(overlay)
    deployments = {d["metadata"]["name"] for d in of_kind(objects, "Deployment")}
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    assert sorted(h["spec"]["scaleTargetRef"]["name"] for h in autoscalers) == sorted(AUTOSCALED)
    for hpa in autoscalers:
        spec = hpa["spec"]
        assert hpa["apiVersion"] == "autoscaling/v2", describe(hpa)
        target = spec["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment"), describe(hpa)
        assert target["name"] in deployments, f"{describe(hpa)} targets no Deployment"
        assert MIN_REPLICAS <= spec["minReplicas"] < spec["maxReplicas"], describe(hpa)
        [metric] = spec["metrics"]
        assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
        assert 0 < metric["resource"]["target"]["averageUtilization"] <= 100
        # Utilisation is of the requests: every container must name a CPU request (the
        # app here, daprd by its annotation).
        [deployment] = [
            d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] == target["name"]
        ]
        assert app_container(deployment)["resources"]["requests"]["cpu"]
        assert deployment["spec"]["template"]["metadata"]["annotations"][
            "dapr.io/sidecar-cpu-request"
        ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateways_share_the_rate_limit_budget_at_their_minimum_count(overlay: str) -> None:
    # Each gateway pod limits on its own: together, at the autoscaler's minimum, they
    # give a client what one gateway gives by default (services/gateway/settings.py).
    objects = render(overlay)
    [gateway] = [d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] == "gateway"]
    [hpa] = [
        h
        for h in of_kind(objects, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == "gateway"
    ]
    env = {e["name"]: e.get("value") for e in app_container(gateway)["env"]}
    budget = GatewaySettings.model_fields
    pods = hpa["spec"]["minReplicas"]
    assert float(env["RATE_LIMIT_PER_SECOND"]) * pods == budget["rate_limit_per_second"].default
    assert int(env["RATE_LIMIT_BURST"]) * pods == budget["rate_limit_burst"].default


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_has_a_disruption_budget_of_its_own(overlay: str) -> None:
    objects = render(overlay)
    budgets = of_kind(objects, "PodDisruptionBudget")
    for budget in budgets:
        spec = budget["spec"]
        # One pod at a time: with two replicas, the other keeps serving.
        assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable") == 1, describe(budget)
        assert spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow", describe(budget)
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        covering = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert [b["metadata"]["name"] for b in covering] == [name], f"{name}: one budget of its own"
        assert _targets(objects, covering[0]["spec"]["selector"]) == [name], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_prefers_its_replicas_on_different_nodes(overlay: str) -> None:
    objects = render(overlay)
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        # Preferred: a one-node dev cluster must still run both replicas.
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti, name
        [term] = [
            t["podAffinityTerm"] for t in anti["preferredDuringSchedulingIgnoredDuringExecution"]
        ]
        assert term["topologyKey"] == HOSTNAME, name
        assert _targets(objects, term["labelSelector"]) == [name], f"{name}: its own pods only"


def _policies_of(objects: tuple[Obj, ...], deployment: Obj) -> list[Obj]:
    return [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], pod_labels(deployment))
    ]


def _port_number(deployment: Obj, port: int | str) -> int:
    """A policy's port as a number: a name is the app container's port of that name."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in app_container(deployment)["ports"]}
    assert port in named, f"{deployment['metadata']['name']} has no port named {port}"
    return int(named[port])


def _allowed(objects: tuple[Obj, ...], deployment: Obj) -> set[tuple[int, Peer]]:
    """(port, peer) pairs the NetworkPolicies let reach a Deployment's pods."""
    allowed = set()
    for policy in _policies_of(objects, deployment):
        assert policy["spec"]["policyTypes"] == ["Ingress"], describe(policy)
        for rule in policy["spec"].get("ingress", []):
            # A rule without peers or ports would open to every pod, or every port.
            assert rule.get("from") and rule.get("ports"), f"{describe(policy)}: too wide"
            for port in rule["ports"]:
                assert port.get("protocol", "TCP") == "TCP" and "endPort" not in port
                for peer in rule["from"]:
                    assert "ipBlock" not in peer, describe(policy)
                    key = (_labels(peer.get("namespaceSelector")), _labels(peer.get("podSelector")))
                    allowed.add((_port_number(deployment, port["port"]), key))
    return allowed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_open_only_what_each_pod_needs(overlay: str) -> None:
    objects = render(overlay)
    for app_id, deployment in dapr_deployments(objects).items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["dapr.io/metrics-port"]) == DAPRD_METRICS
        app_port = int(annotations["dapr.io/app-port"])
        # Ingress is denied by default: a policy selects the pod with no rule of its own.
        assert any("ingress" not in p["spec"] for p in _policies_of(objects, deployment)), app_id
        expected = {
            (DAPRD_INTERNAL_GRPC, SHOP_PODS),
            (app_port, PROMETHEUS),
            (app_port, MONITORING),
            (DAPRD_METRICS, PROMETHEUS),
            (DAPRD_METRICS, MONITORING),
        }
        if app_id == "gateway":
            expected.add((app_port, INGRESS_NGINX))
        if app_id == "notifications":
            # The gateway's relay of /ws/orders (NOTIFICATIONS_URL).
            expected.add((app_port, GATEWAY_PODS))
        assert _allowed(objects, deployment) == expected, app_id


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_select_existing_pods(overlay: str) -> None:
    objects = render(overlay)
    # The dev cluster's Prometheus shares the namespace; every other peer of this
    # namespace is a shop pod.
    neighbours = (*objects, *render("dev-infra"))
    shop_pods = [pod_labels(d) for d in dapr_deployments(objects).values()]
    assert all(selects({"matchLabels": PART_OF_SHOP}, labels) for labels in shop_pods)
    policies = of_kind(objects, "NetworkPolicy")
    assert policies
    for policy in policies:
        assert _targets(objects, policy["spec"]["podSelector"]), (
            f"{describe(policy)} selects no pod"
        )
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                if "namespaceSelector" not in peer:
                    found = _targets(neighbours, peer["podSelector"])
                    assert found, f"{describe(policy)}: no pod is {peer['podSelector']}"


def test_the_scrape_reaches_the_ports_the_policies_open() -> None:
    # Prometheus keeps the app container's port `http` and daprd's `dapr-metrics` (9090).
    config = yaml.safe_load((ROOT / "observability" / "prometheus" / "kubernetes.yml").read_text())
    kept = {
        rule["regex"]
        for job in config["scrape_configs"]
        for rule in job["relabel_configs"]
        if rule.get("action") == "keep"
        and rule["source_labels"] == ["__meta_kubernetes_pod_container_port_name"]
    }
    assert kept == {"http", "dapr-metrics"}
    [policy] = [
        p
        for p in load(K8S / "base" / "network-policies.yaml")
        if p["metadata"]["name"] == "metrics-from-prometheus"
    ]
    [rule] = policy["spec"]["ingress"]
    assert {p["port"] for p in rule["ports"]} == {"http", DAPRD_METRICS}


def _project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


def test_one_place_sets_the_images_tag() -> None:
    kustomization_path = K8S / "base" / "kustomization.yaml"
    kustomization: dict[str, Any] = load(kustomization_path)[0]
    tags = {image["name"]: image["newTag"] for image in kustomization["images"]}
    version = _project_version()
    assert set(tags.values()) == {version}, "every image under the project's version"
    # Written once in the file (a YAML anchor gives it to every image).
    assert kustomization_path.read_text().count(version) == 1
    # The Deployments name their images untagged, so no other place can set a tag.
    written = [
        container["image"]
        for resource in kustomization["resources"]
        if resource.endswith(".yaml")
        for obj in load(K8S / "base" / resource)
        if obj.get("kind") == "Deployment"
        for container in obj["spec"]["template"]["spec"]["containers"]
    ]
    assert sorted(written) == sorted(tags), "each image untagged, each one in images:"
    assert not any(re.search(r"[:@]", image) for image in written)
    # docs/kubernetes.md builds and loads the images under that tag.
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    assert re.findall(r"^TAG=(\S+)", docs, re.M) == [version]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_carry_a_version_tag_never_latest(overlay: str) -> None:
    for deployment in of_kind(render(overlay), "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            name, _, tag = container["image"].rpartition(":")
            assert name and tag == _project_version(), container["image"]
            # A version names one build for good: the node's copy is the right one.
            assert container["imagePullPolicy"] == "IfNotPresent", container["image"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_its_ephemeral_storage_bounded(overlay: str) -> None:
    objects = render(overlay)
    for deployment in of_kind(objects, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for bound in ("requests", "limits"):
                assert container["resources"][bound]["ephemeral-storage"], describe(deployment)
    # daprd, injected in the cluster, names none (Dapr 1.18 has no annotation for it):
    # the namespace's LimitRange gives every such container a request and a limit.
    [limit_range] = of_kind(objects, "LimitRange")
    [container_limits] = [
        item for item in limit_range["spec"]["limits"] if item["type"] == "Container"
    ]
    for bound in ("defaultRequest", "default"):
        assert container_limits[bound]["ephemeral-storage"], bound
    assert "max" not in container_limits and "min" not in container_limits, "defaults only"
