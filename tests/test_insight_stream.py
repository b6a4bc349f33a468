"""The session summary streamed over Server-Sent Events, with the real default model."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.app import create_app
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from tests.events import T0, click, error, meta, mutation, page, snapshot
from tests.test_dashboard import sign_in
from tests.test_insights import _record, app, model_file  # noqa: F401  (fixtures: the real model's app)

pytest.importorskip("llama_cpp", reason="llama-cpp-python is part of `make test`'s install")

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def _events(body: str) -> list[tuple[str, str]]:
    """(event, data) of each named message of a text/event-stream body (ours all have a name)."""
    found = []
    for message in re.split(r"\r?\n\r?\n", body):
        fields = [(name, value.removeprefix(" ")) for name, _, value in (line.partition(":") for line in message.splitlines())]
        names = [value for name, value in fields if name == "event"]
        if names:
            found.append((names[-1], "\n".join(value for name, value in fields if name == "data")))
    return found


def _stream(client: TestClient, session_id: str) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    r = client.get(f"/sessions/{session_id}/insight/stream")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return _events(r.text)


def test_pieces_escaped_then_the_card_then_done_and_a_cached_card_alone(app: Any) -> None:  # noqa: F811
    client, dd, auth = app
    _record(client, dd, "stream-hostile", [
        meta(T0, "https://shop.example/cart"), snapshot(T0), page(T0, "https://shop.example/cart", HOSTILE),
        *[click(T0 + 1000 + i * 120, x=300, y=400, text=HOSTILE) for i in range(4)],
        error(T0 + 1200, "TypeError: " + HOSTILE), mutation(T0 + 9000),
    ])
    assert sign_in(client, "ai@example.com", "ai password 1").status_code in (302, 303)

    events = _stream(client, "stream-hostile")
    names = [name for name, _ in events]
    assert names[-2:] == ["card", "done"] and set(names[:-2]) == {"piece"}, names
    pieces = [data for name, data in events if name == "piece"]
    assert pieces, "a new summary streams the model's words before its card"
    assert not any(c in data for data in pieces for c in "<>\"'"), "each piece is escaped text, never markup"
    made = client.get("/api/v1/sessions/stream-hostile/insight", headers=auth).json()
    assert made["model_text"] in html.unescape("".join(pieces)), "the pieces are what the model wrote"

    card = events[-2][1]
    assert card == client.get("/sessions/stream-hostile/insight").text, "the card the card route renders"
    # The timeline drops angle brackets before the model reads anything; the rest arrives escaped.
    assert "<script" not in card and "<img" not in card and "onerror=&#39;alert(1)&#39;" in card
    assert 'href="?t=0"' in card, "the rage click at 1 s seeks the player"

    again = _stream(client, "stream-hostile")
    assert again == [("card", card), ("done", "")], "a cached summary sends its card at once"


def _sent_to(r: Any) -> str:
    """Where a signed-out answer sends the browser: its redirect, or htmx's."""
    return str(r.headers.get("location") or r.headers.get("hx-redirect") or "")


def test_sign_in_and_unknown_sessions_as_the_card_route_answers(app: Any) -> None:  # noqa: F811
    client, dd, _ = app
    client.cookies.clear()  # signed out
    for headers in ({}, {"HX-Request": "true"}):
        card = client.get("/sessions/stream-hostile/insight", headers=headers, follow_redirects=False)
        stream = client.get("/sessions/stream-hostile/insight/stream", headers=headers, follow_redirects=False)
        assert stream.status_code in (204, 303) and "alert" not in stream.text
        assert [_sent_to(card), card.status_code] == [_sent_to(stream).replace("/insight/stream", "/insight"),
                                                      stream.status_code]
        assert _sent_to(stream).startswith("/login?next=/sessions/stream-hostile/insight/stream")
    assert sign_in(client, "ai@example.com", "ai password 1").status_code in (302, 303)
    missing = client.get("/sessions/no-such-session/insight/stream")
    assert missing.status_code == 404 and "text/event-stream" not in missing.headers["content-type"]



def test_a_model_that_cannot_load_sends_the_card_with_the_problem(tmp_path: Path) -> None:
    settings = prepare_data_dir(load_settings(tmp_path / "data", env={"SESSIONSTORY_LLM_MODEL": str(tmp_path / "none.gguf")}))
    dd = DataDir(settings)
    try:
        with TestClient(create_app(settings, dd)) as client:
            dd.accounts.create_user("nomodel@example.com", "no model pass 1", "admin")
            _record(client, dd, "stream-no-model", [meta(T0, "https://shop.example/"), snapshot(T0),
                                                    page(T0, "https://shop.example/", "Home"), mutation(T0 + 9000)])
            assert sign_in(client, "nomodel@example.com", "no model pass 1").status_code in (302, 303)
            events = _stream(client, "stream-no-model")
            # Asked again (the model may then fail another way, an OSError): still a card saying so, never a
            # broken stream that the browser would reopen again and again.
            again = _stream(client, "stream-no-model")
    finally:
        dd.close()
    assert [name for name, _ in events] == ["card", "done"] == [name for name, _ in again]
    assert "Summaries are unavailable" in events[0][1] and "none.gguf" in events[0][1]
    assert "Summaries are unavailable" in again[0][1]
