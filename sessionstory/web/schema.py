"""The JSON API described as OpenAPI at /schema/openapi.json, and readable at /schema.

The reader is Swagger UI from the npm package, served by this process (on-premises means
no CDN), started by a script file of ours rather than an inline one, so it runs under the
dashboard's CSP like every other page.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:  # type: ignore[type-arg]
        nonce = escape(csp_nonce(request))
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SessionStory API</title>
<link rel="stylesheet" href="/static/dist/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui" data-url="/schema/openapi.json"></div>
<script nonce="{nonce}" src="/static/dist/swagger/swagger-ui-bundle.js"></script>
<script nonce="{nonce}" src="/static/schema.js"></script>
</body></html>""".encode()


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="SessionStory API",
        version=version("sessionstory"),
        description="Sessions, their events and facts, search and insights. Authenticate with "
                    "`Authorization: Bearer TOKEN` (`sessionstory token create`). docs/api.md has the details.",
        path="/schema",
        render_plugins=[LocalSwagger(path="/")],
    )


def api_only(handlers: Sequence[Any]) -> list[Any]:
    """The handlers, with everything that is not the API left out of the schema."""
    for handler in handlers:
        # Only HTTP handlers are documented (or can be left out): the ingest ASGI handler never is.
        if isinstance(handler, HTTPRouteHandler) and not any(p.startswith(API_PATHS) for p in handler.paths):
            handler.include_in_schema = False
    return list(handlers)
