"""What visitors' browsers call: the SDK script and the ingest endpoint."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import msgspec
from litestar import Request, Response, get, post, route
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery

from sessionstory.admission import Admission
from sessionstory.ingest import NothingToStore, Prepared, prepare, stated_size
from sessionstory.metrics import observed
from sessionstory.privacy import public_config
from sessionstory.web.live import live_hub
from sessionstory.web.security import datadir

DIST = Path(__file__).parent / "static" / "dist"

_PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


def _cors(request: Request) -> dict[str, str]:  # type: ignore[type-arg]
    # The SDK sends no cookies, so echoing the origin grants nothing; origin rules are
    # enforced on the POST itself, where the project (and so its origins) is known.
    return cors_headers(request.headers.get("origin"))


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
    path = DIST / name
    if not path.exists():
        raise NotFoundException("the SDK bundle is not built; run `make build`")
    return Response(
        path.read_bytes(),
        media_type=SDK_FILES[name],
        # Any site may load it (a module import cross-origin needs CORS too).
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


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


@route("/api/v1/ingest", http_method=["OPTIONS"], sync_to_thread=False, include_in_schema=False)
def ingest_preflight(request: Request) -> Response[None]:  # type: ignore[type-arg]
    return Response(None, status_code=204, headers={**_cors(request), **_PREFLIGHT})


# A batch is prepared on the event loop when it says it decodes to at most this much (a gzip body
# that lies is cut off there: 413), so no request stalls the loop for long.
INLINE_DECODED_BYTES = 64 * 1024


@post("/api/v1/ingest", status_code=200)
@observed
async def ingest(request: Request) -> Response[dict[str, bool]]:  # type: ignore[type-arg]
    dd = datadir(request)
    headers = _cors(request)
    admission: Admission = request.app.state.admission
    admission.check_address(request.client.host if request.client else "")  # before reading a byte of the body
    body = await request.body()
    encoding = request.headers.get("content-encoding", "")
    small = stated_size(body, encoding) <= INLINE_DECODED_BYTES
    limits = msgspec.structs.replace(dd.settings.limits, max_decoded_bytes=INLINE_DECODED_BYTES) if small else dd.settings.limits

    def prepared_here() -> Prepared:
        return prepare(dd.projects, body, encoding, request.headers.get("origin"), request.headers.get("user-agent", ""),
                       limits, client_ip=request.client.host if request.client else None)

    # Most batches are small (the SDK's: ~0.5 KB gzipped): on the event loop their work costs less
    # than a worker thread's round trip, whose every hop waits for the GIL behind the index writer.
    try:
        prepared = prepared_here() if small else await anyio.to_thread.run_sync(prepared_here)
    except NothingToStore:
        return Response({"ok": True}, headers=headers)
    admission.check_project(prepared.project.id)
    admission.check_disk()
    admission.check_backlog(dd.log, dd.index)  # backpressure: the log or the index is too far behind
    await dd.ingestor.append(prepared)
    # Someone is watching this session live: the SDK sends smaller batches, sooner, while this holds.
    watched = live_hub(request).watched(prepared.record.meta.session_id)  # type: ignore[union-attr]
    return Response({"ok": True, "watched": True} if watched else {"ok": True}, headers=headers)
