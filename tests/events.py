"""Builders of rrweb events as our SDK sends them, for tests that need exact journeys."""

from __future__ import annotations

from typing import Any

T0 = 1_700_000_000_000


def meta(at: int, href: str = "https://shop.example/", width: int = 1280, height: int = 800) -> dict[str, Any]:
    return {"type": 4, "timestamp": at, "data": {"href": href, "width": width, "height": height}}


def snapshot(at: int) -> dict[str, Any]:
    return {"type": 2, "timestamp": at, "data": {"node": {"type": 0, "id": 1, "childNodes": []},
                                                  "initialOffset": {"left": 0, "top": 0}}}


def custom(at: int, event_tag: str, **payload: Any) -> dict[str, Any]:
    return {"type": 5, "timestamp": at, "data": {"tag": event_tag, "payload": payload}}


def page(at: int, url: str, title: str = "", kind: str = "load", referrer: str = "") -> dict[str, Any]:
    return custom(at, "page", url=url, title=title, kind=kind, referrer=referrer)


def click(at: int, x: int = 100, y: int = 100, selector: str = "button#buy", text: str = "Buy") -> dict[str, Any]:
    return custom(at, "click", selector=selector, text=text, tag="button", x=x, y=y, vw=1280, vh=800)


def mutation(at: int) -> dict[str, Any]:
    return {"type": 3, "timestamp": at, "data": {"source": 0, "texts": [], "attributes": [], "removes": [],
                                                  "adds": []}}


def mouse_moves(at: int, xs: list[int], y: int = 300, step: int = 50) -> dict[str, Any]:
    """One MouseMove event whose positions are `step` ms apart, ending at `at`."""
    n = len(xs)
    positions = [{"x": x, "y": y, "id": 1, "timeOffset": -(n - 1 - i) * step} for i, x in enumerate(xs)]
    return {"type": 3, "timestamp": at, "data": {"source": 1, "positions": positions}}


def scroll(at: int, y: int, node: int = 1) -> dict[str, Any]:
    return {"type": 3, "timestamp": at, "data": {"source": 3, "id": node, "x": 0, "y": y}}


def error(at: int, message: str = "TypeError: x is undefined", stack: str = "") -> dict[str, Any]:
    stack = stack or f"{message}\n    at pay (https://shop.example/app.js:10:5)"
    return custom(at, "error", kind="error", message=message, stack=stack, source="https://shop.example/app.js")


def network(at: int, url: str, status: int, duration: int = 120, method: str = "GET") -> dict[str, Any]:
    return custom(at, "network", type="fetch", method=method, url=url, status=status, duration=duration)
