"""The storefront's pages and assets, served by the gateway from a built folder."""

from pathlib import Path

import pytest
from shop_dapr.testing import fake_dapr, serving

from gateway.main import create_app
from gateway.settings import Settings
from gateway.storefront import NOT_BUILT

PAGE = b"<!doctype html><script type=module src=/assets/app-1a2b.js></script>"


def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log('shop')")
    return tmp_path


@pytest.mark.parametrize("path", ["/", "/products/teapot", "/cart", "/checkout", "/signin",
                                  "/signup", "/orders", "/orders/4f2a"])  # fmt: skip
async def test_every_page_of_the_storefront_is_its_page(tmp_path: Path, path: str) -> None:
    app = create_app(Settings(storefront_dir=built(tmp_path)), dapr=fake_dapr())
    async with serving(app) as client:
        answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.content == PAGE
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in answer.headers["content-security-policy"]


async def test_assets_are_cached_for_good_and_other_paths_stay_404(tmp_path: Path) -> None:
    app = create_app(Settings(storefront_dir=built(tmp_path)), dapr=fake_dapr())
    async with serving(app) as client:
        asset = await client.get("/assets/app-1a2b.js")
        missing_asset = await client.get("/assets/app-0000.js")
        api = await client.get("/api/v1/no-such-thing")
        other = await client.get("/no-such-page")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert missing_asset.status_code == 404
    assert api.status_code == 404
    assert api.json() == {"detail": "Not Found"}
    assert other.status_code == 404


async def test_a_rebuild_shows_without_a_restart(tmp_path: Path) -> None:
    dist = built(tmp_path)
    app = create_app(Settings(storefront_dir=dist), dapr=fake_dapr())
    async with serving(app) as client:
        (dist / "index.html").write_bytes(b"<!doctype html><title>rebuilt</title>")
        answer = await client.get("/")
    assert b"rebuilt" in answer.content


async def test_a_storefront_not_built_says_how_to_build_it(tmp_path: Path) -> None:
    app = create_app(Settings(storefront_dir=tmp_path / "dist"), dapr=fake_dapr())
    async with serving(app) as client:
        page = await client.get("/")
        health = await client.get("/healthz")
    assert page.status_code == 503
    assert page.json() == {"detail": NOT_BUILT}
    assert "make storefront" in NOT_BUILT
    assert health.status_code == 204
