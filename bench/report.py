"""The benchmark's outputs: <profile>.json (everything measured), <profile>.md (tables),
<profile>-browse.png (throughput and p99 by concurrency), <profile>-checkout.png
(end-to-end p50 and p99, and the rate paid, by offered rate), and README.md, rebuilt from
every <profile>.json in the folder with each target met or missed, and by how much.

    .venv/bin/python -m bench.report docs/benchmarks   # rebuild README.md only
"""

import json
import sys
from collections.abc import Callable
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
    plot_checkout(result, out / f"{profile}-checkout.png")
    write_readme(out)


# --- targets --------------------------------------------------------------------------


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the benchmark issue, against this profile's figures."""
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
    for endpoint in ("product", "listing"):
        if cached := browse.get((endpoint, "cached", 32)):
            name = f"browse {endpoint}, cached, 32 concurrent"
            goal(f"{name}: throughput", cached["rps"], 1500, "req/s", True)
            goal(f"{name}: p99", cached["p99_ms"], 50, "ms", False)
    for endpoint, least in UNCACHED_GOALS.items():
        if through := browse.get((endpoint, "sidecars", 32)):
            name = f"browse {endpoint}, uncached, 32 concurrent"
            goal(f"{name}: throughput", through["rps"], least, "req/s", True)
            ratio = tax[(endpoint, 32)]["throughput_ratio"]
            goal(f"{name}: sidecar tax", ratio, 1.5, "x", False)
    for page, seen in result.get("price_change", {}).get("seen_ms", {}).items():
        goal(f"price change seen on the cached {page}: p99", seen["p99"], 1000, "ms", False)
    catalog_scale_targets(result.get("catalog_scale"), goal)
    if front := result.get("storefront"):
        usable = front["cold"]["usable_ms"]
        for key, name in (("p50", "median"), ("p95", "p95")):
            goal(f"storefront first page usable, cold: {name}", usable[key],
                 front["target_ms"], "ms", False)  # fmt: skip
        assets = front["assets"]
        goal("storefront JS + CSS, gzipped", assets["total_gzip_kb"], assets["budget_gzip_kb"],
             "kB", False)  # fmt: skip
    checkout_targets(result, goal, rows)
    events_limit = 50 if result["profile"] == "redis" else 100
    for case in ("one_subscriber", "fanout_to_three"):
        p99 = result["events"][case]["p99"]
        goal(f"events {case.replace('_', ' ')}: p99", p99, events_limit, "ms", False)
    if result.get("startup"):
        goal("`make run` until all ready", result["startup"]["all_ready_seconds"], 10, "s", False)
    idle = result["memory_mb"]["idle"]
    goal("largest idle service", max(idle[s] for s in SERVICES), 80, "MB", False)
    return rows


UNCACHED_GOALS = {"product": 600, "listing": 500, "search": 500}  # req/s
# A product write "must not grow with the catalog": its p99 may differ by noise only.
WRITE_GROWTH = 1.5


def catalog_scale_targets(scale: dict[str, Any] | None, goal: Any) -> None:
    """Each query's p99 at the large catalog within 2x of the small one's, by path; a
    write's p99 within WRITE_GROWTH."""
    if not scale:
        return
    small = {(r["endpoint"], r["mode"]): r for r in scale["small"]["browse"]}
    large = {(r["endpoint"], r["mode"]): r for r in scale["large"]["browse"]}
    size = f"{scale['large']['products']:,} against {scale['small']['products']} products"
    for key, row in large.items():
        ratio = row["p99_ms"] / max(small[key]["p99_ms"], 1e-9)
        goal(f"{key[0]} p99 ({key[1]}), {size}", ratio, 2, "x", False)
    growth = scale["large"]["write_ms"]["p99"] / max(scale["small"]["write_ms"]["p99"], 1e-9)
    goal(f"product write p99, {size}", growth, WRITE_GROWTH, "x", False)


def catalog_scale_section(result: dict[str, Any]) -> str:
    scale = result.get("catalog_scale")
    if not scale:
        return ""
    rows = []
    for size in ("small", "large"):
        figures = scale[size]
        for r in figures["browse"]:
            rows.append([f"{figures['products']:,}", r["endpoint"], r["mode"], f"{r['rps']:.0f}",
                         f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", r["errors"]])  # fmt: skip
    writes = [[f"{scale[size]['products']:,}", _ms(scale[size]["write_ms"], "p50"),
               _ms(scale[size]["write_ms"], "p99"), scale[size]["catalog_rss_mb"],
               f"{scale[f'{size}_load_seconds']:.1f}"] for size in ("small", "large")]  # fmt: skip
    return "".join(
        [
            "\n## A catalog that scales\n\nThe shop's products, then 100,000 synthetic ones "
            "written by the benchmark (bench/catalog_scale.py); 32 connections, uncached: "
            "`sidecars` through the gateway and both sidecars, `catalog` the catalog alone.\n\n",
            table(["products", "query", "path", "req/s", "p50 ms", "p99 ms", "errors"], rows),
            "\n",
            table(
                [
                    "products",
                    "admin write p50 ms",
                    "p99 ms",
                    "catalog RSS MB",
                    "catalog restart until ready, s",
                ],
                writes,
            ),
        ]
    )


def price_change_section(result: dict[str, Any]) -> str:
    fresh = result.get("price_change")
    if not fresh:
        return ""
    return "".join(
        [
            f"\n## Price change through the cache\n\n{fresh['changes']} price changes; from "
            "sending each until the cached page shows it (bench/freshness.py).\n\n",
            table(
                ["page", "p50 ms", "p99 ms", "max ms"],
                [
                    [page, _ms(s, "p50"), _ms(s, "p99"), _ms(s, "max")]
                    for page, s in fresh["seen_ms"].items()
                ],
            ),
        ]
    )


STOREFRONT_HEADER = ["load", "first byte p50", "DOMContentLoaded p50", "load p50", "usable p50",
                     "usable p95", "usable max", "transferred kB", "fetched"]  # fmt: skip


def storefront_section(result: dict[str, Any]) -> str:
    """The first page's loads, its target with the phases of the loads at the median and
    at p95 (what a miss is made of), and the built assets against their budget."""
    front = result.get("storefront")
    if not front:
        return ""
    rows = []
    for kind in ("cold", "warm", "bare"):
        f = front[kind]
        usable = f.get("usable_ms")
        rows.append([kind, *(f"{f[k]['p50']:.0f}" for k in
                             ("response_start_ms", "dom_content_loaded_ms", "load_ms")),
                     f"**{usable['p50']:.0f}**" if usable else "n/a",
                     *((f"{usable[k]:.0f}" for k in ("p95", "max")) if usable else ("n/a",) * 2),
                     f"{f['transfer_kb']:.1f}", f["fetched"]])  # fmt: skip
    target, p95 = front["target_ms"], front["cold"]["usable_ms"]["p95"]
    verdict = (
        f"**met**: usable p95 {p95:.0f} ms"
        if p95 <= target
        else f"**missed**: usable p95 {p95:.0f} ms, {p95 - target:.0f} ms over"
    )
    ratio = front["ratio_to_bare"]
    assets = front["assets"]
    budget = assets["budget_gzip_kb"]
    return "".join(
        [
            "\n## Storefront\n\nThe storefront's first page (`/`, the catalog) in Debian's "
            "chromium, headless, beside the shop on this machine (bench/storefront.py), "
            f"{front['loads']} loads of each kind, by the browser's own navigation timing: "
            "milliseconds from the start of each navigation. Usable: the catalog's "
            "`shop:catalog-ready` mark, once the first page of products is drawn. `cold`: a "
            "fresh browser context (empty cache); `warm`: a second page in the same context "
            "(the assets from its cache); `bare`, the baseline: the same page with JavaScript "
            "off (its HTML and stylesheet only).\n\n",
            table(STOREFRONT_HEADER, rows),
            f"\nUsable against the bare page's load (medians): cold {ratio['cold']:.2f}x, "
            f"warm {ratio['warm']:.2f}x: what the app's JavaScript (fetched, run, calling the "
            "API, drawing the products) adds above the page itself.\n\n"
            f"Target, usable within {target:g} ms cold: {verdict}. "
            + "; ".join(
                f"{name} load: {_phases(front['cold_at'][key])}"
                for key, name in (("p50", "The median"), ("p95", "the p95"))
            )
            + ".\n\n",
            f"Built assets (storefront/dist/assets), kB: JavaScript {assets['js']['raw_kb']:.1f} "
            f"raw, {assets['js']['gzip_kb']:.1f} gzipped ({assets['js']['files']} file(s)); CSS "
            f"{assets['css']['raw_kb']:.1f} raw, {assets['css']['gzip_kb']:.1f} gzipped; "
            f"together {assets['total_gzip_kb']:.1f} kB gzipped against a budget of {budget:g} "
            f"kB ({'within' if assets['total_gzip_kb'] <= budget else '**over**'}). The gateway "
            "sends them uncompressed: a cold load transfers the raw size.\n",
        ]
    )


def _phases(load: dict[str, float]) -> str:
    """A load's usable time as the sum of its phases."""
    first, ready = load["response_start_ms"], load["dom_content_loaded_ms"]
    usable = load["usable_ms"]
    return (
        f"{usable:.0f} ms = first byte {first:.0f} ms + page parsed, script fetched and run "
        f"{ready - first:.0f} ms + products fetched and drawn {usable - ready:.0f} ms"
    )


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
        "\n## Browse\n\n`cached`: client → gateway, answered from its cache. "
        "`sidecars`: client → gateway (no cache) → daprd → daprd → catalog. "
        "`direct`: client → gateway (no cache) → catalog over HTTP. `catalog`: client → catalog. "
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
    parts += [price_change_section(result), storefront_section(result)]
    parts.append(catalog_scale_section(result))
    parts += [checkout_section(result), checkout_styles_section(result)]
    parts += [
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


def checkout_targets(
    result: dict[str, Any], goal: Callable[[str, float, float, str, bool], None],
    rows: list[dict[str, Any]],
) -> None:  # fmt: skip
    """The open-loop checkout goals: p50 and p99 at 20/s, and the highest rate sustained
    with p99 under 1 s; redis's bounds are the stricter ones."""

    def unmet(target: str, wanted: str, measured: str, why: str) -> None:
        rows.append({"target": target, "goal": wanted, "measured": measured, "met": False,
                     "miss": why})  # fmt: skip

    sweep = result["checkout"]
    if "steps" not in sweep:  # a result of the closed loop this sweep replaced
        unmet("checkout, open loop", "a sweep of rates", "a closed-loop run", "rerun the bench")
        return
    redis = result["profile"] == "redis"
    at20 = next((s for s in sweep["steps"] if s["offered_per_second"] == 20), None)
    if at20 is not None and at20["end_to_end_ms"] is not None:
        e2e = at20["end_to_end_ms"]
        goal("checkout at 20/s: end-to-end p50", e2e["p50"], 150, "ms", False)
        goal("checkout at 20/s: end-to-end p99", e2e["p99"], 500 if redis else 1000, "ms", False)
    elif 20 in sweep["rates"]:  # planned, but the sweep stopped below it or nothing was paid
        unmet("checkout at 20/s: end to end", "p50 ≤ 150 ms", "not reached", sweep["stopped"])
    sustained = sweep["sustained_per_second"]
    goal("checkout: highest rate with p99 < 1 s", sustained, 60 if redis else 40, "/s", True)


STOREFRONT_MISSING = "\nThe storefront was not measured in this run (before bench/storefront.py).\n"


def write_readme(out: Path) -> None:
    results = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    parts = [
        "# Benchmarks\n\n",
        "Written by `make bench PROFILE=<profile>` (bench/; a run takes about seventeen "
        "minutes on this 2-core machine). "
        "Every figure is measured beside its baseline in the same run on the same machine, "
        "so ratios hold when the machine is noisy; absolute figures are this machine's. "
        "Load comes from wrk (compiled; its CPU share is in the tables) or, for checkouts, "
        "which need a token per buyer, from an asyncio client whose CPU is reported too. "
        "Tracing is sampled at 0 in the benchmark and the gateway's rate limit is lifted; "
        "browse is measured through the gateway's cache (as shipped) and without it. "
        "The storefront's first page is timed by the browser's own navigation timing "
        "(Debian's chromium, headless, bench/storefront.py): usable is the catalog's "
        "`shop:catalog-ready` mark, cold (a fresh browser context) and warm (its assets "
        "cached), beside the baseline of the same page with JavaScript off; its built "
        "JavaScript and CSS are weighed gzipped against their budget.\n\n",
        "Where the time goes, and what these numbers changed: [analysis.md](./analysis.md).\n",
    ]
    for profile, result in results.items():
        m = result["machine"]
        parts += [
            f"\n## `{profile}`: [tables](./{profile}.md), [JSON](./{profile}.json)\n\n",
            f"{result['date']}, commit `{result['commit']}`; {m['cpu']}, {m['cores']} cores, "
            f"{m['memory_gib']} GiB.{' **Smoke run.**' if result['smoke'] else ''}\n\n",
            targets_table(targets(result)),
            "" if result.get("storefront") else STOREFRONT_MISSING,
            checkout_styles_line(result),
            f"\n![browse, {profile}](./{profile}-browse.png)\n",
        ]
        if (out / f"{profile}-checkout.png").exists():
            parts.append(f"\n![checkout, {profile}](./{profile}-checkout.png)\n")
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


# --- checkout ---------------------------------------------------------------------------


def _ms(figures: dict[str, float] | None, key: str) -> str:
    return "n/a" if figures is None else f"{figures[key]:.0f}"


def checkout_section(result: dict[str, Any]) -> str:
    sweep = result["checkout"]
    steps = sweep["steps"]
    rates = [f"{s['offered_per_second']:g}/s" for s in steps]
    groups = list(dict.fromkeys(sweep["groups"].values()))
    stopped = (
        f"The sweep stopped: {sweep['stopped']}."
        if sweep["stopped"]
        else "No step stopped the sweep."
    )
    parts = [
        "\n## Checkout, open loop\n\n"
        f"Checkouts offered at a fixed arrival rate, each rate for {sweep['step_seconds']:g} s "
        "(the k-th sent at t0 + k/rate, whether or not earlier ones have returned). End to "
        "end: from the POST to the order being paid (the order's own `updated_at`). "
        f"{stopped} Highest rate sustained with p99 under {sweep['held_p99_ms'] / 1000:g} s, "
        f"every slower rate too: **{sweep['sustained_per_second']:g}/s**.\n\n",
        table(
            ["offered/s", "paid/s", "checkouts", "failed", "unpaid", "end-to-end p50 ms",
             "p90", "p99", "max", "POST p50 ms", "POST p99", "driver CPU", "driver lag max"],
            [[f"{s['offered_per_second']:g}", f"{s['completed_per_second']:.1f}", s["offered"],
              s["failed"], s["unfinished"], _ms(s["end_to_end_ms"], "p50"),
              _ms(s["end_to_end_ms"], "p90"), _ms(s["end_to_end_ms"], "p99"),
              _ms(s["end_to_end_ms"], "max"), _ms(s["post_ms"], "p50"), _ms(s["post_ms"], "p99"),
              f"{s['driver_cpu_share']:.0%}", f"{s['driver_lag_ms_max']:.0f} ms"]
             for s in steps],
        ),
        "\n### CPU milliseconds per checkout\n\n"
        "Each process's CPU over a step's arrivals, divided by the checkouts paid in that "
        "time; it includes the shop's background work meanwhile (orders' sweeper, the "
        "sidecars' own upkeep), which weighs more at low rates. "
        + _cpu_groups_note(sweep["groups"]) + "\n\n",
        table(
            ["group", *rates],
            [[g, *(f"{s['cpu_ms_per_checkout']['by_group'][g]:.1f}" for s in steps)]
             for g in groups]
            + [["**all**", *(f"**{sum(s['cpu_ms_per_checkout']['by_group'].values()):.1f}**"
                             for s in steps)]],
        ),
        "\n",
        table(
            ["process", "group", *rates],
            [[name, group, *(f"{s['cpu_ms_per_checkout']['by_process'][name]:.1f}" for s in steps)]
             for name, group in sweep["groups"].items()],
        ),
        f"\n![checkout](./{result['profile']}-checkout.png)\n",
    ]  # fmt: skip
    return "".join(parts)


def _cpu_groups_note(groups: dict[str, str]) -> str:
    backing = ", ".join(f"`{name}` ({group})" for name, group in groups.items()
                        if group not in ("apps", "sidecars"))  # fmt: skip
    note = f"apps and sidecars: the seven services and their daprd; backing services: {backing}."
    if "broker + store" in groups.values():
        note += " One redis-server is both the broker and the store: counted once."
    return note


# --- checkout styles ----------------------------------------------------------------


def checkout_styles_section(result: dict[str, Any]) -> str:
    """Both checkout styles at the same offered rates, and a crash of orders in each."""
    compared = result.get("checkout_styles")
    if not compared:
        return ""
    styles = compared["styles"]
    groups = list(dict.fromkeys(next(iter(styles.values()))["sweep"]["groups"].values()))
    rows = []
    for rate in compared["rates"]:
        for style, figures in styles.items():
            s = next((s for s in figures["sweep"]["steps"] if s["offered_per_second"] == rate),
                     None)  # fmt: skip
            if s is None:
                continue  # the sweep stopped below this rate: the sentence above says why
            cpu = s["cpu_ms_per_checkout"]["by_group"]
            rows.append([f"{rate:g}", style, f"{s['completed_per_second']:.1f}", s["failed"],
                         s["unfinished"], _ms(s["end_to_end_ms"], "p50"),
                         _ms(s["end_to_end_ms"], "p99"), _ms(s["post_ms"], "p50"),
                         _ms(s["post_ms"], "p99"), f"**{sum(cpu.values()):.1f}**",
                         *(f"{cpu[g]:.1f}" for g in groups)])  # fmt: skip
    stops = " ".join(
        f"The {style} sweep stopped: {f['sweep']['stopped']}."
        for style, f in styles.items()
        if f["sweep"]["stopped"]
    )
    crash_of = {style: figures["crash"] for style, figures in styles.items()}
    crashes = [[style, c["offered"], c["accepted"], c["not_accepted"], c["with_errors"],
                c["error_answers"], f"{c['orders_ready_seconds']:.1f}",
                f"{c['settled_seconds']:.1f}" if c["settled_seconds"] is not None
                else f"**missing** (deadline {c['settle_deadline_seconds']:g} s)",
                c["paid"], c["cancelled"], c["unsettled"]]
               for style, c in crash_of.items()]  # fmt: skip
    crash = next(iter(crash_of.values()))
    sweep_header = ["offered/s", "style", "paid/s", "failed", "unpaid", "end-to-end p50 ms",
                    "p99", "POST p50 ms", "POST p99", "CPU ms/checkout", *groups]  # fmt: skip
    crash_header = ["style", "checkouts", "accepted", "not accepted", "met an error",
                    "error answers", "orders up again after, s", "all settled after, s", "paid",
                    "cancelled", "unsettled at deadline"]  # fmt: skip
    errors = "; ".join(
        f"{style}: `{c['errors'][0][:120]}`" for style, c in crash_of.items() if c["errors"]
    )
    return "".join(
        [
            "\n## Checkout styles: choreography and workflow\n\n"
            "Orders' two checkout styles (`CHECKOUT_STYLE`) on the same shop, one after the "
            "other, each on an orders app freshly restarted into it (bench/checkout_styles.py). "
            f"The same open-loop sweep as above, each rate for {compared['step_seconds']:g} s. "
            "End to end: from the POST to the order being paid; POST: until it is accepted. "
            "CPU milliseconds per checkout over the whole shop, grouped as above."
            + (f" {stops}" if stops else "")
            + "\n\n",
            table(sweep_header, rows),
            f"\n### Orders killed during checkouts\n\nCheckouts arriving at "
            f"{crash['rate_per_second']:g}/s for {crash['seconds']:g} s; the orders app "
            f"SIGKILLed {crash['killed_after_seconds']:g} s in and started again at once. "
            "Buyers retry a failed POST with the same Idempotency-Key (a transport error, a "
            f"5xx or a 429) for up to {crash['retry_seconds']:g} s: accepted means a 201 or "
            "200 in the end. Settled: paid or cancelled, timed from the kill to the last "
            "order's `updated_at`.\n\n",
            table(crash_header, crashes),
            f"\nAn error the buyers met: {errors}.\n" if errors else "",
        ]
    )


def checkout_styles_line(result: dict[str, Any]) -> str:
    """One line for README.md: both styles at the highest rate both held (every
    checkout paid; else the highest both were offered), latency and CPU, and how long
    each took to settle after orders was killed."""
    compared = result.get("checkout_styles")
    if not compared:
        return ""
    styles = compared["styles"]
    steps = {
        style: {s["offered_per_second"]: s for s in f["sweep"]["steps"] if s["end_to_end_ms"]}
        for style, f in styles.items()
    }
    common = set.intersection(*(set(by_rate) for by_rate in steps.values()))
    held = {
        rate
        for rate in common
        if all(not by_rate[rate]["failed"] and not by_rate[rate]["unfinished"]
               for by_rate in steps.values())
    }  # fmt: skip
    parts = []
    if common:
        rate = max(held or common)
        figures = ", ".join(
            f"{style} {by_rate[rate]['end_to_end_ms']['p99']:.0f} ms and "
            f"{sum(by_rate[rate]['cpu_ms_per_checkout']['by_group'].values()):.0f} ms"
            for style, by_rate in steps.items()
        )
        parts.append(f"at {rate:g}/s, end-to-end p99 and CPU per checkout: {figures}")
    settled = ", ".join(
        f"{style} {f['crash']['settled_seconds']:.1f} s"
        if f["crash"]["settled_seconds"] is not None
        else f"{style} **{f['crash']['unsettled']} unsettled** "
        f"after {f['crash']['settle_deadline_seconds']:g} s"
        for style, f in styles.items()
    )
    parts.append(f"orders killed during checkouts, until every accepted order settled: {settled}")
    return f"\nCheckout styles ([tables](./{result['profile']}.md)): {'; '.join(parts)}.\n"


def plot_checkout(result: dict[str, Any], path: Path) -> None:
    sweep = result["checkout"]
    steps = [s for s in sweep["steps"] if s["end_to_end_ms"] is not None]
    offered = [s["offered_per_second"] for s in steps]
    figure, (latency, rate) = plt.subplots(1, 2, figsize=(12, 4.5))
    figure.suptitle(f"Checkout on '{result['profile']}', open loop: latency by offered rate")
    for key, style in (("p50", "o-"), ("p99", "s-")):
        latency.plot(offered, [s["end_to_end_ms"][key] for s in steps], style,
                     label=f"end to end {key}")  # fmt: skip
    latency.plot(offered, [s["post_ms"]["p99"] for s in steps], "^--", label="POST p99")
    latency.axhline(sweep["held_p99_ms"], color="grey", linestyle=":", label="p99 bound")
    latency.set_yscale("log")
    latency.set_xlabel("offered checkouts/s")
    latency.set_ylabel("ms")
    rate.plot(offered, [s["completed_per_second"] for s in steps], "o-", label="paid/s")
    rate.plot(offered, offered, ":", color="grey", label="offered")
    rate.set_xlabel("offered checkouts/s")
    rate.set_ylabel("paid checkouts/s")
    for axis in (latency, rate):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


if __name__ == "__main__":
    write_readme(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/benchmarks"))
