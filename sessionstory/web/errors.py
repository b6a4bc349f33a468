"""Every error leaves as `{"error": "…"}` with a fitting status; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template

from sessionstory.ingest import IngestError
from sessionstory.web.collect import cors_headers

log = logging.getLogger(__name__)


def _error(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None  # type: ignore[type-arg]
) -> Response[dict[str, str]]:
    headers = dict(headers or {})
    if request.url.path.endswith("/api/v1/ingest"):
        # Without CORS headers a browser hides the status and the SDK would retry a lost cause.
        headers.update(cors_headers(request.headers.get("origin")))
    return Response({"error": message}, status_code=status, media_type=MediaType.JSON, headers=headers)


def http_error(request: Request, exc: HTTPException) -> Response[Any]:  # type: ignore[type-arg]
    message = exc.detail
    if isinstance(exc, ValidationException) and exc.extra:
        message = f"{exc.detail}: {exc.extra}"
    if _wants_page(request):
        return Template(template_name="error.html", status_code=exc.status_code,
                        context={"status": exc.status_code, "message": str(message), "sign_in": None, "path": ""})
    return _error(request, exc.status_code, str(message), exc.headers)


def _wants_page(request: Request) -> bool:  # type: ignore[type-arg]
    """A person's browser on a dashboard page gets a page; scripts and the API get JSON."""
    path = request.url.path
    if path.startswith("/api/") or path == "/healthz" or request.headers.get("hx-request"):
        return False
    return "text/html" in request.headers.get("accept", "")


def ingest_error(request: Request, exc: IngestError) -> Response[dict[str, str]]:  # type: ignore[type-arg]
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return _error(request, exc.status, exc.message, headers)


def internal_error(request: Request, exc: Exception) -> Response[dict[str, str]]:  # type: ignore[type-arg]
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(request, 500, "internal error; the server log has details")


HANDLERS = {HTTPException: http_error, IngestError: ingest_error, Exception: internal_error}
