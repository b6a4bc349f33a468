"""`python -m eval.record`: records the eval's scenario sessions with the real SDK in Chromium.

It starts a throwaway SessionStory server and the small tea shop in `eval/site/` (its own
loopback port, so the SDK talks to SessionStory cross-origin, as on a customer's site), walks
each journey of `JOURNEYS` in a fresh browser context, and keeps each session's events as the
server stored them (masked by the SDK) in `eval/recordings.json.zst`, with both origins
replaced by fixed ones so a recording does not depend on the ports it was made on.
Run it after changing a page, a journey or the SDK; `python -m eval` only reads the file.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import zstandard

ROOT = Path(__file__).parents[1]
SITE = Path(__file__).parent / "site"
OUT = Path(__file__).parent / "recordings.json.zst"
SITE_ORIGIN = "https://tea.example"  # what the recordings say in place of the shop's loopback address
SERVER_ORIGIN = "https://sessionstory.example"  # and in place of SessionStory's
PLACEHOLDER = b"<!--sessionstory-->"
VIEWPORT = {"width": 1024, "height": 700}

# The shop's few endpoints, each answering as the journey needs: (method, path) -> status.
ANSWERS = {("GET", "/api/stock"): 404, ("POST", "/api/pay"): 200, ("POST", "/api/pay?gateway=down"): 500,
           ("POST", "/api/login"): 401}
SLOW = {"/deals.html": 4.5}  # seconds before the page's first byte: a slow page


class _Shop(SimpleHTTPRequestHandler):
    snippet = b""

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path in SLOW:
            time.sleep(SLOW[self.path])
        if ("GET", self.path) in ANSWERS:
            return self._answer(ANSWERS["GET", self.path])
        path = self.path.split("?", 1)[0]
        page = SITE / ("index.html" if path == "/" else path.lstrip("/"))
        if page.suffix != ".html" or not page.is_file():
            return super().do_GET()
        self._send(200, "text/html; charset=utf-8", page.read_bytes().replace(PLACEHOLDER, self.snippet))

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(ANSWERS.get(("POST", self.path), 404))

    def _answer(self, status: int) -> None:
        self._send(status, "application/json", json.dumps({"ok": status < 400}).encode())

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Shop:
    """The tea shop on a loopback port, each page carrying the SDK snippet."""

    def __init__(self, sessionstory_url: str, public_key: str) -> None:
        snippet = f'<script src="{sessionstory_url}/sdk.js" data-key="{public_key}" async></script>'.encode()
        handler = type("Handler", (_Shop,), {"snippet": snippet})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(SITE)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the journeys: what each scenario's visitor does --------------------------------------------

Journey = Callable[[Any, str], None]  # (playwright page, the shop's URL)


def _ready(page: Any) -> None:
    """Until the SDK on the page has started (a page view before it would go unrecorded)."""
    page.wait_for_function("window.sessionstory && typeof window.sessionstory.sessionId() === 'string'")
    page.wait_for_timeout(400)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    _ready(page)


def _follow(page: Any, selector: str) -> None:
    """A click on a link (or a form that moves on): the next page, recorded."""
    with page.expect_navigation():
        page.click(selector)
    _ready(page)


def _rage(page: Any, selector: str) -> None:
    for _ in range(4):
        page.click(selector)
        page.wait_for_timeout(90)


def checkout_typeerror_rage(page: Any, shop: str) -> None:
    _open(page, f"{shop}/cart.html")
    _rage(page, "#checkout")


def _add_and_check_out(page: Any) -> None:
    page.click("#add")
    page.wait_for_timeout(600)
    _follow(page, "main >> text=Checkout")


def _pay(page: Any, name: str, card: str, answer: str) -> None:
    page.fill("input[name=name]", name)
    page.fill("input[name=card]", card)
    page.click("#pay")
    page.wait_for_selector(f"text={answer}")


def smooth_purchase(page: Any, shop: str) -> None:
    _open(page, f"{shop}/product.html?tea=sencha")
    _add_and_check_out(page)
    _pay(page, "Ann Lee", "4242 4242 4242 4242", "Thank you")


def pricing_dead_click(page: Any, shop: str) -> None:
    _open(page, f"{shop}/pricing.html")
    page.click("#compare")
    page.wait_for_timeout(3500)  # long enough for the click to be judged: nothing changed
    _follow(page, "text=Questions? Contact us")


def payment_fails(page: Any, shop: str) -> None:
    _open(page, f"{shop}/checkout.html?gateway=down")
    _pay(page, "Bo Chen", "5555 5555 5555 4444", "Payment failed")


def bounce_from_home(page: Any, shop: str) -> None:
    _open(page, f"{shop}/")
    page.mouse.move(300, 200, steps=5)
    page.wait_for_timeout(2000)


def signup(page: Any, shop: str) -> None:
    _open(page, f"{shop}/signup.html")
    page.fill("input[name=email]", "cy@example.com")
    page.fill("input[name=password]", "a long password")
    _follow(page, "text=Create account")


def blog_referenceerror(page: Any, shop: str) -> None:
    _open(page, f"{shop}/blog.html")
    page.mouse.wheel(0, 900)
    page.wait_for_timeout(1500)


def cart_abandoned(page: Any, shop: str) -> None:
    _open(page, f"{shop}/product.html?tea=oolong")
    page.click("#add")
    page.wait_for_timeout(800)
    _follow(page, "header >> text=Cart")
    page.wait_for_timeout(1500)


def search_filter_dead(page: Any, shop: str) -> None:
    _open(page, f"{shop}/search.html")
    page.click("#filter")
    page.wait_for_timeout(3500)
    page.click("#filter")
    page.wait_for_timeout(3500)


def products_stock_404(page: Any, shop: str) -> None:
    _open(page, f"{shop}/products.html")
    page.wait_for_selector("text=Stock unknown")
    page.wait_for_timeout(1200)


def _read(page: Any, depth: int) -> None:
    """Scroll down a page, read a while, and back up to its links."""
    page.mouse.wheel(0, depth)
    page.wait_for_timeout(1200)
    page.mouse.wheel(0, -depth)


def docs_reader(page: Any, shop: str) -> None:
    _open(page, f"{shop}/docs.html")
    _read(page, 800)
    _follow(page, "text=Install the tea timer")
    _read(page, 1200)
    _follow(page, "main >> text=API")
    page.wait_for_timeout(1500)


def contact_submit_rage(page: Any, shop: str) -> None:
    _open(page, f"{shop}/contact.html")
    page.fill("input[name=message]", "Where is my order?")
    _rage(page, "#send")


def settings_save_error(page: Any, shop: str) -> None:
    _open(page, f"{shop}/settings.html")
    page.click("#save")
    page.wait_for_timeout(800)


def login_rejected(page: Any, shop: str) -> None:
    _open(page, f"{shop}/login.html")
    page.fill("input[name=email]", "dee@example.com")
    page.fill("input[name=password]", "not my password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Wrong email")


def purchase_despite_error(page: Any, shop: str) -> None:
    _open(page, f"{shop}/product.html?tea=matcha")
    page.click("#zoom")
    page.wait_for_timeout(700)
    _add_and_check_out(page)
    _pay(page, "Eve Ito", "4242 4242 4242 4242", "Thank you")


def quick_back(page: Any, shop: str) -> None:
    _open(page, f"{shop}/products.html")
    _follow(page, "text=Oolong")
    page.wait_for_timeout(800)
    page.go_back()
    _ready(page)
    page.wait_for_timeout(1200)


def slow_deals(page: Any, shop: str) -> None:
    _open(page, f"{shop}/deals.html")
    page.mouse.wheel(0, 400)
    page.wait_for_timeout(1500)


def form_abandoned(page: Any, shop: str) -> None:
    _open(page, f"{shop}/newsletter.html")
    page.fill("input[name=name]", "Flo")
    page.wait_for_timeout(700)
    page.fill("input[name=email]", "flo@exa")
    page.wait_for_timeout(2000)


JOURNEYS: dict[str, Journey] = {f.__name__.replace("_", "-"): f for f in [
    checkout_typeerror_rage, smooth_purchase, pricing_dead_click, payment_fails, bounce_from_home, signup,
    blog_referenceerror, cart_abandoned, search_filter_dead, products_stock_404, docs_reader, contact_submit_rage,
    settings_save_error, login_rejected, purchase_despite_error, quick_back, form_abandoned, slow_deals]}


# -- recording ------------------------------------------------------------------------------


def _walk(browser: Any, shop: Shop, journey: Journey) -> str:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    journey(page, shop.url)
    page.wait_for_timeout(1500)  # every click's outcome window closes while the visitor is still there
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")
    context.close()
    return str(session_id)


def _portable(events: list[dict[str, Any]], shop: str, server: str) -> list[dict[str, Any]]:
    text = json.dumps(events).replace(shop, SITE_ORIGIN).replace(server, SERVER_ORIGIN)
    return json.loads(text)  # type: ignore[no-any-return]


def record(only: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each journey's session, as the server stored it: {scenario id: events}."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium
    from tests.server import Server

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium found: install it (apt-get install chromium) or set SESSIONSTORY_CHROMIUM")
    recorded = {}
    with tempfile.TemporaryDirectory(prefix="sessionstory-eval-record-") as tmp, sync_playwright() as p:
        server = Server(Path(tmp) / "data").start()
        shop = None
        try:
            token, key = server.token(), server.project("Tea shop")["public_key"]
            shop = Shop(server.url, key)
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for name, journey in JOURNEYS.items():
                if only and name not in only:
                    continue
                session_id = _walk(browser, shop, journey)
                events = server.get_json(f"/api/v1/sessions/{session_id}/events", token)
                recorded[name] = _portable(events, shop.url, server.url)  # type: ignore[arg-type]
                print(f"{name}: {len(recorded[name])} events", file=sys.stderr)
            browser.close()
        finally:
            if shop is not None:
                shop.close()
            server.stop()
    return recorded


def save(recorded: dict[str, list[dict[str, Any]]]) -> None:
    data = [{"id": name, "events": events} for name, events in recorded.items()]
    OUT.write_bytes(zstandard.ZstdCompressor(level=19).compress(json.dumps(data, separators=(",", ":")).encode()))


def main(argv: list[str] | None = None) -> int:
    only = (argv if argv is not None else sys.argv[1:]) or None
    recorded = record(only)
    if only and OUT.exists():  # re-recorded a few: keep the others as they were
        from eval.scenarios import recordings

        recorded = {**recordings(), **recorded}
    save(recorded)
    print(f"wrote {len(recorded)} sessions to {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
