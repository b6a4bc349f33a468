"""Steps to reproduce: reading a session as human steps, the Playwright test made of them, and the API."""

from __future__ import annotations

import ast
from typing import Any

import msgspec
from litestar.testing import TestClient

from sessionstory.events import Event
from sessionstory.reproduce import Reproduction, playwright_test, plain_text, reproduction
from sessionstory.web.reproduce import _made as steps_kept
from tests.conftest import batch
from tests.events import T0, click, custom, error, meta, mouse_moves, network, page, snapshot

SITE = "https://shop.example"


def _read(events: list[dict[str, Any]]) -> Reproduction:
    return reproduction(msgspec.json.decode(msgspec.json.encode(events), type=list[Event]))


def typed(at: int, selector: str = "input#card", name: str = "card", kind: str = "text") -> dict[str, Any]:
    return custom(at, "input", selector=selector, type=kind, name=name)


def scrolled(at: int, depth: int) -> dict[str, Any]:
    return custom(at, "scroll", depth=depth, height=3000)


def checkout_journey() -> list[dict[str, Any]]:
    return [
        meta(T0, f"{SITE}/shop", 1024, 700), snapshot(T0), page(T0 + 5, f"{SITE}/shop", "Shop"), scrolled(T0 + 6, 40),
        mouse_moves(T0 + 400, [10, 50, 90]), scrolled(T0 + 500, 60), scrolled(T0 + 700, 80),
        click(T0 + 1000, selector="a#cart", text="Cart"), page(T0 + 1400, f"{SITE}/cart", "Cart", referrer=f"{SITE}/shop"), scrolled(T0 + 1401, 100),
        click(T0 + 2000, selector="input#card", text="Card number"),
        {"type": 3, "timestamp": T0 + 2100, "data": {"source": 5, "id": 9, "text": "****", "isChecked": False}},
        typed(T0 + 2500), typed(T0 + 2900),
        click(T0 + 3000, selector="button#checkout", text="Checkout"),
        network(T0 + 3250, f"{SITE}/api/pay", 500, method="POST"), error(T0 + 3300),
        page(T0 + 9000, f"{SITE}/shop", "Shop"),
    ]


def test_a_journey_reads_as_numbered_steps_with_offsets() -> None:
    r = _read(checkout_journey())
    assert plain_text(r.steps) == (
        "1. Opened /shop (Shop)\n"
        "2. Scrolled to 80 %\n"
        '3. Clicked "Cart" (a#cart)\n'
        "4. Opened /cart (Cart)\n"
        '5. Typed into "Card number" (input#card)\n'
        '6. Clicked "Checkout" (button#checkout)\n'
        "7. Request POST /api/pay failed (500)\n"
        "8. Saw TypeError: x is undefined\n"
        "9. Went back to /shop (Shop)\n"
    )
    assert [s.at for s in r.steps] == [5, 500, 1000, 1400, 2000, 3000, 3250, 3300, 9000]
    assert [s.kind for s in r.steps] == ["open", "scroll", "click", "navigate", "input", "click", "network", "error",
                                         "back"]
    assert r.origin == SITE and r.viewport == (1024, 700) and r.last_url == f"{SITE}/shop"
    assert r.errors == ["TypeError: x is undefined"]


def test_typing_is_one_step_and_no_value_is_ever_read() -> None:
    events = [meta(T0), page(T0, f"{SITE}/"), *[typed(T0 + 100 * i, "input#q", "q") for i in range(1, 6)],
              typed(T0 + 700, "textarea#note", "note"), typed(T0 + 800, "input#q", "q")]
    r = _read(events)
    assert [s.text for s in r.steps[1:]] == ['Typed into "q" (input#q)', 'Typed into "note" (textarea#note)',
                                             'Typed into "q" (input#q)']
    source = playwright_test(r, "s", "http://replay/sessions/s")
    assert "placeholder" in source and "****" not in source


def test_what_happened_in_one_millisecond_reads_in_the_order_it_was_recorded() -> None:
    """A quick click (mouse down and up in one millisecond) on the next field: the change of the field left,
    fired as the mousedown blurred it, shares the click's millisecond and was recorded before it; a
    checkbox's change comes after the click that ticked it."""
    events = [meta(T0), page(T0, f"{SITE}/checkout"), click(T0 + 100, selector="#name", text="name"),
              typed(T0 + 900, "#name", "name"), click(T0 + 900, selector="#password", text="password"),
              typed(T0 + 1500, "#password", "password"), click(T0 + 1500, selector="#terms", text="I agree"),
              typed(T0 + 1500, "#terms", "terms", "checkbox"), click(T0 + 2000, selector="#pay", text="Pay")]
    assert plain_text(_read(events).steps) == (
        "1. Opened /checkout\n"
        '2. Typed into "name" (#name)\n'
        '3. Typed into "password" (#password)\n'
        '4. Clicked "I agree" (#terms)\n'
        '5. Clicked "Pay" (#pay)\n'
    )


def test_checkboxes_rage_clicks_and_link_back_to_the_previous_page() -> None:
    events = [meta(T0), page(T0, f"{SITE}/a"), click(T0 + 100, selector="label.terms", text="I accept"),
              typed(T0 + 110, "input#terms", "terms", "checkbox"),
              *[click(T0 + 1000 + 150 * i, selector="button#dead", text="Nothing") for i in range(4)],
              {**click(T0 + 3000, selector="a#to-b", text="B"), "data": {"tag": "click", "payload": {
                  "selector": "a#to-b", "text": "B", "tag": "a", "x": 1, "y": 1}}},
              page(T0 + 3200, f"{SITE}/b", referrer=f"{SITE}/a"),
              {**click(T0 + 4000, selector="a#home", text="Back to A"), "data": {"tag": "click", "payload": {
                  "selector": "a#home", "text": "Back to A", "tag": "a", "x": 1, "y": 1}}},
              page(T0 + 4200, f"{SITE}/a", referrer=f"{SITE}/b"), page(T0 + 4300, f"{SITE}/a?tab=2", kind="replace")]
    r = _read(events)
    assert [s.text for s in r.steps] == [
        "Opened /a", 'Clicked "I accept" (label.terms)', 'Clicked "Nothing" 4 times (button#dead)',
        'Clicked "B" (a#to-b)', "Opened /b", 'Clicked "Back to A" (a#home)', "Opened /a?tab=2"]
    assert r.steps[2].times == 4
    redirected = _read([*events[:1], page(T0, f"{SITE}/a"), click(T0 + 100, selector="a#in", text="Sign in"),
                        page(T0 + 300, f"{SITE}/login", referrer=f"{SITE}/a"), page(T0 + 400, f"{SITE}/home", kind="push")])
    assert [s.text for s in redirected.steps[1:]] == ['Clicked "Sign in" (a#in)', "Opened /home"]


def test_a_load_soon_after_a_click_followed_it_only_with_a_referrer() -> None:
    base = [meta(T0), page(T0, f"{SITE}/a"), click(T0 + 100, selector="button#pay", text="Pay")]
    typed_url = _read([*base, page(T0 + 900, f"{SITE}/b")])
    followed = _read([*base, page(T0 + 900, f"{SITE}/b", referrer=f"{SITE}/a")])
    assert [s.kind for s in typed_url.steps] == ["open", "click", "open"]
    assert [s.kind for s in followed.steps] == ["open", "click", "navigate"]


def test_typing_then_leaving_without_a_click_is_a_submit() -> None:
    r = _read([meta(T0), page(T0, f"{SITE}/"), typed(T0 + 500, "input#q", "q", "search"),
               page(T0 + 900, f"{SITE}/search?q=tea", "Results", referrer=f"{SITE}/")])
    assert r.steps[1].text == 'Typed into "q" (input#q), then submitted' and r.steps[2].kind == "navigate"
    assert "enter=True" in playwright_test(r, "s", "http://replay/sessions/s")


HOSTILE = [
    '"); import os; os.system("x") #',
    "'); import os; os.system('x') #",
    "<script>alert(1)</script>",
    "x\nimport os\nos.system('x')",
    "x\r__import__('os').system('x')",
    "\u2028__import__('os')\u2029\x00\\",
    '"""\'\'\'{0}{{}}%s',
]

# Everything the generated file may call: its own helpers, Playwright's API, a few builtins.
ALLOWED_CALLS = {
    "step", "url", "click", "fill", "choose", "scroll_to", "arrive", "go", "find", "nearest", "same_page",
    "saw_error", "chromium", "replay", "check", "test_reproduce_session", "sync_playwright", "print", "any",
    "range", "min", "max", "float", "urlsplit", "exists", "get", "rstrip", "goto", "go_back", "go_forward",
    "reload", "wait_for_url", "wait_for", "locator", "get_by_text", "get_by_placeholder", "get_by_label", "or_",
    "count", "filter", "nth", "bounding_box", "evaluate", "fill", "press", "select_option", "wait_for_timeout",
    "launch", "new_context", "new_page", "set_default_timeout", "on", "append", "close",
}


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "?")
    return names


def test_hostile_strings_stay_inert_literals_in_the_generated_test() -> None:
    events: list[dict[str, Any]] = [meta(T0, f"{SITE}/"), page(T0, f"{SITE}/" + HOSTILE[0], HOSTILE[1])]
    for i, bad in enumerate(HOSTILE):
        at = T0 + 1000 * (i + 1)
        events += [click(at, selector=bad, text=bad), typed(at + 100, bad, bad), error(at + 200, message=bad),
                   network(at + 300, f"{SITE}/{bad}", 500, method="POST")]
    events += [page(T0 + 20_000, f"{SITE}/end?{HOSTILE[2]}", HOSTILE[3], kind="push")]
    r = _read(events)
    source = playwright_test(r, HOSTILE[0], HOSTILE[2])
    tree = ast.parse(source)
    compile(source, "generated.py", "exec")
    assert _called_names(tree) <= ALLOWED_CALLS, _called_names(tree) - ALLOWED_CALLS
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
               for alias in node.names}
    assert imports == {"annotations", "os", "urlsplit", "Error", "Locator", "Page", "sync_playwright"}
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    for bad in HOSTILE:
        assert any(bad in lit for lit in literals), f"{bad!r} is not inside a string literal"
    # A line break cannot end a comment early: every comment is ours.
    comments = [line.split("#", 1)[1] for line in source.splitlines() if line.lstrip().startswith("#")]
    assert not any("import" in c or "<script>" in c for c in comments)


def test_the_ending_is_checked_and_urls_follow_base_url() -> None:
    r = _read(checkout_journey())
    source = playwright_test(r, "s-1", "http://replay/sessions/s-1")
    assert "page.goto(url('/shop'))" in source and "arrive(page, url('/cart'))" in source
    assert "ended = url('/shop')" in source
    assert "saw_error(page, errors, 'TypeError: x is undefined')" in source
    assert 'os.environ.get("BASE_URL", RECORDED_ORIGIN)' in source and "RECORDED_ORIGIN = 'https://shop.example'" in source
    assert '"width": 1024, "height": 700' in source


def test_an_empty_session_has_no_steps_and_still_makes_valid_code() -> None:
    r = _read([])
    assert r.steps == []
    compile(playwright_test(r, "s", "u"), "generated.py", "exec")


def test_steps_api(client: TestClient, project: Any, auth: dict[str, str], datadir: Any) -> None:  # type: ignore[type-arg]
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "s-steps", 0, checkout_journey())).status_code == 200
    datadir.index.flush()
    body = client.get("/api/v1/sessions/s-steps/steps", headers=auth).json()
    assert body["steps"][0] == {"n": 1, "at": 5, "text": "Opened /shop (Shop)", "kind": "open"}
    assert [s["n"] for s in body["steps"]] == list(range(1, 10))

    for path in ("/api/v1/sessions/s-steps/steps.py", "/api/v1/sessions/s-steps/steps?format=playwright"):
        r = client.get(path, headers=auth)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
        assert r.headers["content-disposition"] == 'attachment; filename="test_session_s_steps.py"'
        compile(r.text, "generated.py", "exec")
        assert "REPLAY_URL = 'http" in r.text and "/sessions/s-steps'" in r.text

    assert client.get("/api/v1/sessions/s-steps/steps?format=xml", headers=auth).status_code == 400
    assert client.get("/api/v1/sessions/nope/steps", headers=auth).status_code == 404
    assert client.get("/api/v1/sessions/nope/steps.py", headers=auth).status_code == 404
    assert client.get("/api/v1/sessions/s-steps/steps").status_code == 401
    assert client.get("/api/v1/sessions/s-steps/steps.py").status_code == 401


def test_steps_are_kept_per_session_until_its_records_change(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                            auth: dict[str, str], datadir: Any) -> None:
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "s-grow", 0, checkout_journey())).status_code == 200
    datadir.index.flush()
    first = client.get("/api/v1/sessions/s-grow/steps", headers=auth).json()["steps"]
    assert client.get("/api/v1/sessions/s-grow/steps", headers=auth).json()["steps"] == first, "the same steps again"
    later = [click(T0 + 60_000, x=40, y=40, text="Pay now")]
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "s-grow", 1, later)).status_code == 200
    datadir.index.flush()
    grown = client.get("/api/v1/sessions/s-grow/steps", headers=auth).json()["steps"]
    assert len(grown) == len(first) + 1 and "Pay now" in grown[-1]["text"], "a new batch is read, not the kept steps"
    kept_for = lambda: [key for key in steps_kept._values if key[1] == "s-grow"]  # noqa: E731
    assert kept_for(), "the steps were kept"
    assert client.delete("/api/v1/sessions/s-grow", headers=auth).status_code in (200, 204)
    assert client.get("/api/v1/sessions/s-grow/steps", headers=auth).status_code == 404, "nothing kept outlives the session"
    assert not kept_for(), "erasing the records drops the steps made from them from memory too (store/kept.py)"
