"""What visitors' browsers call: the SDK script and the ingest endpoint."""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar import Request, Response, asgi, get
from litestar.exceptions import ClientException, MethodNotAllowedException, NotFoundException
from litestar.params import FromQuery
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, HTTPScope, Receive, Send

from sessionstory.handoff import HANDS
from sessionstory.ingest import IngestError, NothingToStore, Prepared, prepare, stated_size
from sessionstory.metrics import observed
from sessionstory.privacy import public_config
from sessionstory.web.encoding import choose
from sessionstory.web.security import datadir

DIST = Path(__file__).parent / "static" / "dist"

_PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


def cors_headers(origin: str | None) -> dict[str, str]:
    # Retry-After must be exposed, or a cross-origin SDK cannot read how long to back off.
    return {"Access-Control-Allow-Origin": origin or "*", "Vary": "Origin", "Access-Control-Expose-Headers": "Retry-After"}


# The recorder: the script tag's IIFE, and the same for bundlers as an ES module with its types.
SDK_FILES = {
    "sdk.js": "application/javascript; charset=utf-8",
    "sdk.esm.js": "text/javascript; charset=utf-8",
    "sdk.esm.d.ts": "text/plain; charset=utf-8",
}


@get(["/sdk.js", "/sdk.esm.js", "/sdk.esm.d.ts"], sync_to_thread=False, include_in_schema=False)
def sdk_script(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    name = request.url.path.rsplit("/", 1)[-1]
    try:
        # Every visitor of every customer's page loads it: compressed, when the build made copies (it does).
        chosen = choose(DIST / name, request.headers.get("accept-encoding", ""))
    except FileNotFoundError:
        raise NotFoundException("the SDK bundle is not built; run `make build`") from None
    headers = {
        # Customers' pages name this URL for good (CONTRACT.md), so it is never immutable: an upgrade reaches
        # them within five minutes, and after that a browser asks again and gets a 304 while it is unchanged.
        "Cache-Control": "public, max-age=300",
        "ETag": chosen.etag,
        # Any site may load it (a module import cross-origin needs CORS too).
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
        **({"Content-Encoding": chosen.encoding} if chosen.encoding else {}),
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(b"", status_code=304, headers=headers)
    return Response(chosen.path.read_bytes(), media_type=SDK_FILES[name], headers=headers)


CONFIG_MAX_AGE_S = 60  # how long a browser (or a cache) may keep a project's config


@get("/api/v1/config", sync_to_thread=False, include_in_schema=False)
def sdk_config(request: Request, key: FromQuery[str] = "") -> Response[dict[str, object]]:  # type: ignore[type-arg]
    """The project's privacy settings, which the SDK applies before it records: public (the
    page has the key anyway), nothing secret, and from memory."""
    dd = datadir(request)
    project = dd.projects.by_key(key)
    headers = {**cors_headers(request.headers.get("origin")), "Cache-Control": f"public, max-age={CONFIG_MAX_AGE_S}"}
    if project is None:
        return Response({"error": "unknown project key"}, status_code=404, headers={**headers, "Cache-Control": "no-store"})
    return Response(public_config(dd.projects.privacy(project.id)), headers=headers)


# A batch is prepared on the event loop when it says it decodes to at most this much (a gzip body
# that lies is cut off there: 413), so no request stalls the loop for long.
INLINE_DECODED_BYTES = 64 * 1024
ALLOWED_METHODS = "OPTIONS, POST"


@asgi("/api/v1/ingest", copy_scope=False)
async def ingest(scope: HTTPScope, receive: Receive, send: Send) -> None:
    """POST a batch, or the browser's CORS preflight for one.

    A plain ASGI handler, not a litestar route: the busiest endpoint skips the per-request
    machinery it does not use (signature model, Request and Response objects, rendering), a fifth
    or more of the event loop's CPU per batch. It stays inside the app, so allowed hosts,
    the security headers and the JSON error answers (errors.py, from the exceptions raised here)
    apply as to any route."""
    method = scope["method"]
    headers = _wanted_headers(scope)
    if method == "POST":
        await _take_batch(scope, receive, send, headers)
    elif method == "OPTIONS":
        await _answer(send, 204, b"", headers.get("origin"), _PREFLIGHT_HEADERS)
    else:
        raise MethodNotAllowedException(headers={"Allow": ALLOWED_METHODS})


@observed
async def _take_batch(scope: HTTPScope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
    state = scope["litestar_app"].state
    dd, admission = state.datadir, state.admission
    client = scope.get("client")
    client_ip = client[0] if client else None
    admission.check_address(client_ip or "")  # before reading a byte of the body
    body = await _body(receive, headers.get("content-length"), dd.settings.limits.max_body_bytes)
    encoding = headers.get("content-encoding", "")
    small = stated_size(body, encoding) <= INLINE_DECODED_BYTES
    limits = msgspec.structs.replace(dd.settings.limits, max_decoded_bytes=INLINE_DECODED_BYTES) if small else dd.settings.limits

    def prepared_here() -> Prepared:
        return prepare(dd.projects, body, encoding, headers.get("origin"), headers.get("user-agent", ""), limits,
                       client_ip=client_ip)

    # Most batches are small (the SDK's: ~0.5 KB gzipped): on the event loop their work costs less
    # than a worker thread's round trip, whose every hop waits for the GIL behind the index writer.
    # Larger ones go to a worker thread (handoff.py).
    try:
        prepared = prepared_here() if small else await HANDS.run(prepared_here)
    except NothingToStore:
        await _answer(send, 200, _OK, headers.get("origin"), _JSON)
        return
    admission.check_project(prepared.project.id)
    admission.check_disk()
    admission.check_backlog(dd.log, dd.index)  # backpressure: the log or the index is too far behind
    await dd.ingestor.append(prepared)
    # Someone is watching this session live: the SDK sends smaller batches, sooner, while this holds.
    watched = state.live.watched(prepared.key[0])
    await _answer(send, 200, _OK_WATCHED if watched else _OK, headers.get("origin"), _JSON)


_OK = msgspec.json.encode({"ok": True})
_OK_WATCHED = msgspec.json.encode({"ok": True, "watched": True})
_JSON = [(b"content-type", b"application/json")]
_PREFLIGHT_HEADERS = [(name.lower().encode(), value.encode()) for name, value in _PREFLIGHT.items()]
_WANTED = frozenset({b"origin", b"content-encoding", b"content-length", b"user-agent"})


def _wanted_headers(scope: HTTPScope) -> dict[str, str]:
    """The few request headers ingest reads (names arrive lower-cased, as ASGI says)."""
    return {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in _WANTED}


async def _body(receive: Receive, content_length: str | None, cap: int) -> bytes:
    """The request's body, refused (413) once it passes `cap`: by its stated length before a byte is
    read, else as it arrives."""
    if content_length and content_length.isdigit() and int(content_length) > cap:
        raise ClientException(status_code=413, detail="Request Entity Too Large")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise IngestError(400, "the client went away before its batch arrived")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise ClientException(status_code=413, detail="Request Entity Too Large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, origin: str | None, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(name.lower().encode(), value.encode("latin-1")) for name, value in cors_headers(origin).items()]
    if status != 204:
        headers += [*extra, (b"content-length", str(len(body)).encode())]
    else:
        headers += extra
    await send(HTTPResponseStartEvent(type="http.response.start", status=status, headers=headers))
    await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))
