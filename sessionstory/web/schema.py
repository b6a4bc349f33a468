"""The JSON API described as OpenAPI at /schema/openapi.json, and readable at /schema.

The reader is Swagger UI from the npm package, served by this process (on-premises means
no CDN), started by a script file of ours rather than an inline one, so it runs under the
dashboard's CSP like every other page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from importlib.metadata import version
from typing import Any

from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin

from sessionstory.web.headers import csp_nonce

# Only these paths are the API; the dashboard's pages and forms are not.
API_PATHS = ("/api/", "/healthz", "/readyz", "/metrics")


class LocalSwagger(OpenAPIRenderPlugin):
    """Swagger UI's files named by their content (`asset`: web/assets.py), so a browser keeps them."""

    def __init__(self, asset: Callable[[str], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asset = asset

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:  # type: ignore[type-arg]
        nonce = escape(csp_nonce(request))
        css, bundle, start = (escape(self.asset(name)) for name in
                              ("dist/swagger/swagger-ui.css", "dist/swagger/swagger-ui-bundle.js", "schema.js"))
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SessionStory API</title>
<link rel="stylesheet" href="{css}"></head>
<body><div id="swagger-ui" data-url="/schema/openapi.json"></div>
<script nonce="{nonce}" src="{bundle}"></script>
<script nonce="{nonce}" src="{start}"></script>
</body></html>""".encode()


def openapi_config(asset: Callable[[str], str]) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="SessionStory API",
        version=version("sessionstory"),
        description="Sessions, their events and facts, search and insights. Authenticate with "
                    "`Authorization: Bearer TOKEN` (`sessionstory token create`). docs/api.md has the details.",
        path="/schema",
        render_plugins=[LocalSwagger(asset, path="/")],
    )


def api_only(handlers: Sequence[Any]) -> list[Any]:
    """The handlers, with everything that is not the API left out of the schema."""
    for handler in handlers:
        # Only HTTP handlers are documented (or can be left out): the ingest ASGI handler never is.
        if isinstance(handler, HTTPRouteHandler) and not any(p.startswith(API_PATHS) for p in handler.paths):
            handler.include_in_schema = False
    return list(handlers)
