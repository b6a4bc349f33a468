"""The JSON API of CONTRACT.md, through the real app."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from sessionstory.config import Settings
from sessionstory.datadir import DataDir
from tests.conftest import batch, meta_event

T0 = 1_700_000_000_000


def _record(client: TestClient, key: str, session_id: str, start: int, batches: int = 1) -> None:  # type: ignore[type-arg]
    for seq in range(batches):
        events = [meta_event(start + seq * 1000, href=f"https://shop.example/p{seq}"),
                  {"type": 3, "timestamp": start + seq * 1000 + 500, "data": {"source": 1, "positions": []}}]
        assert client.post("/api/v1/ingest", json=batch(key, session_id, seq, events)).status_code == 200


def test_healthz_needs_no_auth(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_auth_is_required_and_checked(client: TestClient, project: Any) -> None:  # type: ignore[type-arg]
    assert client.get("/api/v1/projects").status_code == 401
    r = client.get("/api/v1/projects", headers={"Authorization": "Bearer sst_wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid API token"


def test_the_token_comes_from_the_authorization_header_alone(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                             auth: dict[str, str]) -> None:
    token = auth["Authorization"].removeprefix("Bearer ")
    assert client.get("/api/v1/projects", headers={"authorization": f"bearer {token}"}).status_code == 200
    for headers in ({"X-Authorization": f"Bearer {token}"}, {"Authorization": f"Basic {token}"},
                    {"Authorization": f"Bearer{token}"}):
        assert client.get("/api/v1/projects", headers=headers).status_code == 401, headers


def test_a_deleted_users_token_stops_working_at_once(client: TestClient, datadir: DataDir, project: Any,  # type: ignore[type-arg]
                                                     auth: dict[str, str]) -> None:
    """Checked tokens are remembered for a few seconds; deleting the user must not wait for that."""
    member = datadir.accounts.create_user("member@example.com", "member-password-1", "member")
    headers = {"Authorization": f"Bearer {datadir.accounts.create_token(member.email)}"}
    assert client.get("/api/v1/projects", headers=headers).status_code == 200  # now remembered
    assert client.delete("/api/v1/sessions", params={"project": project.id, "all": "true"}, headers=headers).status_code == 403
    datadir.accounts.set_role(member.id, "admin")
    assert client.delete("/api/v1/sessions", params={"project": project.id, "all": "true"}, headers=headers).status_code == 200
    datadir.accounts.delete_user(member.id)
    assert client.get("/api/v1/projects", headers=headers).status_code == 401
    assert client.get("/api/v1/projects", headers=auth).status_code == 200


def test_projects(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    listed = client.get("/api/v1/projects", headers=auth).json()
    assert {"id": project.id, "name": "Shop", "public_key": project.public_key} in listed


def test_session_list_is_newest_first_with_keyset_pages(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    for i in range(5):
        _record(client, project.public_key, f"s{i}", T0 + i * 60_000)
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"project": project.id, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/sessions", params=params, headers=auth).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["s4", "s3", "s2", "s1", "s0"]
    answer = client.get("/api/v1/sessions", params={"project": project.id}, headers={**auth, "Accept-Encoding": "identity"})
    assert answer.headers["content-type"] == "application/json"
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_list_rejects_bad_parameters(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    assert client.get("/api/v1/sessions?limit=0", headers=auth).status_code == 400
    assert client.get("/api/v1/sessions?limit=abc", headers=auth).status_code == 400
    assert client.get("/api/v1/sessions?cursor=%%%", headers=auth).status_code == 400
    assert client.get("/api/v1/sessions?project=nope", headers=auth).status_code == 404


def test_session_facts(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    _record(client, project.public_key, "s-facts", T0, batches=3)
    s = client.get("/api/v1/sessions/s-facts", headers=auth).json()
    assert s["project_id"] == project.id
    assert s["started_at"] == "2023-11-14T22:13:20.000Z"
    assert s["duration_ms"] == 2500
    assert s["event_count"] == 6 and s["page_count"] == 3
    assert s["entry_url"] == "https://shop.example/p0" and s["exit_url"] == "https://shop.example/p2"
    assert client.get("/api/v1/sessions/nope", headers=auth).status_code == 404


def test_events_come_back_in_timestamp_order(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    key = project.public_key
    late = [{"type": 3, "timestamp": T0 + 5000, "data": {"source": 1, "positions": [], "extra": {"kept": True}}}]
    early = [meta_event(T0), {"type": 2, "timestamp": T0 + 1, "data": {"node": {"type": 0, "childNodes": [], "id": 1}, "initialOffset": {"left": 0, "top": 0}}}]
    assert client.post("/api/v1/ingest", json=batch(key, "s-order", 1, late)).status_code == 200
    assert client.post("/api/v1/ingest", json=batch(key, "s-order", 0, early)).status_code == 200
    events = client.get("/api/v1/sessions/s-order/events", headers=auth).json()
    assert [e["timestamp"] for e in events] == [T0, T0 + 1, T0 + 5000]
    assert events[2] == late[0], "events come back exactly as recorded, unknown fields included"


def test_delete_removes_events_and_rows(
    client: TestClient, project: Any, auth: dict[str, str], settings: Settings, datadir: DataDir  # type: ignore[type-arg]
) -> None:
    events = [meta_event(T0, href="https://shop.example/UNIQUE-MARKER-PAGE")]
    client.post("/api/v1/ingest", json=batch(project.public_key, "s-del", 0, events))
    assert b"UNIQUE-MARKER-PAGE" in b"".join(
        __import__("zstandard").ZstdDecompressor().decompress(r.body) for _, r in datadir.log.scan() if r.body
    )
    assert client.delete("/api/v1/sessions/s-del", headers=auth).status_code == 204
    assert client.get("/api/v1/sessions/s-del", headers=auth).status_code == 404
    assert client.get("/api/v1/sessions/s-del/events", headers=auth).status_code == 404
    assert client.delete("/api/v1/sessions/s-del", headers=auth).status_code == 404
    assert all(r.meta.session_id != "s-del" for _, r in datadir.log.scan() if r.body)  # type: ignore[union-attr]
    datadir.index.flush()
    assert b"s-del" not in b"".join(p.read_bytes() for p in settings.segments_dir.iterdir())


def test_moments_of_a_session(client: TestClient, project: Any, auth: dict[str, str], datadir: DataDir) -> None:  # type: ignore[type-arg]
    from tests.events import click, mutation, page, snapshot

    events = [meta_event(T0), snapshot(T0), page(T0, "https://shop.example/"),
              *[click(T0 + 100 + i * 100, x=10, y=10) for i in range(3)], mutation(T0 + 5000)]
    client.post("/api/v1/ingest", json=batch(project.public_key, "s-moments", 0, events))
    datadir.index.flush()
    moments = client.get("/api/v1/sessions/s-moments/moments", headers=auth).json()
    kinds = [m["kind"] for m in moments]
    assert kinds.count("click") == 3 and kinds.count("rage_click") == 1 and kinds.count("dead_click") == 3
    assert {m["offset_ms"] for m in moments if m["kind"] == "rage_click"} == {100}
    assert client.get("/api/v1/sessions/nope/moments", headers=auth).status_code == 404


def test_events_come_in_pages_of_batches(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    at = 1_700_000_000_000
    for seq in range(5):
        events = [meta_event(at + seq * 1000 + 1)] if seq == 0 else [{"type": 3, "timestamp": at + seq * 1000, "data": {"source": 3, "id": 1, "x": 0, "y": seq}}]
        assert client.post("/api/v1/ingest", json=batch(project.public_key, "paged", seq=seq, events=events)).status_code == 200
    whole = client.get("/api/v1/sessions/paged/events", headers=auth)
    assert whole.headers["x-batches"] == "5" and len(whole.json()) == 5
    first = client.get("/api/v1/sessions/paged/events?start=0&count=2", headers=auth)
    rest = client.get("/api/v1/sessions/paged/events?start=2&count=10", headers=auth)
    assert first.json() + rest.json() == whole.json()
    assert client.get("/api/v1/sessions/paged/events?start=9&count=2", headers=auth).json() == []
    assert client.get("/api/v1/sessions/paged/events?count=0", headers=auth).status_code == 400


def test_the_schema_describes_the_api_and_only_the_api(client: TestClient) -> None:  # type: ignore[type-arg]
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert "/api/v1/sessions" in paths and "/api/v1/sessions/{session_id}/events" in paths and "/healthz" in paths
    # answers encoded in the worker thread (web/threads.Encoded) are documented as what they encode
    listed = paths["/api/v1/sessions"]["get"]
    assert listed["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Page"}
    assert {"project", "limit", "cursor", "exact_total"} <= {p["name"] for p in listed["parameters"]}
    assert not [p for p in paths if not p.startswith(("/api/", "/healthz", "/readyz", "/metrics"))]
    page = client.get("/schema")
    assert page.status_code == 200 and "/static/dist/swagger/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
