"""A static web server for the sites we record, with the snippet injected into each page.

It runs on its own loopback port, so the SDK talks to SessionStory cross-origin, as it
does on a customer's site.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).parent
ROOTS = {
    "/shop/": HERE / "pages" / "shop",
    "/swagger/": HERE / "pages" / "swagger",
    "/privacy/": HERE / "pages" / "privacy",
    "/swagger-ui-dist/": HERE.parents[1] / "node_modules" / "swagger-ui-dist",
    "/pydocs/": Path("/usr/share/doc/python3.11/html"),
}


class _Handler(SimpleHTTPRequestHandler):
    snippet = b""

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, root in ROOTS.items():
            if clean.startswith(prefix):
                return str(root / clean[len(prefix):]) if clean[len(prefix):] else str(root / "index.html")
        return str(HERE / "pages" / "missing")

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if path.suffix != ".html" or not path.is_file():
            return super().send_head()
        # `?bare` serves the page as it is, for recordings made without our SDK.
        body = path.read_bytes() if "bare" in self.path.split("?", 1)[-1] else _inject(path.read_bytes(), self.snippet)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        from io import BytesIO

        return BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _inject(html: bytes, snippet: bytes) -> bytes:
    lower = html.lower()
    at = lower.find(b"<head>")
    if at >= 0:
        at += len(b"<head>")
        return html[:at] + snippet + html[at:]
    return snippet + html


class Sites:
    def __init__(self, sessionstory_url: str, public_key: str) -> None:
        snippet = f'<script src="{sessionstory_url}/sdk.js" data-key="{public_key}" async></script>'.encode()
        handler = type("Handler", (_Handler,), {"snippet": snippet})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
