"""Answers compressed on their way out: zstd for a browser that takes it, else gzip.

A session's events travel as JSON that compresses to a tenth of its size: the first page of a long
session is about 1 MB, the pages after it several. On a viewer's network, not the loopback, that is
most of the wait before the replay starts. zstd (level 3) costs 2-3 ms for 1 MB; gzip, for browsers
that do not take zstd (most take it over HTTPS and on localhost only), runs at its fastest level.

An answer sent in one piece is compressed whole when it is of a type that compresses and not encoded
already. A stream of Server-Sent Events is compressed part by part, each part flushed so that the
browser reads it on arrival: the live view opens with the whole recording so far, and each batch
after it is JSON too. Other streams (files) pass as they are. A big piece is compressed in a worker
thread, never on the event loop.

litestar's own compression has no zstd, compresses on the event loop (a page of events would stall
every ingest meanwhile), holds a stream's parts back in its compressor, and would compress again what
the build has compressed (web/encoding.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

import anyio.to_thread
import zstandard
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from sessionstory.web.encoding import qualities, takes

MIN_BYTES = 1024  # below this, the headers outweigh what compression saves
THREAD_BYTES = 256 * 1024  # above this, compressed off the event loop
COMPRESSIBLE = (b"text/", b"application/json", b"application/javascript", b"image/svg+xml")
STREAMED = (b"text/event-stream",)  # the streams compressed part by part
# Its answers are a few bytes, and it is the path whose cost counts per request.
SKIPPED_PATHS = frozenset({"/api/v1/ingest"})
ZSTD_LEVEL = 3
GZIP_LEVEL = 1


class Coder(Protocol):
    """One answer's compressor: `part` gives what can be sent for a part now, `end` what closes it."""

    def part(self, body: bytes) -> bytes: ...

    def end(self) -> bytes: ...


class Zstd:
    def __init__(self) -> None:
        self._zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()

    def part(self, body: bytes) -> bytes:
        return self._zstd.compress(body) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def end(self) -> bytes:
        return self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class Gzip:
    def __init__(self) -> None:
        self._zlib = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: with gzip's header and trailer

    def part(self, body: bytes) -> bytes:
        return self._zlib.compress(body) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def end(self) -> bytes:
        return self._zlib.flush(zlib.Z_FINISH)


CODERS: tuple[tuple[str, Callable[[], Coder]], ...] = (("zstd", Zstd), ("gzip", Gzip))


def pick(accept_encoding: str) -> tuple[str, Callable[[], Coder]] | None:
    """The coding to answer in: the first of CODERS the browser takes."""
    weights = qualities(accept_encoding)
    for name, coder in CODERS:
        if takes(weights, name):
            return name, coder
    return None


def whole(coder: Coder, body: bytes) -> bytes:
    return coder.part(body) + coder.end()


def part(coder: Coder, body: bytes) -> bytes:
    return coder.part(body)


def _worth_it(headers: list[tuple[bytes, bytes]], streamed: bool, first_part: int) -> bool:
    """A stream of events, or a whole answer of a type that compresses and of at least MIN_BYTES; never an
    answer encoded already."""
    found = {name.lower(): value for name, value in headers if name.lower() in (b"content-type", b"content-encoding")}
    if b"content-encoding" in found:
        return False
    kind = found.get(b"content-type", b"")
    return kind.startswith(STREAMED) if streamed else kind.startswith(COMPRESSIBLE) and first_part >= MIN_BYTES


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
        await self.app(scope, receive, _Answer(send, *chosen).send)


class _Answer:
    """One answer on its way out: its start held until its first part says whether, and how, to compress it."""

    def __init__(self, send: Send, encoding: str, make: Callable[[], Coder]) -> None:
        self._send, self._encoding, self._make = send, encoding, make
        self._start: HTTPResponseStartEvent | None = None
        self._coder: Coder | None = None  # once compressing

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
        elif message["type"] != "http.response.body":
            await self._send(message)
        elif self._start is not None:
            held, self._start = self._start, None
            await self._first(held, message)
        elif self._coder is not None:
            await self._part(message)
        else:
            await self._send(message)

    async def _first(self, start: HTTPResponseStartEvent, message: HTTPResponseBodyEvent) -> None:
        headers = list(start.get("headers", []))
        streamed = message.get("more_body", False)
        if not _worth_it(headers, streamed, len(message.get("body", b""))):
            await self._send(start)
            await self._send(message)
            return
        self._coder = self._make()
        vary = [value for name, value in headers if name.lower() == b"vary"]
        headers = [(name, value) for name, value in headers if name.lower() not in (b"content-length", b"vary")]
        headers += [(b"content-encoding", self._encoding.encode()), (b"vary", b", ".join([*vary, b"Accept-Encoding"]))]
        if streamed:
            await self._send({**start, "headers": headers})
            await self._part(message)
            return
        body = await self._run(whole, message.get("body", b""))
        compressed_start: HTTPResponseStartEvent = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        await self._send(compressed_start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def _part(self, message: HTTPResponseBodyEvent) -> None:
        assert self._coder is not None
        more = message.get("more_body", False)
        body = await self._run(part, message.get("body", b""))
        if not more:
            body += self._coder.end()
        compressed: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": more}
        await self._send(compressed)

    async def _run(self, step: Callable[[Coder, bytes], bytes], body: bytes) -> bytes:
        """One step of the coder, in a worker thread when the part is big (one at a time: an answer's parts
        come in order)."""
        assert self._coder is not None
        if len(body) > THREAD_BYTES:
            return await anyio.to_thread.run_sync(step, self._coder, body)
        return step(self._coder, body)
