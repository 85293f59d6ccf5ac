"""The observability files under observability/: the dashboards are what their script
writes, the Prometheus configurations and alert rules pass promtool, and the local
scrape targets are the ports dapr.yaml gives every app and sidecar."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from observability.grafana import dashboards

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "observability" / "prometheus"


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
    apps = {
        a["appID"]: a["appPort"] for a in yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    }
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            service = static["labels"]["service"]
            port = apps[service] if job["job_name"] == "apps" else 9090
            assert static["targets"] == [f"{service}:{port}"]
