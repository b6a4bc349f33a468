"""What browsers may keep: bundles named by their content for a year, everything else revalidated,
the SDK's public URLs briefly. Through the real app, on the real built files."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar import Litestar
from litestar.testing import TestClient

from sessionstory.web.assets import IMMUTABLE, Assets
from sessionstory.web.collect import DIST
from tests.conftest import batch, meta_event
from tests.test_collab import _share
from tests.test_compression import as_sent
from tests.events import page, snapshot
from tests.test_dashboard import sign_in

STATIC = DIST.parent
STATIC_URL = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def _session(client: TestClient, key: str, sid: str, url: str) -> None:  # type: ignore[type-arg]
    """A visit of a minute ago: inside the overview's and heatmaps' default range."""
    at = int(time.time() * 1000) - 60_000
    events = [meta_event(at, href=url), snapshot(at + 1), page(at + 2, url, title="Shop")]
    assert client.post("/api/v1/ingest", json=batch(key, sid, events=events)).status_code == 200


def _static_urls(page: Any) -> list[str]:
    assert page.status_code == 200, page.text
    return [url.replace("&amp;", "&") for url in STATIC_URL.findall(page.text)]


def _digest(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()


def _version(url: str) -> str:
    return parse_qs(urlsplit(url).query)["v"][0]


def test_every_page_names_its_bundles_by_their_content(client: TestClient, admin: Any, project: Any,  # type: ignore[type-arg]
                                                       auth: dict[str, str]) -> None:
    _session(client, project.public_key, "cache-1", "https://shop.example/cart")
    shared = _share(client, "cache-1", auth)
    sign_in(client)
    named: set[str] = set()
    for path in ("/login", "/sessions/cache-1", "/overview", f"/heatmaps?project={project.id}", urlsplit(shared["url"]).path,
                 "/schema"):
        urls = _static_urls(client.get(path))
        assert urls, path
        for url in urls:
            file = STATIC / urlsplit(url).path.removeprefix("/static/")
            assert _version(url) == _digest(file), f"{path} names {url}, not the bytes of {file}"
            named.add(urlsplit(url).path)
    # The player, its stylesheet, htmx and the dashboard's own bundles are all among them.
    assert {"/static/dist/player.js", "/static/dist/player.css", "/static/dist/htmx.min.js", "/static/app.js",
            "/static/dist/charts.js", "/static/dist/heatmap.js", "/static/dist/swagger/swagger-ui-bundle.js",
            "/static/schema.js"} <= named


def test_content_named_urls_are_kept_for_a_year(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    _session(client, project.public_key, "cache-2", "https://shop.example/")
    sign_in(client)
    for url in _static_urls(client.get("/sessions/cache-2")):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == IMMUTABLE, url
        assert r.content == (STATIC / urlsplit(url).path.removeprefix("/static/")).read_bytes()
    # esbuild names the player's chunks by their hash, and player.js imports them by that name.
    chunks = re.findall(r'import\("\./(player-chunks/[^"]+)"\)', (DIST / "player.js").read_text())
    assert chunks, "the player is built with its screenshot chunk"
    for chunk in chunks:
        r = client.get(f"/static/dist/{chunk}")
        assert r.status_code == 200 and r.headers["cache-control"] == IMMUTABLE


def test_other_static_urls_are_revalidated_and_answered_304(client: TestClient) -> None:  # type: ignore[type-arg]
    for url in ("/static/dist/player.js", "/static/app.css", "/static/dist/swagger/swagger-ui.css"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache", url
        again = client.get(url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", url
        assert again.headers["etag"] == r.headers["etag"] and again.headers["cache-control"] == "no-cache"
    head = client.head("/static/dist/player.js")
    assert head.status_code == 200 and head.headers["cache-control"] == "no-cache" and head.content == b""
    assert client.get("/static/dist/no-such.js").status_code == 404
    assert client.get("/static/dist").status_code == 404  # a directory is not a file


def test_a_stale_version_still_gets_the_file_but_not_for_a_year(client: TestClient) -> None:  # type: ignore[type-arg]
    """A tab opened before an upgrade asks for the bundle by its old digest: never a 404, and the
    bytes it gets now are not what that URL named, so they must not be kept under it."""
    r = client.get("/static/dist/player.js?v=0123456789abcdef")
    assert r.status_code == 200 and r.content == (DIST / "player.js").read_bytes()
    assert r.headers["cache-control"] == "no-cache"


def test_the_sdk_urls_stay_the_same_and_are_kept_briefly(client: TestClient) -> None:  # type: ignore[type-arg]
    """Customers' pages name /sdk.js for good (CONTRACT.md): an upgrade must reach them within minutes."""
    for url in ("/sdk.js", "/sdk.esm.js", "/sdk.esm.d.ts"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert re.fullmatch(r"public, max-age=\d+", r.headers["cache-control"]), url
        assert int(r.headers["cache-control"].rsplit("=", 1)[1]) <= 3600
        again = client.get(url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", url
        assert again.headers["access-control-allow-origin"] == "*" and again.headers["etag"] == r.headers["etag"]


def test_pages_are_not_kept(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    _session(client, project.public_key, "cache-3", "https://shop.example/")
    sign_in(client)
    for path in ("/login", "/", "/sessions/cache-3"):
        assert "immutable" not in client.get(path).headers.get("cache-control", ""), path


def test_a_rebuilt_file_gets_a_new_url_and_its_old_one_is_no_longer_immutable(tmp_path: Path) -> None:
    bundle = tmp_path / "dist" / "player.js"
    bundle.parent.mkdir()
    bundle.write_text("console.log('one')")
    running = Assets(tmp_path)
    old = running.url("dist/player.js")
    assert _version(old) == _digest(bundle)
    with TestClient(Litestar(route_handlers=running.routes())) as client:
        assert client.get(old).headers["cache-control"] == IMMUTABLE
        bundle.write_text("console.log('two')")  # `make build` while the server runs
        os.utime(bundle, (1, 1))  # a different mtime, whatever the file system's clock granularity
        r = client.get(old)
        assert r.text == "console.log('two')" and r.headers["cache-control"] == "no-cache"
    restarted = Assets(tmp_path)
    new = restarted.url("dist/player.js")
    assert new != old and _version(new) == _digest(bundle)
    assert Assets(tmp_path).url("dist/not-built.js") == "/static/dist/not-built.js"


def test_bundles_and_the_sdk_go_compressed_to_browsers_that_take_it(client: TestClient) -> None:  # type: ignore[type-arg]
    """The build's brotli and gzip copies are what a browser gets, by its Accept-Encoding; the same URL, one
    ETag per encoding, and `Vary` so that no cache hands one encoding to a browser that asked for another."""
    for url, file in (("/static/dist/player.js", DIST / "player.js"), ("/sdk.js", DIST / "sdk.js"),
                      ("/static/dist/player.css", DIST / "player.css")):
        etags = set()
        for accept, encoding, sent in (("br, gzip, deflate", "br", file.with_name(file.name + ".br")),
                                       ("gzip, deflate", "gzip", file.with_name(file.name + ".gz")),
                                       ("gzip;q=0, identity", None, file), ("", None, file)):
            r, body = as_sent(client, url, accept)
            assert r.status_code == 200, (url, accept)
            assert r.headers.get("content-encoding") == encoding, (url, accept)
            assert r.headers["vary"] == "Accept-Encoding", url
            assert body == sent.read_bytes(), (url, accept)
            again, empty = as_sent(client, url, accept, **{"If-None-Match": r.headers["etag"]})
            assert again.status_code == 304 and empty == b"", (url, accept)
            etags.add(r.headers["etag"])
        assert len(etags) == 3, url  # br, gzip and the file itself
    assert len((DIST / "sdk.js.gz").read_bytes()) < len((DIST / "sdk.js").read_bytes()) / 2
    # httpx takes gzip: what it reads back is the file, byte for byte.
    assert client.get("/static/dist/player.js").content == (DIST / "player.js").read_bytes()


def test_a_copy_older_than_its_file_is_never_sent(tmp_path: Path) -> None:
    from sessionstory.web.encoding import choose, qualities
    bundle = tmp_path / "app.js"
    bundle.write_text("console.log('new')")
    (tmp_path / "app.js.gz").write_bytes(b"old gzip")
    (tmp_path / "app.js.br").write_bytes(b"new br")
    os.utime(tmp_path / "app.js.gz", (1, 1))  # written by an older build
    assert choose(bundle, "gzip").encoding is None
    assert choose(bundle, "gzip, br").path == tmp_path / "app.js.br"
    assert choose(bundle, "br;q=0, *").encoding is None  # the gzip copy is stale, and br is refused
    assert choose(bundle, "*").encoding == "br"
    assert qualities("gzip;q=0.5, br;q=0 , zstd;q=x") == {"gzip": 0.5, "br": 0.0, "zstd": 0.0}
