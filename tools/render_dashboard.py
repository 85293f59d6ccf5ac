"""Draws a Grafana dashboard file's panels from a running Prometheus, as a PNG: the
panels' own queries over the last minutes, two to a row, as Grafana lays them out.
For the docs' pictures where Grafana itself is not at hand (this project's machines
install Prometheus from apt; Grafana comes with compose and Kubernetes).

    .venv/bin/python tools/render_dashboard.py \\
        observability/grafana/dashboards/shop-overview.json --out docs/img/overview.png \\
        [--minutes 15] [--var service=orders]
"""

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

DEFAULT_PROMETHEUS = "http://127.0.0.1:16090"


def query_range(prometheus: str, expr: str, minutes: int) -> list[dict[str, Any]]:
    end = time.time()
    answer = httpx.get(
        f"{prometheus}/api/v1/query_range",
        params={"query": expr, "start": end - minutes * 60, "end": end, "step": "15s"},
        timeout=30,
    )
    body = answer.json()
    if body.get("status") != "success":
        raise SystemExit(f"Prometheus refused {expr!r}: {body.get('error', answer.text)}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def render(
    dashboard: dict[str, Any], prometheus: str, minutes: int, variables: dict[str, str], out: Path
) -> None:
    panels = dashboard["panels"]
    origin = time.time() - minutes * 60
    rows = math.ceil(len(panels) / 2)
    figure, axes = plt.subplots(rows, 2, figsize=(14, 3.2 * rows), squeeze=False)
    title = dashboard["title"] + "".join(f"  ({k}={v})" for k, v in variables.items())
    figure.suptitle(f"{title}, last {minutes} min", fontsize=14)
    for axis, panel in zip(axes.flat, panels, strict=False):
        axis.set_title(
            f"{panel['title']} [{panel['fieldConfig']['defaults']['unit']}]", fontsize=10
        )
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in variables.items():
                expr = expr.replace(f"${name}", value)
            for series in query_range(prometheus, expr, minutes):
                times = [float(t) for t, _ in series["values"]]
                values = [float(v) for _, v in series["values"]]
                label = legend(target.get("legendFormat", ""), series["metric"])
                axis.plot([(t - origin) / 60 for t in times], values, label=label)
        if axis.lines:
            axis.legend(fontsize=7, loc="upper left")
        else:
            axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
        axis.set_xlabel("minutes into the window", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(out, dpi=80)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dashboard", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prometheus", default=DEFAULT_PROMETHEUS)
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--var", action="append", default=[], help="name=value")
    args = parser.parse_args()
    try:
        httpx.get(f"{args.prometheus}/-/ready", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        sys.exit(f"no Prometheus at {args.prometheus} ({exc}): `make infra-up` starts one")
    variables = dict(v.split("=", 1) for v in args.var)
    render(
        json.loads(args.dashboard.read_text()), args.prometheus, args.minutes, variables, args.out
    )


if __name__ == "__main__":
    main()
