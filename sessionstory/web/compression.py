"""Answers compressed on their way out: zstd for a browser that takes it, else gzip.

A session's events travel as JSON that compresses to a tenth of its size: the first page of a long
session is about 1 MB, the pages after it several. On a viewer's network, not the loopback, that is
most of the wait before the replay starts. zstd (level 3) costs 2-3 ms for 1 MB; gzip, for browsers
that do not take zstd (most take it over HTTPS and on localhost only), runs at its fastest level.

litestar's own compression has no zstd, compresses on the event loop (a page of events would stall
every ingest meanwhile), holds back a stream such as the live view's events, and would compress again
what the build has compressed (web/encoding.py). This one touches only answers sent in one piece, of a
type that compresses, not encoded already; a big one is compressed in a worker thread.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import anyio.to_thread
import zstandard
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from sessionstory.web.encoding import qualities

MIN_BYTES = 1024  # below this, the headers outweigh what compression saves
THREAD_BYTES = 256 * 1024  # above this, compressed off the event loop
COMPRESSIBLE = (b"text/", b"application/json", b"application/javascript", b"image/svg+xml")
# Its answers are a few bytes, and it is the path whose cost counts per request.
SKIPPED_PATHS = frozenset({"/api/v1/ingest"})
ZSTD_LEVEL = 3
GZIP_LEVEL = 1


def _zstd(body: bytes) -> bytes:
    # A compressor is cheap to make, and one shared between threads is not safe.
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)


def _gzip(body: bytes) -> bytes:
    return zlib.compress(body, GZIP_LEVEL, wbits=31)  # 31: with gzip's header and trailer


CODERS: tuple[tuple[str, Callable[[bytes], bytes]], ...] = (("zstd", _zstd), ("gzip", _gzip))


def pick(accept_encoding: str) -> tuple[str, Callable[[bytes], bytes]] | None:
    """The coding to answer in: the first of CODERS the browser takes."""
    weights = qualities(accept_encoding)
    for name, coder in CODERS:
        if weights.get(name, weights.get("*", 0.0)) > 0:
            return name, coder
    return None


def _compressible(headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
    if len(body) < MIN_BYTES:
        return False
    found = {name.lower(): value for name, value in headers if name.lower() in (b"content-type", b"content-encoding")}
    return b"content-encoding" not in found and found.get(b"content-type", b"").startswith(COMPRESSIBLE)


class Compression:
    """ASGI middleware around the whole app (app.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in SKIPPED_PATHS:
            await self.app(scope, receive, send)
            return
        accept = next((value for name, value in scope["headers"] if name == b"accept-encoding"), b"")
        chosen = pick(accept.decode("latin-1")) if accept else None
        if chosen is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _compressing(send, *chosen))


def _compressing(send: Send, encoding: str, coder: Callable[[bytes], bytes]) -> Send:
    start: HTTPResponseStartEvent | None = None

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message  # held until the body says whether it is sent in one piece
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        held, start = start, None
        body = message.get("body", b"")
        headers = list(held.get("headers", []))
        if message.get("more_body", False) or not _compressible(headers, body):
            await send(held)
            await send(message)
            return
        if len(body) > THREAD_BYTES:
            body = await anyio.to_thread.run_sync(coder, body)
        else:
            body = coder(body)
        vary = [value for name, value in headers if name.lower() == b"vary"]
        headers = [(name, value) for name, value in headers if name.lower() not in (b"content-length", b"vary")]
        headers += [(b"content-encoding", encoding.encode()), (b"content-length", str(len(body)).encode()),
                    (b"vary", b", ".join([*vary, b"Accept-Encoding"]))]
        compressed_start: HTTPResponseStartEvent = {**held, "headers": headers}
        compressed_body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
        await send(compressed_start)
        await send(compressed_body)

    return wrapped
