"""Live viewing over a real server: the SSE stream, resuming after a reconnect, and the SDK's cue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from sessionstory.index.sessions import SessionDetail
from sessionstory.live import LiveHub
from sessionstory.web.live import nothing_known, pending_live_session
from tests.events import T0, meta, mutation, snapshot
from tests.server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("live") / "data").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.token()


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return server.project("Live")["public_key"]


def send(server: Server, key: str, session_id: str, seq: int, events: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"key": key, "session_id": session_id, "visitor_id": "v1", "seq": seq, "events": events}
    r = httpx.post(f"{server.url}/api/v1/ingest", json=body, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


class Stream:
    """A minimal Server-Sent Events reader over one httpx streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()
        self.last_id: str | None = None

    def next_event(self) -> tuple[str, dict[str, Any]]:
        kind, data = "message", []
        for line in self.lines:
            if line == "":
                if any(data):  # a comment (heartbeat) comes with an empty data line: no event
                    return kind, json.loads("\n".join(data))
                kind, data = "message", []
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                self.last_id = value
        raise AssertionError("the stream ended")


def watch(server: Server, token: str, session_id: str, last_id: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **({"Last-Event-ID": last_id} if last_id else {})}
    client = httpx.Client(timeout=httpx.Timeout(10, read=20))
    request = client.build_request("GET", f"{server.url}/api/v1/sessions/{session_id}/live", headers=headers)
    return client.send(request, stream=True)


def stamps(payload: dict[str, Any]) -> list[int]:
    return [e["timestamp"] for e in payload["events"]]


def test_a_viewer_gets_the_session_so_far_then_each_batch_as_it_lands(server: Server, token: str, key: str) -> None:
    sid = f"live-{uuid.uuid4().hex}"
    assert send(server, key, sid, 0, [meta(T0), snapshot(T0 + 1)]) == {"ok": True}
    response = watch(server, token, sid)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    stream = Stream(response)
    kind, opening = stream.next_event()
    assert kind == "start" and stamps(opening) == [T0, T0 + 1]

    # While someone watches, the ingest answer tells the SDK to hurry.
    assert send(server, key, sid, 1, [mutation(T0 + 500)]) == {"ok": True, "watched": True}
    kind, batch = stream.next_event()
    assert kind == "batch" and stamps(batch) == [T0 + 500]
    assert batch["received_ms"] <= batch["now_ms"]
    response.close()

    # Once the viewer has gone, the SDK goes back to its normal pace.
    deadline = time.monotonic() + 5
    while send(server, key, sid, 2, [mutation(T0 + 600)]).get("watched") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "watched" not in send(server, key, sid, 3, [mutation(T0 + 700)])


def test_a_reconnect_resumes_without_gaps_or_duplicates(server: Server, token: str, key: str) -> None:
    sid = f"live-{uuid.uuid4().hex}"
    send(server, key, sid, 0, [meta(T0), snapshot(T0 + 1)])
    stream = Stream(watch(server, token, sid))
    stream.next_event()
    send(server, key, sid, 1, [mutation(T0 + 100)])
    assert stamps(stream.next_event()[1]) == [T0 + 100]
    resume_from = stream.last_id
    stream.response.close()

    # Missed while away: two new batches, one of them out of order, and a retry of one already seen.
    send(server, key, sid, 3, [mutation(T0 + 300)])
    send(server, key, sid, 2, [mutation(T0 + 200)])
    send(server, key, sid, 1, [mutation(T0 + 100)])
    stream = Stream(watch(server, token, sid, last_id=resume_from))
    missed = [stamps(stream.next_event()[1]) for _ in range(2)]
    assert missed == [[T0 + 300], [T0 + 200]]  # in the order they were stored, each once
    send(server, key, sid, 4, [mutation(T0 + 400)])
    kind, batch = stream.next_event()
    assert kind == "batch" and stamps(batch) == [T0 + 400]
    stream.response.close()


def test_watching_asks_for_a_known_session_and_a_well_formed_resume_point(server: Server, token: str, key: str) -> None:
    assert watch(server, token, "no-such-session").status_code == 404
    sid = f"live-{uuid.uuid4().hex}"
    send(server, key, sid, 0, [meta(T0)])
    response = watch(server, token, sid, last_id="not-a-position")
    assert response.status_code == 400 and "Last-Event-ID" in response.read().decode()
    unauthenticated = httpx.get(f"{server.url}/api/v1/sessions/{sid}/live", timeout=5)
    assert unauthenticated.status_code == 401


def test_a_session_not_indexed_here_is_pending_only_in_a_cluster_with_every_fact_empty() -> None:
    assert pending_live_session(LiveHub(), "s-elsewhere") is None  # a single node: no such session
    hub = LiveHub()
    hub.on_watch = lambda session_id: None  # what cluster/live.py's relay sets: other nodes' batches reach this hub
    detail = pending_live_session(hub, "s-elsewhere")
    assert detail is not None
    assert (detail.id, detail.project_id, detail.visitor_id, detail.live) == ("s-elsewhere", "", "", True)
    assert detail.started_at == detail.ended_at
    for field in msgspec.structs.fields(SessionDetail):
        value = getattr(detail, field.name)
        if not field.required:
            default = field.default if field.default_factory is msgspec.NODEFAULT else field.default_factory()
            assert value == default, field.name
        elif field.type is int:
            assert value == 0, field.name
        elif field.name not in ("id", "project_id", "visitor_id", "started_at", "ended_at", "live"):
            assert value is None, field.name


def test_a_field_added_to_the_session_later_is_empty_in_a_pending_one_too() -> None:
    class Later(SessionDetail, kw_only=True):
        replays: int
        landing_title: str | None

    given = {"id": "s", "project_id": "", "visitor_id": "", "started_at": "t", "ended_at": "t", "live": True}
    later = nothing_known(Later, **given)
    assert (later.replays, later.landing_title, later.event_count, later.user_id) == (0, None, 0, None)

    class Tagged(SessionDetail, kw_only=True):
        tag: str  # no empty value to assume: whoever adds such a field must say what it is

    with pytest.raises(TypeError, match="tag"):
        nothing_known(Tagged, **given)
