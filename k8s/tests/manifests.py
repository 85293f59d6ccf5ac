"""Rendering and reading the manifests, and the schemas they are checked against."""

import copy
import functools
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
COMPONENTS = ROOT / "components"
PROFILES = ("redis", "kafka-postgres")
KUBECTL = ROOT / ".venv" / "bin" / "kubectl"
# Plain, as `kubectl apply -k`, Argo CD and Flux render by default: the components stay in
# components/, each folder a kustomization of its own, which kustomize may load from
# outside k8s/ with no flag.
KUSTOMIZE = (str(KUBECTL), "kustomize")
RENDER_TIMEOUT_SECONDS = 120
# The oldest of the three minors maintained next to kubectl 1.37 (1.35 to 1.37): nothing
# newer may be used. kubernetes-validate 1.37 ships schemas for 1.25 to 1.37.
KUBERNETES_VERSION = "1.35.0"
# What kustomize adds to every object it renders (k8s/base/kustomization.yaml).
NAMESPACE = "shop"
PART_OF = "app.kubernetes.io/part-of"

Obj = dict[str, Any]


def load(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@functools.cache
def render(target: str) -> tuple[Obj, ...]:
    """`kubectl kustomize` of a folder under k8s/, as docs/kubernetes.md runs it."""
    if not KUBECTL.exists():
        pytest.fail(f"{KUBECTL} is missing: run `make deps`")
    result = subprocess.run(
        [*KUSTOMIZE, str(K8S / target)],
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kustomize could not render k8s/{target}:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def is_dapr(obj: Obj) -> bool:
    return str(obj["apiVersion"]).startswith("dapr.io/")


def describe(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def of_kind(objects: tuple[Obj, ...], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def as_written(obj: Obj) -> Obj:
    """The object without what kustomize added: its namespace and the part-of label."""
    obj = copy.deepcopy(obj)
    metadata = obj["metadata"]
    metadata.pop("namespace", None)
    labels = metadata.get("labels", {})
    labels.pop(PART_OF, None)
    if not labels:
        metadata.pop("labels", None)
    return obj


def dapr_deployments(objects: tuple[Obj, ...]) -> dict[str, Obj]:
    """The Deployments with a Dapr sidecar, by app id."""
    found = {}
    for deployment in of_kind(objects, "Deployment"):
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        if annotations.get("dapr.io/enabled") == "true":
            found[annotations["dapr.io/app-id"]] = deployment
    return found


def app_container(deployment: Obj) -> Obj:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "app")


def pod_labels(deployment: Obj) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions) matches `labels`; an
    empty selector matches everything, as the API has it."""
    if not all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


# Dapr's injector splits dapr.io/env at each comma that starts a new NAME=
# (pkg/injector/patcher/sidecar_container.go), so values may hold commas of their own.
_ENV_SPLIT = re.compile(r",\s*(?=[A-Za-z_][A-Za-z0-9_]*=)")


def dapr_env(deployment: Obj) -> dict[str, str]:
    """The environment daprd gets from the dapr.io/env annotation."""
    raw = deployment["spec"]["template"]["metadata"]["annotations"].get("dapr.io/env", "")
    pairs = (part.strip().partition("=") for part in _ENV_SPLIT.split(raw) if part.strip())
    return {name: value.strip() for name, sep, value in pairs if sep}


def _dapr_crd_folder() -> Path:
    versions = (ROOT / "tools" / "versions.env").read_text()
    match = re.search(r"^DAPR_RUNTIME_VERSION=(\S+)$", versions, re.MULTILINE)
    assert match, "tools/versions.env names no DAPR_RUNTIME_VERSION"
    cache = os.environ.get("GOMODCACHE")
    if not cache:
        try:
            cache = subprocess.run(
                ["go", "env", "GOMODCACHE"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as exc:
            pytest.fail(f"cannot ask Go where its module cache is ({exc}): run `make runtime`")
    folder = Path(cache) / "github.com/dapr" / f"dapr@v{match[1]}" / "charts/dapr/crds"
    if not folder.is_dir():
        pytest.fail(
            f"Dapr's CRDs are not at {folder}: run `make runtime`, which downloads the dapr "
            "module (with the runtime already built: `cd tools/dapr && go mod download`)"
        )
    return folder


def _closed(schema: Obj) -> Obj:
    """The schema refusing unknown fields, as `kubectl apply` does (strict field
    validation), except where the CRD keeps them (x-kubernetes-preserve-unknown-fields)."""
    schema = dict(schema)
    if "properties" in schema:
        schema["properties"] = {name: _closed(sub) for name, sub in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            schema["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _closed(schema[key])
    return schema


@functools.cache
def dapr_schemas() -> dict[tuple[str, str], Obj]:
    """Dapr's own CRD schemas (openAPIV3Schema), closed, by (apiVersion, kind)."""
    schemas = {}
    for path in sorted(_dapr_crd_folder().glob("*.yaml")):
        for crd in load(path):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = _closed(schema)
    return schemas
