"""The gateway's OpenAPI document tells the truth: Schemathesis generates requests from the
running gateway's /openapi.json (valid and invalid, with and without the token) and checks
every answer against it, with every check on (tests/system/schemathesis.toml)."""

import json
import subprocess
import sys
from pathlib import Path

from tests.system.launcher import Sidecar
from tests.system.shopper import Shopper

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("st")
# About a minute here; the deadline leaves room for a slow machine.
DEADLINE_SECONDS = 600


def test_the_gateway_answers_as_its_openapi_document_says(
    gateway: Sidecar, shopper: Shopper, product: str, tmp_path: Path
) -> None:
    assert SCHEMATHESIS.exists(), f"{SCHEMATHESIS} is missing: run `make setup` (uv sync)"
    # A buyer with an order and something in the cart: the document's links then lead
    # Schemathesis from the order list to a real order, and a checkout can succeed.
    assert shopper.put_in_cart(product, 1).status_code == 200
    assert shopper.check_out().status_code == 201
    assert shopper.put_in_cart(product, 1).status_code == 200
    report = tmp_path / "report.json"
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{gateway.app_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {shopper.token}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    try:
        run = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE_SECONDS
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"Schemathesis ran over {DEADLINE_SECONDS} s: lower generation.max-examples in "
            f"{CONFIG.name}, or find what in the gateway is slow"
        ) from exc
    # The findings, each with a curl command that reproduces it, are in its output.
    assert run.returncode == 0, f"Schemathesis found problems:\n{run.stdout[-20_000:]}"
    summary = json.loads(report.read_text())
    assert summary["operations"]["tested"] == summary["operations"]["total"] == 15
    assert {phase["status"] for phase in summary["phases"].values()} == {"success"}
    assert summary["test_cases"]["generated"] > 500
