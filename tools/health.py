"""`make health`: every service of a running `make run` shop and its sidecar, at a glance.

Reads the ports from dapr.yaml, or from the run file given (`make health REPLICAS=2`:
.data/replicas/dapr.yaml, every instance); exits 1 when anything is not ready, naming
what."""

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

import yaml

RUN_FILE = Path(__file__).resolve().parents[1] / "dapr.yaml"


def probe(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback URLs)
            return "ok" if answer.status in (200, 204) else f"HTTP {answer.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except urllib.error.URLError as error:
        return "down" if isinstance(error.reason, ConnectionRefusedError) else str(error.reason)
    except OSError as error:  # a timeout, mostly
        return str(error) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-file", type=Path, default=RUN_FILE)
    apps = yaml.safe_load(parser.parse_args(argv).run_file.read_text())["apps"]
    failing = 0
    seen: dict[str, int] = {}
    print(f"{'service':<18}{'app /readyz':<22}{'sidecar /v1.0/healthz':<22}")
    for app in apps:
        # Instances of one app id come in turn (tools/run_file.py): gateway, gateway-2.
        seen[app["appID"]] = instance = seen.get(app["appID"], 0) + 1
        name = app["appID"] if instance == 1 else f"{app['appID']}-{instance}"
        app_state = probe(f"http://127.0.0.1:{app['appPort']}/readyz")
        sidecar_state = probe(f"http://127.0.0.1:{app['daprHTTPPort']}/v1.0/healthz")
        failing += (app_state != "ok") + (sidecar_state != "ok")
        print(f"{name:<18}{app_state:<22}{sidecar_state:<22}")
    if failing:
        logs = (
            ".dapr/logs/"
            if len(seen) == len(apps)
            else ".dapr/logs/, of instance k: .data/replicas/instance-k/.dapr/logs/"
        )
        print(f"{failing} not ready: is `make run` going? Logs: {logs}", file=sys.stderr)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
