"""Answers compressed on their way out (web/compression.py): through the real app for what a viewer loads,
and through a small app for what must pass untouched (streams, encoded or small answers, other types)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import zstandard
from litestar import Litestar, Response, get
from litestar.response import Stream
from litestar.testing import TestClient

from sessionstory.web import compression
from sessionstory.web.compression import Compression
from tests.conftest import batch
from tests.events import meta, mutation, snapshot
from tests.test_dashboard import sign_in

T0 = 1_700_000_000_000
DECODE = {"zstd": lambda body: zstandard.ZstdDecompressor().decompressobj().decompress(body), "gzip": gzip.decompress}


def as_sent(client: TestClient, url: str, accept: str, **headers: str) -> tuple[Any, bytes]:  # type: ignore[type-arg]
    """The answer as it was sent (httpx would undo its Content-Encoding)."""
    with client.stream("GET", url, headers={"Accept-Encoding": accept, **headers}) as r:
        return r, b"".join(r.iter_raw())


def _session(client: TestClient, key: str, sid: str) -> None:  # type: ignore[type-arg]
    for seq in range(3):
        at = T0 + seq * 10_000
        events = [meta(at, href="https://shop.example/cart"), snapshot(at + 1)] if seq == 0 else []
        events += [mutation(at + 5_000 + i) for i in range(40)]
        assert client.post("/api/v1/ingest", json=batch(key, sid, seq, events)).status_code == 200


@pytest.mark.parametrize("accept, encoding", [("gzip, deflate, br, zstd", "zstd"), ("gzip, deflate", "gzip"),
                                              ("zstd;q=0, gzip", "gzip"), ("identity", None), ("", None)])
def test_a_sessions_events_go_in_the_best_coding_the_browser_takes(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                                   auth: dict[str, str], accept: str,
                                                                   encoding: str | None) -> None:
    _session(client, project.public_key, "squeezed")
    plain = client.get("/api/v1/sessions/squeezed/events?at=0", headers={**auth, "Accept-Encoding": "identity"})
    r, body = as_sent(client, "/api/v1/sessions/squeezed/events?at=0", accept, **auth)
    assert r.status_code == 200 and r.headers.get("content-encoding") == encoding
    assert int(r.headers["content-length"]) == len(body)
    # Where the page lies among the batches is still said, and the events are the same, byte for byte.
    assert r.headers["x-next-batch"] == plain.headers["x-next-batch"]
    assert (DECODE[encoding](body) if encoding else body) == plain.content
    if encoding:
        assert len(body) < len(plain.content) / 3
        assert "Accept-Encoding" in r.headers["vary"]


def test_the_dashboards_pages_go_compressed(client: TestClient, project: Any) -> None:  # type: ignore[type-arg]
    _session(client, project.public_key, "page")
    sign_in(client)
    for url in ("/", "/sessions/page", "/sessions/page/neighbours"):
        r, body = as_sent(client, url, "gzip, zstd")
        assert r.status_code == 200 and r.headers["content-encoding"] == "zstd", url
        assert b"<" in DECODE["zstd"](body), url
    # What the build compressed goes as it is, not compressed twice.
    r, body = as_sent(client, "/sdk.js", "gzip, zstd")
    assert r.headers["content-encoding"] == "gzip" and gzip.decompress(body).startswith(b"(()=>")


def test_ingest_answers_as_before(client: TestClient, project: Any) -> None:  # type: ignore[type-arg]
    with client.stream("POST", "/api/v1/ingest", json=batch(project.public_key, "in", 0, [meta(T0), snapshot(T0 + 1)]),
                       headers={"Accept-Encoding": "zstd, gzip"}) as r:
        assert r.status_code == 200 and "content-encoding" not in r.headers


BIG = {"rows": [{"n": i, "text": "the same words again"} for i in range(20_000)]}  # past THREAD_BYTES


@get("/big", sync_to_thread=False)
def big() -> dict[str, Any]:
    return BIG


@get("/small", sync_to_thread=False)
def small() -> dict[str, int]:
    return {"n": 1}


async def _parts() -> AsyncIterator[str]:
    for i in range(3):
        yield f"data: {'x' * 2000} {i}\n\n"


@get("/events", sync_to_thread=False)
def events() -> Stream:
    return Stream(_parts(), media_type="text/event-stream")


@get("/file", sync_to_thread=False)
def file() -> Stream:
    return Stream(_parts(), media_type="text/plain")


@get("/encoded", sync_to_thread=False)
def encoded() -> Response[bytes]:
    return Response(gzip.compress(b"x" * 5000), media_type="text/plain", headers={"Content-Encoding": "gzip"})


@get("/image", sync_to_thread=False)
def image() -> Response[bytes]:
    return Response(b"\x89PNG" + bytes(5000), media_type="image/png", headers={"Vary": "Origin"})


@pytest.fixture
def small_app() -> Any:
    app = Litestar(route_handlers=[big, small, events, file, encoded, image])
    app.asgi_handler = Compression(app.asgi_handler)
    with TestClient(app) as client:
        yield client


def test_only_whole_answers_of_a_compressible_type_are_compressed(small_app: TestClient) -> None:  # type: ignore[type-arg]
    assert len(json.dumps(BIG)) > compression.THREAD_BYTES
    r, body = as_sent(small_app, "/big", "zstd")
    assert r.headers["content-encoding"] == "zstd" and json.loads(DECODE["zstd"](body)) == BIG
    r, body = as_sent(small_app, "/small", "zstd")
    assert "content-encoding" not in r.headers and json.loads(body) == {"n": 1}
    # Another stream goes as it comes.
    r, body = as_sent(small_app, "/file", "zstd, gzip")
    assert "content-encoding" not in r.headers and body.count(b"data: ") == 3


@pytest.mark.parametrize("accept", ["zstd", "gzip"])
def test_an_event_stream_is_compressed_part_by_part(small_app: TestClient, accept: str) -> None:  # type: ignore[type-arg]
    """Each event readable as soon as its part arrives: the live view's batches must not wait in a compressor."""
    decoder: Any = (zstandard.ZstdDecompressor().decompressobj() if accept == "zstd"
                    else zlib.decompressobj(31))
    with small_app.stream("GET", "/events", headers={"Accept-Encoding": accept}) as r:
        assert r.headers["content-encoding"] == accept and "content-length" not in r.headers
        read = []
        for part in r.iter_raw():
            if part:
                read.append(decoder.decompress(part))
                assert read[-1].endswith(b"\n\n"), "a part holds whole events only once flushed"
    assert b"".join(read).count(b"data: ") == 3
    assert len(b"".join(read)) > 3 * 2000
    r, body = as_sent(small_app, "/encoded", "zstd, gzip")
    assert r.headers["content-encoding"] == "gzip" and gzip.decompress(body) == b"x" * 5000
    r, body = as_sent(small_app, "/image", "zstd, gzip")
    assert "content-encoding" not in r.headers and r.headers["vary"] == "Origin" and body.startswith(b"\x89PNG")
