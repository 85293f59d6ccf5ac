"""The observability files under observability/: the dashboards are what their script
writes, the Prometheus configurations and alert rules pass promtool, the local and
compose scrape targets are every app and sidecar of dapr.yaml, and every metric the
dashboards and rules query is one a service declares: the Python services' and shipping's
(Go) under the same names and labels."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from shop_dapr import metrics as python_metrics

from observability.grafana import dashboards

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "observability" / "prometheus"
DAPR_APPS = {a["appID"]: a for a in yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]}
SHIPPING_METRICS = ROOT / "services" / "shipping" / "metrics.go"
# Shipping's own metrics the overview shows (services/shipping/metrics.go).
SHIPPING_ON_THE_OVERVIEW = {
    "shop_shipments_created_total",
    "shop_shipping_events_published_total",
    "shop_shipping_events_refused_total",
    "shop_shipping_open_shipments",
}
# What a histogram or a counter's name becomes in the exposition.
SUFFIXES = ("_bucket", "_sum", "_count", "_created")


def test_the_dashboard_files_are_what_the_script_writes() -> None:
    for name, content in dashboards.DASHBOARDS.items():
        path = ROOT / "observability" / "grafana" / "dashboards" / name
        assert path.read_text() == dashboards.rendered(content), (
            f"{path} is stale: run `python observability/grafana/dashboards.py`"
        )


def test_every_panel_reads_the_provisioned_data_source() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "observability/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uids = {source["uid"] for source in provisioned["datasources"]}
    for content in dashboards.DASHBOARDS.values():
        for panel in content["panels"]:
            assert panel["datasource"]["uid"] in uids
            assert panel["targets"], panel["title"]


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: `tools/infra.sh up redis` installs prometheus (apt)")
    return found


@pytest.mark.parametrize("config", ["local.yml", "compose.yml"])
def test_the_prometheus_configurations_and_rules_pass_promtool(config: str) -> None:
    # Debian's promtool has no Kubernetes discovery, so kubernetes.yml is left to
    # test_the_kubernetes_scrape_keeps_shop_pods_only.
    result = subprocess.run(
        [promtool(), "check", "config", str(PROMETHEUS / config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_the_kubernetes_scrape_keeps_shop_pods_only() -> None:
    config = yaml.safe_load((PROMETHEUS / "kubernetes.yml").read_text())
    ports = {}
    for job in config["scrape_configs"]:
        rules = job["relabel_configs"]
        kept = {r["source_labels"][0]: r["regex"] for r in rules if r.get("action") == "keep"}
        assert kept["__meta_kubernetes_pod_annotation_dapr_io_enabled"] == "true"
        ports[job["job_name"]] = kept["__meta_kubernetes_pod_container_port_name"]
    # The app container's port name in k8s/base, and the name daprd's injector gives its own.
    assert ports == {"apps": "http", "sidecars": "dapr-metrics"}


def test_the_local_scrape_targets_are_the_ports_of_dapr_yaml() -> None:
    apps = yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    config = yaml.safe_load((PROMETHEUS / "local.yml").read_text())
    targets = {
        job["job_name"]: {
            (static["labels"]["service"], static["targets"][0]) for static in job["static_configs"]
        }
        for job in config["scrape_configs"]
    }
    assert targets == {
        "apps": {(a["appID"], f"127.0.0.1:{a['appPort']}") for a in apps},
        "sidecars": {(a["appID"], f"127.0.0.1:{a['metricsPort']}") for a in apps},
    }


def test_the_compose_scrape_targets_are_the_compose_services() -> None:
    config = yaml.safe_load((PROMETHEUS / "compose.yml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    apps = {app_id: app["appPort"] for app_id, app in DAPR_APPS.items()}
    for job in config["scrape_configs"]:
        scraped = set()
        for static in job["static_configs"]:
            service = static["labels"]["service"]
            port = apps[service] if job["job_name"] == "apps" else 9090
            assert static["targets"] == [f"{service}:{port}"]
            assert service in compose, f"{service} is no compose service"
            scraped.add(service)
        # Every app and sidecar, none twice.
        assert scraped == set(apps) and len(job["static_configs"]) == len(apps), job["job_name"]


def _queried_metrics() -> set[str]:
    """The shop_ metrics the dashboards and the alert rules query (daprd's are daprd's)."""
    expressions = [
        target["expr"]
        for content in dashboards.DASHBOARDS.values()
        for panel in content["panels"]
        for target in panel["targets"]
    ]
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    expressions += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return {name for expr in expressions for name in re.findall(r"\b(shop_\w+)", expr)}


def _go_metrics(path: Path) -> dict[str, tuple[str, ...]]:
    """A Go service's metrics, name -> label names, from its NewMetrics (prometheus.New*
    with CounterOpts{Name: ...}, then the []string of label names of a *Vec)."""
    source = path.read_text()
    start = source.index("func NewMetrics(")
    body = source[start : source.index("\n}\n", start)]
    found = {}
    chunks = re.split(r'\bName:\s*"(\w+)"', body)[1:]
    for name, rest in zip(chunks[::2], chunks[1::2], strict=True):
        labels = re.search(r"\[\]string\{([^}]*)\}", rest)
        found[name] = tuple(re.findall(r'"(\w+)"', labels[1])) if labels else ()
    assert found, f"no metric found in {path}: has NewMetrics changed?"
    return found


def _python_metrics() -> dict[str, tuple[str, ...]]:
    """The Python services' metrics (shop_dapr.metrics and each services/<app>/metrics.py),
    name -> label names."""
    found: dict[str, tuple[str, ...]] = {}
    sources = [ROOT / "libs/shop_dapr/metrics.py", *(ROOT / "services").glob("*/metrics.py")]
    for path in sources:
        for match in re.finditer(r'(?:Counter|Histogram|Gauge)\(\s*"(\w+)"', path.read_text()):
            found[match[1]] = ()
    # Label names from the live objects of the shared module.
    for value in vars(python_metrics).values():
        if hasattr(value, "_labelnames") and hasattr(value, "_name"):
            name = value._name + ("_total" if type(value).__name__ == "Counter" else "")
            found[name] = tuple(value._labelnames)
    return found


def test_every_queried_metric_is_declared_by_a_service() -> None:
    declared = set(_python_metrics()) | set(_go_metrics(SHIPPING_METRICS))
    # prometheus_client adds _total to a counter's name; histograms export _bucket etc.
    declared |= {f"{name}_total" for name in declared}
    queried = _queried_metrics()
    unknown = {
        name
        for name in queried
        if name not in declared and not any(name.removesuffix(s) in declared for s in SUFFIXES)
    }
    assert len(queried) >= 10 and not unknown, f"queried, declared by no service: {unknown}"


def test_shipping_serves_the_shared_metrics_under_the_python_names_and_labels() -> None:
    # So that every per-service panel (requests, errors, latency by route) and the event
    # flow's handled-by-outcome include shipping with no change.
    go = _go_metrics(SHIPPING_METRICS)
    python = _python_metrics()
    for name in (
        "shop_http_requests_total",
        "shop_http_request_duration_seconds",
        "shop_events_handled_total",
    ):
        assert go[name] == python[name], name
    # The same latency buckets, so that quantiles compare across services.
    go_source = SHIPPING_METRICS.read_text()
    [buckets] = re.findall(r"Buckets:\s*\[\]float64\{([^}]*)\}", go_source)
    python_buckets = python_metrics.REQUEST_SECONDS._upper_bounds[:-1]  # without +Inf
    assert [float(b) for b in buckets.split(",")] == python_buckets


def test_the_overview_shows_shippings_own_metrics() -> None:
    go = _go_metrics(SHIPPING_METRICS)
    assert set(go) >= SHIPPING_ON_THE_OVERVIEW, SHIPPING_ON_THE_OVERVIEW - set(go)
    overview = dashboards.DASHBOARDS["shop-overview.json"]
    shown = {
        name
        for panel in overview["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(shop_\w+)", target["expr"])
    }
    assert shown >= SHIPPING_ON_THE_OVERVIEW
    # Grouped by labels shipping gives them (topic, reason), or the scrape's own.
    for panel in overview["panels"]:
        for target in panel["targets"]:
            for name in set(re.findall(r"\b(shop_\w+)", target["expr"])) & SHIPPING_ON_THE_OVERVIEW:
                for labels in re.findall(r"by \(([^)]*)\)", target["expr"]):
                    wanted = {label.strip() for label in labels.split(",")}
                    assert wanted <= {*go[name], "service", "job", "instance"}, (name, wanted)
