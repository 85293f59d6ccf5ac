"""Browse: product by id, the first listing page and a search, at fixed concurrency
levels, each measured four ways back to back so that the machine's noise falls on all
alike:

- `cached`:   client -> the shop's gateway, whose cache answers (as a shopper gets it:
              evicted by catalog.product-changed, as shipped);
- `sidecars`: client -> gateway without cache -> its daprd -> catalog's daprd -> catalog;
- `direct`:   client -> gateway without cache -> catalog, over plain HTTP
              (bench/direct_gateway.py, for this comparison only);
- `catalog`:  client -> catalog alone.

The sidecar tax is sidecars over direct: the throughput ratio and the p99 ratio.
"""

from dataclasses import asdict
from typing import Any

from bench.shop import BenchShop, Process
from bench.wrk import WrkResult, run_wrk

# (path at the gateway, path at the catalog)
ENDPOINTS = {
    "product": ("/api/v1/products/teapot", "/products/teapot"),
    "listing": ("/api/v1/products", "/products"),
    "search": ("/api/v1/products?q=tea", "/products?q=tea"),
}
MODES = ("cached", "sidecars", "direct", "catalog")


def run_browse(
    shop: BenchShop, concurrency: list[int], seconds: float, processes: list[Process]
) -> list[dict[str, Any]]:
    assert shop.direct_gateway is not None and shop.uncached_gateway is not None
    catalog = shop.sidecars["catalog"]
    gateways = {
        "cached": shop.sidecars["gateway"].app_url,
        "sidecars": shop.uncached_gateway.app_url,
        "direct": shop.direct_gateway.app_url,
    }

    def target(mode: str, at_gateway: str, at_catalog: str) -> tuple[str, dict[str, str]]:
        if mode == "catalog":
            return catalog.app_url + at_catalog, {"dapr-api-token": catalog.app_token}
        return gateways[mode] + at_gateway, {}

    for mode in MODES:  # warm every path: connection pools and caches
        url, headers = target(mode, *ENDPOINTS["product"])
        run_wrk(url, 8, min(seconds, 2), headers)
    rows = []
    for endpoint, paths in ENDPOINTS.items():
        for connections in concurrency:
            for mode in MODES:
                url, headers = target(mode, *paths)
                cpu_before = {p.name: p.cpu_seconds() for p in processes}
                result = run_wrk(url, connections, seconds, headers)
                cpu = {p.name: p.cpu_seconds() - cpu_before[p.name] for p in processes}
                rows.append(row(endpoint, mode, connections, result, cpu))
                print(
                    f"  browse {endpoint:8} {mode:8} c={connections:<3} "
                    f"{result.rps:8.0f} req/s  p99 {result.p99_ms:7.1f} ms  "
                    f"errors {result.errors}",
                    flush=True,
                )
    return rows


def row(
    endpoint: str, mode: str, connections: int, result: WrkResult, cpu: dict[str, float]
) -> dict[str, Any]:
    """One measurement, with CPU milliseconds per request of the apps and the sidecars."""
    requests = max(result.requests, 1)
    sidecar_cpu = sum(v for k, v in cpu.items() if k.endswith("-sidecar"))
    app_cpu = sum(v for k, v in cpu.items() if not k.endswith("-sidecar"))
    return {
        "endpoint": endpoint,
        "mode": mode,
        "concurrency": connections,
        **{k: v for k, v in asdict(result).items() if k != "wrk_cpu_seconds"},
        "rps": result.rps,
        "wrk_cpu_share": result.wrk_cpu_seconds / result.seconds,
        "app_cpu_ms_per_request": 1000 * app_cpu / requests,
        "sidecar_cpu_ms_per_request": 1000 * sidecar_cpu / requests,
    }


def sidecar_tax(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each endpoint and concurrency: direct over sidecars in throughput, sidecars
    over direct in p99 (both above 1 when the sidecars cost something)."""
    by_key = {(r["endpoint"], r["concurrency"], r["mode"]): r for r in rows}
    taxes = []
    for (endpoint, connections, mode), through in by_key.items():
        if mode != "sidecars":
            continue
        direct = by_key[(endpoint, connections, "direct")]
        taxes.append(
            {
                "endpoint": endpoint,
                "concurrency": connections,
                "throughput_ratio": direct["rps"] / max(through["rps"], 1e-9),
                "p99_ratio": through["p99_ms"] / max(direct["p99_ms"], 1e-9),
            }
        )
    return taxes
