"""The built CLI: its versions, `dapr run -f` starting the services with the
project-local runtime (no `dapr init`), and `dapr invoke` and `dapr publish` against
that run, as the README shows them."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from tests.system.launcher import COMPONENT_ENV, PORTS, ROOT, mtls_env
from tests.system.shopper import eventually

pytestmark = pytest.mark.system

DAPR = ROOT / ".runtime" / ".dapr" / "bin" / "dapr"
PINS = dict(re.findall(r"^(\w+)=(\S+)", (ROOT / "tools" / "versions.env").read_text(), re.M))
RUN_FILE = yaml.safe_load((ROOT / "dapr.yaml").read_text())
GATEWAY = "http://127.0.0.1:8100"


def test_version_reports_the_pinned_cli_and_runtime() -> None:
    out = subprocess.run(
        [str(DAPR), "--version", "--runtime-path", str(ROOT / ".runtime")],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert f"CLI version: {PINS['DAPR_CLI_VERSION']}" in out
    assert f"Runtime version: {PINS['DAPR_RUNTIME_VERSION']}" in out


@pytest.mark.usefixtures("without_the_session_shop")
def test_run_file_starts_every_app_and_the_cli_reaches_them(profile: str) -> None:
    """As `make run SIDECAR_API_TOKEN=off` (tools/run.sh): the sidecars' API needs no
    token, since CLI 1.12 sends none; the apps' token, mTLS and access control stay."""
    apps = RUN_FILE["apps"]
    for port in [app["appPort"] for app in apps] + [app["daprHTTPPort"] for app in apps]:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} is in use: is `make run` running? Stop it first.")
    (ROOT / ".data" / "profile").unlink(missing_ok=True)
    (ROOT / ".data" / "profile").symlink_to(f"../components/{profile}")
    env = {
        **os.environ,
        "DAPR_RUNTIME_PATH": str(ROOT / ".runtime"),
        "DAPR_HOST_IP": "127.0.0.1",
        "DAPR_SCHEDULER_HOST_ADDRESS_DNS_A": f"127.0.0.1:{PORTS['SCHEDULER_PORT']}",
        **COMPONENT_ENV,
        **mtls_env(),
        "APP_API_TOKEN": "dapr-run-test-app-token",
    }
    env.pop("DAPR_API_TOKEN", None)
    log = (ROOT / ".data" / "logs" / "test-dapr-run.log").open("wb")
    run = subprocess.Popen(
        [str(DAPR), "run", "-f", "dapr.yaml"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        for app in apps:
            sidecar = f"http://127.0.0.1:{app['daprHTTPPort']}/v1.0/healthz"
            while not _healthy(sidecar):
                assert run.poll() is None, "dapr run exited: see .data/logs/test-dapr-run.log"
                assert time.monotonic() < deadline, f"{app['appID']} not ready within 180s"
                time.sleep(0.5)
        # `make health` sees every app and sidecar of the run.
        health = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "health.py")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert health.returncode == 0, health.stdout + health.stderr
        rows = [line.split() for line in health.stdout.splitlines()[1:]]
        assert rows == [[app["appID"], "ok", "ok"] for app in apps], health.stdout
        # The gateway reaches the catalog started by the same run file, by app id.
        answer = httpx.get(f"{GATEWAY}/api/v1/products/no-such-product", timeout=10)
        assert answer.status_code == 404
        assert answer.json() == {"detail": "product 'no-such-product' not found"}
        _invoke_and_publish_with_the_cli(env)
    finally:
        # The CLI stops its apps and sidecars on SIGTERM; SIGKILL is the backstop.
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
            raise
    assert not _healthy(f"{GATEWAY}/readyz"), "the gateway outlived `dapr run`"
    # The sidecars it ran stay in the SQLite name resolver until their registration is
    # 5 s old (its updateInterval); let them expire so later tests resolve app ids only
    # to the sidecars that are still running.
    time.sleep(6)


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(DAPR), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"dapr {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def _invoke_and_publish_with_the_cli(env: dict[str, str]) -> None:
    """The README's two commands: a product read through the catalog's own sidecar, and
    `catalog.product-changed` published through it, which the gateway's cache obeys."""
    product = _cli(env, "invoke", "--app-id", "catalog", "--method", "products/teapot",
                   "--verb", "GET")  # fmt: skip
    assert '"id":"teapot"' in product.replace(" ", ""), product

    def cached() -> str:
        return httpx.get(f"{GATEWAY}/api/v1/products/teapot", timeout=10).headers["X-Cache"]

    eventually(lambda: cached() == "hit", "the gateway to cache the teapot")
    published = _cli(env, "publish", "--publish-app-id", "catalog", "--pubsub", "broadcast",
                     "--topic", "catalog.product-changed",
                     "--data", '{"product_id": "teapot", "change": "upserted"}')  # fmt: skip
    assert "Event published successfully" in published, published
    # On Kafka the run's gateway may still be joining its consumer group.
    eventually(lambda: cached() == "miss", "the published event to evict the gateway's teapot", 60)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code in (200, 204)
    except httpx.TransportError:
        return False
