"""Security headers on every response, and the nonce that lets our own scripts run.

The Content-Security-Policy is strict for script (only tags carrying this request's
nonce, and what they load) and open for what a replay needs to look right: the
recorded site's inline styles, and its images, fonts and media, but only from the
origins a page names (the session page names the sites its session visited), so a
crafted recording cannot make the dashboard call a server of the attacker's choice.
The replay iframe is about:blank, so it inherits this policy.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.types import Message, Scope

NONCE_KEY = "csp_nonce"
MEDIA_ORIGINS_KEY = "csp_media_origins"
MAX_MEDIA_ORIGINS = 20
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce(request: Request) -> str:  # type: ignore[type-arg]
    """This response's nonce, made on first use; the same one goes into the header."""
    return _nonce(request.scope.setdefault("state", {}))


def _nonce(state: dict[str, Any]) -> str:
    if NONCE_KEY not in state:
        state[NONCE_KEY] = secrets.token_urlsafe(18)
    return str(state[NONCE_KEY])


def allow_media_from(request: Request, urls: Iterable[str | None]) -> None:  # type: ignore[type-arg]
    """Let this page load images, fonts, styles and media from the origins of `urls` (http(s) only)."""
    origins: list[str] = []
    for url in urls:
        origin = http_origin(url or "")
        if origin and origin not in origins:
            origins.append(origin)
    request.scope.setdefault("state", {})[MEDIA_ORIGINS_KEY] = origins[:MAX_MEDIA_ORIGINS]


def http_origin(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL; None for anything else (javascript:, data:, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    if not all(c.isalnum() or c in "-._" for c in host):
        return None  # nothing that could break out of the header's grammar
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def content_security_policy(nonce: str, media_origins: list[str]) -> str:
    media = " ".join(["'self'", "data:", "blob:", *media_origins])
    return "; ".join([
        "default-src 'self'",
        f"script-src 'nonce-{nonce}' 'strict-dynamic'",
        f"style-src {media} 'unsafe-inline'",  # recorded pages carry inline styles; no script can run anyway
        f"img-src {media}",
        f"font-src {media}",
        f"media-src {media}",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(https: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    """A `before_send` hook: it sees every response, error pages and unrouted 404s included.
    Only an HTML page runs scripts, so only it draws a nonce and has its policy built; every
    other answer (JSON, assets, streams) carries one fixed policy that lets no script run."""
    common = _common_headers(https)
    fixed = [(b"content-security-policy", content_security_policy_without_scripts().encode()), *common]

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if _is_html(headers):
                state = scope.setdefault("state", {})
                message["headers"] = [*headers, _page_policy(state), *common]
            else:
                message["headers"] = [*headers, *fixed]

    return add_headers


def content_security_policy_without_scripts() -> str:
    return "; ".join([
        "default-src 'none'", "script-src 'none'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
        "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ])


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers)


def _page_policy(state: dict[str, Any]) -> tuple[bytes, bytes]:
    csp = content_security_policy(_nonce(state), list(state.get(MEDIA_ORIGINS_KEY, [])))
    return (b"content-security-policy", csp.encode())


def _common_headers(https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        # Replayed images load from the recorded site: never tell it which dashboard page asked.
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers
