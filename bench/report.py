"""The benchmark's outputs: <profile>.json (everything measured), <profile>.md (tables),
<profile>-browse.png (throughput and p99 by concurrency), and README.md, rebuilt from
every <profile>.json in the folder with each target met or missed, and by how much.

    .venv/bin/python -m bench.report docs/benchmarks   # rebuild README.md only
"""

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.browse import ENDPOINTS, MODES
from tests.system.launcher import SERVICES


def write(out: Path, result: dict[str, Any]) -> None:
    profile = result["profile"]
    (out / f"{profile}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{profile}.md").write_text(profile_page(result))
    plot_browse(result, out / f"{profile}-browse.png")
    write_readme(out)


# --- targets --------------------------------------------------------------------------


def targets(result: dict[str, Any], redis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each goal of the benchmark issue, against this profile's figures. `redis`: the
    redis profile's result, the reference of kafka-postgres's checkout goal."""
    rows = []

    def goal(name: str, measured: float, limit: float, unit: str, at_least: bool) -> None:
        met = measured >= limit if at_least else measured <= limit
        gap = abs(measured - limit) / limit
        miss = "" if met else f"{gap:.0%} {'short' if at_least else 'over'}"
        rows.append(
            {
                "target": name,
                "goal": f"{'≥' if at_least else '≤'} {limit:g} {unit}",
                "measured": f"{measured:.1f} {unit}",
                "met": met,
                "miss": miss,
            }
        )

    browse = {(r["endpoint"], r["mode"], r["concurrency"]): r for r in result["browse"]}
    tax = {(t["endpoint"], t["concurrency"]): t for t in result["sidecar_tax"]}
    for endpoint in ENDPOINTS:
        at32 = browse.get((endpoint, "sidecars", 32))
        if at32:
            goal(f"browse {endpoint}, 32 concurrent: throughput", at32["rps"], 1500, "req/s", True)
            goal(f"browse {endpoint}, 32 concurrent: p99", at32["p99_ms"], 50, "ms", False)
            ratio = tax[(endpoint, 32)]["throughput_ratio"]
            goal(f"browse {endpoint}, 32 concurrent: sidecar tax", ratio, 1.5, "x", False)
    checkout = result["checkout"]
    if result["profile"] == "redis":
        goal("checkout: completed", checkout["completed_per_second"], 150, "/s", True)
    elif redis:
        half = redis["checkout"]["completed_per_second"] / 2
        completed = checkout["completed_per_second"]
        goal("checkout: completed (≥ half of redis's)", completed, half, "/s", True)
    goal("checkout: end-to-end p99", checkout["end_to_end_ms"]["p99"], 500, "ms", False)
    events_limit = 50 if result["profile"] == "redis" else 100
    for case in ("one_subscriber", "fanout_to_three"):
        p99 = result["events"][case]["p99"]
        goal(f"events {case.replace('_', ' ')}: p99", p99, events_limit, "ms", False)
    if result.get("startup"):
        goal("`make run` until all ready", result["startup"]["all_ready_seconds"], 20, "s", False)
    idle = result["memory_mb"]["idle"]
    goal("largest idle service", max(idle[s] for s in SERVICES), 80, "MB", False)
    return rows


# --- pages ----------------------------------------------------------------------------


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def targets_table(rows: list[dict[str, Any]]) -> str:
    return table(
        ["target", "goal", "measured", "met"],
        [[r["target"], r["goal"], r["measured"], "yes" if r["met"] else f"**no**, {r['miss']}"]
         for r in rows],
    )  # fmt: skip


def profile_page(result: dict[str, Any]) -> str:
    m = result["machine"]
    parts = [
        f"# Benchmark: profile `{result['profile']}`\n",
        f"{result['date']}, commit `{result['commit']}`, {result['run_seconds']} s. "
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}, daprd {m['daprd']}.\n",
    ]
    if result["smoke"]:
        parts.append("\n**A smoke run: these figures show the harness works, nothing else.**\n")
    parts += [
        "\n## Browse\n\n`sidecars`: client → gateway → daprd → daprd → catalog. "
        "`direct`: client → gateway → catalog over HTTP. `catalog`: client → catalog. "
        "CPU per request is summed over every app and every sidecar of the shop.\n\n",
        table(
            ["endpoint", "conc.", "mode", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors",
             "app CPU ms/req", "sidecar CPU ms/req", "wrk CPU"],
            [[r["endpoint"], r["concurrency"], r["mode"], f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}",
              f"{r['p90_ms']:.1f}", f"{r['p99_ms']:.1f}", r["errors"],
              f"{r['app_cpu_ms_per_request']:.2f}", f"{r['sidecar_cpu_ms_per_request']:.2f}",
              f"{r['wrk_cpu_share']:.0%}"] for r in result["browse"]],
        ),
        "\n### Sidecar tax (sidecars against direct, same run)\n\n",
        table(
            ["endpoint", "conc.", "throughput: direct / sidecars", "p99: sidecars / direct"],
            [[t["endpoint"], t["concurrency"], f"{t['throughput_ratio']:.2f}x",
              f"{t['p99_ratio']:.2f}x"] for t in result["sidecar_tax"]],
        ),
    ]  # fmt: skip
    c = result["checkout"]
    parts += [
        "\n## Checkout\n\nFrom the POST to the order being paid (the order's own `updated_at`), "
        f"{c['checkouts']} buyers at {c['concurrency']} concurrent.\n\n",
        table(
            ["completed/s", "end-to-end p50", "p90", "p99", "POST p50", "POST p99", "driver CPU"],
            [[f"{c['completed_per_second']:.1f}", f"{c['end_to_end_ms']['p50']:.0f} ms",
              f"{c['end_to_end_ms']['p90']:.0f} ms", f"{c['end_to_end_ms']['p99']:.0f} ms",
              f"{c['post_ms']['p50']:.0f} ms", f"{c['post_ms']['p99']:.0f} ms",
              f"{c['driver_cpu_share']:.0%}"]],
        ),
        "\n## Events\n\nPublish to handled, at a fixed rate. `direct`: POSTed to the "
        "subscriber app, no sidecar, no broker.\n\n",
        table(
            ["case", "messages", "rate/s", "p50 ms", "p90 ms", "p99 ms", "max ms"],
            [[case, e["messages"], e["rate_per_second"], f"{e['p50']:.1f}", f"{e['p90']:.1f}",
              f"{e['p99']:.1f}", f"{e['max']:.1f}"] for case, e in result["events"].items()],
        ),
        "\n## Memory (resident MB)\n\n",
        table(
            ["process", "idle", "peak under load"],
            [[name, mb, result["memory_mb"]["peak_under_load"][name]]
             for name, mb in result["memory_mb"]["idle"].items()],
        ),
    ]  # fmt: skip
    if result.get("startup"):
        s = result["startup"]
        ready = ", ".join(f"{k} {v}s" for k, v in s["ready_seconds"].items())
        parts.append(f"\n## Start-up\n\n`make run` until every service is ready: "
                     f"**{s['all_ready_seconds']} s** ({ready}).\n")  # fmt: skip
    parts.append(f"\n![browse](./{result['profile']}-browse.png)\n")
    return "".join(parts)


def write_readme(out: Path) -> None:
    results = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    redis = results.get("redis")
    parts = [
        "# Benchmarks\n\n",
        "Written by `make bench PROFILE=<profile>` (bench/; a run takes about ten minutes). "
        "Every figure is measured beside its baseline in the same run on the same machine, "
        "so ratios hold when the machine is noisy; absolute figures are this machine's. "
        "Load comes from wrk (compiled; its CPU share is in the tables) or, for checkouts, "
        "which need a token per buyer, from an asyncio client whose CPU is reported too. "
        "Tracing is sampled at 0 in the benchmark, the gateway's rate limit is lifted and "
        "its product cache is off, so every browse request reaches the catalog.\n\n",
        "Where the time goes, and what these numbers changed: [analysis.md](./analysis.md).\n",
    ]
    for profile, result in results.items():
        m = result["machine"]
        parts += [
            f"\n## `{profile}`: [tables](./{profile}.md), [JSON](./{profile}.json)\n\n",
            f"{result['date']}, commit `{result['commit']}`; {m['cpu']}, {m['cores']} cores, "
            f"{m['memory_gib']} GiB.{' **Smoke run.**' if result['smoke'] else ''}\n\n",
            targets_table(targets(result, redis if profile != "redis" else None)),
            f"\n![browse, {profile}](./{profile}-browse.png)\n",
        ]
    (out / "README.md").write_text("".join(parts))


def plot_browse(result: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(2, len(ENDPOINTS), figsize=(15, 7), squeeze=False)
    figure.suptitle(f"Browse on '{result['profile']}': throughput and p99 by concurrency")
    for column, endpoint in enumerate(ENDPOINTS):
        for mode in MODES:
            rows = [r for r in result["browse"] if r["endpoint"] == endpoint and r["mode"] == mode]
            levels = [r["concurrency"] for r in rows]
            axes[0][column].plot(levels, [r["rps"] for r in rows], marker="o", label=mode)
            axes[1][column].plot(levels, [r["p99_ms"] for r in rows], marker="o", label=mode)
        axes[0][column].set_title(endpoint)
        axes[0][column].set_ylabel("requests/s")
        axes[1][column].set_ylabel("p99 ms")
        axes[1][column].set_xlabel("concurrent connections")
        for axis in (axes[0][column], axes[1][column]):
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


if __name__ == "__main__":
    write_readme(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/benchmarks"))
