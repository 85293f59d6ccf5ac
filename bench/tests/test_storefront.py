"""The storefront scenario for seconds: Debian's chromium loads storefront/dist from a real
gateway app (uvicorn, on a port), whose sidecar is played in-process by the catalog's
answers (shop_dapr.testing.fake_dapr); then the report, on made-up figures. The
figures of the first test are not asserted, only their shape."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway.main import create_app
from gateway.settings import Settings
from shop_dapr.testing import fake_dapr, served_on_a_port

from bench.report import storefront_section, targets
from bench.storefront import PHASES, asset_sizes, measure, summarise
from bench.tests.test_checkout_sweep import result, step
from tests.browser import DIST

PRODUCTS = [
    {"id": f"tea-{i}", "name": f"Tea {i}", "description": "Loose leaf.", "category": "tea",
     "price_cents": 450 + i, "currency": "EUR", "available": i % 3}
    for i in range(12)
]  # fmt: skip


def catalog(request: httpx.Request) -> httpx.Response:
    """The catalog behind the gateway's sidecar: the listing and its categories."""
    app, path = request.headers["dapr-app-id"], request.url.path
    if (app, path) == ("catalog", "/products"):
        return httpx.Response(200, json={"items": PRODUCTS, "page": 1, "page_size": 12,
                                         "total": 30})  # fmt: skip
    if (app, path) == ("catalog", "/categories"):
        return httpx.Response(200, json={"tea": 30})
    return httpx.Response(404, json={"detail": "not found"})


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    """The gateway app serving storefront/dist, on a loopback port."""
    settings = Settings(
        rate_limit_per_second=1_000_000, rate_limit_burst=1_000_000, storefront_dir=DIST
    )
    with served_on_a_port(create_app(settings, fake_dapr(sidecar=catalog))) as url:
        yield url


def test_chromium_times_the_first_page_cold_warm_and_bare(gateway: str) -> None:
    measured = measure(gateway, loads=2)
    assert measured["loads"] == 2 and len(measured["usable_samples_ms"]["cold"]) == 2
    for kind in ("cold", "warm", "bare"):
        figures = measured[kind]
        first_byte, ready, loaded = (figures[phase]["p50"] for phase in PHASES)
        assert 0 < first_byte <= ready <= loaded, (kind, figures)
    for kind in ("cold", "warm"):
        usable = measured[kind]["usable_ms"]
        assert measured[kind]["response_start_ms"]["p50"] < usable["p50"] <= usable["p95"], kind
    # Cold: the page, its script and stylesheet, the listing and the categories. Warm: the
    # assets from the context's cache. Bare: the page and its stylesheet; no script.
    fetched = {kind: measured[kind]["fetched"] for kind in ("cold", "warm", "bare")}
    assert fetched == {"cold": 5, "warm": 3, "bare": 2}, measured
    assert measured["warm"]["transfer_kb"] < measured["cold"]["transfer_kb"], measured
    assert measured["ratio_to_bare"]["cold"] > 0
    phases = measured["cold_at"]["p95"]
    assert phases["usable_ms"] == measured["cold"]["usable_ms"]["p95"]
    sizes = measured["assets"]
    assert 0 < sizes["js"]["gzip_kb"] < sizes["js"]["raw_kb"] and sizes["css"]["files"] >= 1


def test_an_unbuilt_storefront_is_named(gateway: str, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="run `make storefront`"):
        measure(gateway, loads=1, dist=tmp_path)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "index-old.js").write_text("old")
    (tmp_path / "index.html").write_text("<!doctype html><title>another build</title>")
    with pytest.raises(RuntimeError, match="does not serve"):
        measure(gateway, loads=1, dist=tmp_path)


def load(first_byte: float, ready: float, usable: float, kb: float = 40) -> dict[str, float]:
    return {"response_start_ms": first_byte, "dom_content_loaded_ms": ready,
            "load_ms": ready + 1, "usable_ms": usable, "transfer_bytes": kb * 1000,
            "fetched": 5}  # fmt: skip


def made_up(cold_usable: list[float]) -> dict[str, Any]:
    samples = {
        "cold": [load(10, 200, u) for u in cold_usable],
        "warm": [load(8, 60, 90, kb=2) for _ in cold_usable],
        "bare": [load(5, 30, 0, kb=6) for _ in cold_usable],
    }
    for bare in samples["bare"]:
        del bare["usable_ms"]
    return summarise(samples, len(cold_usable)) | {"assets": asset_sizes(DIST)}


def test_the_report_shows_the_target_and_the_arithmetic_of_a_miss() -> None:
    made = result("redis", [step(10, 100)], None)
    made["storefront"] = made_up([300.0] * 18 + [1400.0, 1600.0])
    section = storefront_section(made)
    assert "## Storefront" in section
    assert "| cold | 10 | 200 | 201 | **300** | 1400 | 1600 | 40.0 | 5 |" in section
    assert "| bare | 5 | 30 | 31 | n/a | n/a | n/a | 6.0 | 5 |" in section
    assert "cold 9.68x, warm 2.90x" in section  # 300 / 31, 90 / 31
    # The p95 load (the 19th of 20): 10 ms to the first byte, 190 to run the script,
    # 1200 for the listing and its drawing: 400 ms over, all of it in the last phase.
    assert "**missed**: usable p95 1400 ms, 400 ms over" in section
    assert (
        "the p95 load: 1400 ms = first byte 10 ms + page parsed, script fetched and run 190 ms "
        "+ products fetched and drawn 1200 ms." in section
    )
    rows = {r["target"]: r for r in targets(made)}
    assert rows["storefront first page usable, cold: median"]["met"]
    assert rows["storefront first page usable, cold: p95"]["miss"] == "40% over"
    assert rows["storefront JS + CSS, gzipped"]["met"]


def test_a_met_target_and_an_older_result_without_the_scenario() -> None:
    made = result("redis", [step(10, 100)], None)
    made["storefront"] = made_up([300.0] * 20)
    assert "**met**: usable p95 300 ms" in storefront_section(made)
    older = result("redis", [step(10, 100)], None)
    assert storefront_section(older) == ""
    assert not any(r["target"].startswith("storefront") for r in targets(older))
