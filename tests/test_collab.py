"""Comments, share links and tabs through the real app: who may do what, and what a token opens."""

from __future__ import annotations

import re
import time
from typing import Any

from litestar.testing import TestClient

from sessionstory.collab import ShareLinks, token_digest
from sessionstory.datadir import DataDir
from tests.conftest import PASSWORD, stored_bytes
from tests.events import meta, page, snapshot
from tests.test_dashboard import sign_in

T0 = int(time.time() * 1000) - 600_000


def _record(client: TestClient, key: str, sid: str, start: int = T0, length: int = 60_000,  # type: ignore[type-arg]
            visitor: str = "visitor-1") -> None:
    events = [meta(start, "https://shop.example/"), snapshot(start), page(start, "https://shop.example/", "Home"),
              page(start + length, "https://shop.example/cart", "Cart")]
    r = client.post("/api/v1/ingest", json={"key": key, "session_id": sid, "visitor_id": visitor, "seq": 0,
                                            "events": events})
    assert r.status_code == 200, r.text


def _csrf(client: TestClient) -> str:  # type: ignore[type-arg]
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]


def _member(datadir: DataDir, email: str = "member@example.com") -> dict[str, str]:
    datadir.accounts.create_user(email, PASSWORD, "member")
    return {"Authorization": f"Bearer {datadir.accounts.create_token(email, 'tests')}"}


# -- comments -------------------------------------------------------------------------------


def test_comments_are_added_listed_in_time_order_and_deleted_by_their_author(
        client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    _record(client, project.public_key, "s-comments")
    url = "/api/v1/sessions/s-comments/comments"
    late = client.post(url, json={"at_ms": 30_000, "body": "  Checkout button dead here \n"}, headers=auth)
    early = client.post(url, json={"at_ms": 1_000, "body": "<b>bold</b>"}, headers=auth)
    assert late.status_code == 201 and early.status_code == 201
    listed = client.get(url, headers=auth).json()
    assert [(c["at_ms"], c["body"]) for c in listed] == [(1_000, "<b>bold</b>"), (30_000, "Checkout button dead here")]
    assert all(c["author"] == "owner@example.com" and c["can_delete"] for c in listed)

    assert client.delete(f"/api/v1/comments/{early.json()['id']}", headers=auth).status_code == 204
    assert [c["at_ms"] for c in client.get(url, headers=auth).json()] == [30_000]
    assert client.delete(f"/api/v1/comments/{early.json()['id']}", headers=auth).status_code == 404


def test_bad_comments_are_400s_never_500s(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    _record(client, project.public_key, "s-bad")
    url = "/api/v1/sessions/s-bad/comments"
    for body in ({"at_ms": 0, "body": "   "}, {"at_ms": 0, "body": "x" * 2001}, {"at_ms": -1, "body": "x"},
                 {"at_ms": 61_000, "body": "past the end"}, {"at_ms": "soon", "body": "x"}, {"body": "x"},
                 {"at_ms": 0, "body": "x", "extra": 1}):
        r = client.post(url, json=body, headers=auth)
        assert r.status_code == 400, (body, r.text)
        assert "error" in r.json()
    assert client.post(url, content=b"not json", headers=auth).status_code == 400
    assert client.post("/api/v1/sessions/nope/comments", json={"at_ms": 0, "body": "x"}, headers=auth).status_code == 404
    assert client.post(url, json={"at_ms": 0, "body": "x" * 2000}, headers=auth).status_code == 201


def test_only_the_author_or_an_admin_deletes_a_comment(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                                       datadir: DataDir) -> None:
    _record(client, project.public_key, "s-owner")
    url = "/api/v1/sessions/s-owner/comments"
    member = _member(datadir)
    other = _member(datadir, "other@example.com")
    mine = client.post(url, json={"at_ms": 5, "body": "member's"}, headers=member).json()
    admins = client.post(url, json={"at_ms": 6, "body": "admin's"}, headers=auth).json()

    seen_by_other = {c["body"]: c["can_delete"] for c in client.get(url, headers=other).json()}
    assert seen_by_other == {"member's": False, "admin's": False}
    assert client.delete(f"/api/v1/comments/{mine['id']}", headers=other).status_code == 403
    assert client.delete(f"/api/v1/comments/{admins['id']}", headers=member).status_code == 403
    # An admin removes anyone's, and that is audited.
    assert client.delete(f"/api/v1/comments/{mine['id']}", headers=auth).status_code == 204
    assert any(e.action == "comment.delete" for e in datadir.audit.recent())


def test_comment_writes_need_sign_in_and_csrf(client: TestClient, project: Any, admin: Any) -> None:  # type: ignore[type-arg]
    _record(client, project.public_key, "s-csrf")
    url = "/api/v1/sessions/s-csrf/comments"
    assert client.post(url, json={"at_ms": 0, "body": "anonymous"}).status_code == 401
    sign_in(client)
    assert client.post(url, json={"at_ms": 0, "body": "forged"}).status_code == 403
    assert client.post(url, json={"at_ms": 0, "body": "forged"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    ok = client.post(url, json={"at_ms": 0, "body": "from the page"}, headers={"X-CSRF-Token": _csrf(client)})
    assert ok.status_code == 201
    assert [c["body"] for c in client.get(url).json()] == ["from the page"]
    made = ok.json()["id"]
    assert client.delete(f"/api/v1/comments/{made}").status_code == 403
    assert client.delete(f"/api/v1/comments/{made}", headers={"X-CSRF-Token": _csrf(client)}).status_code == 204


def test_comments_survive_a_rebuilt_index(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                          datadir: DataDir) -> None:
    _record(client, project.public_key, "s-keep")
    client.post("/api/v1/sessions/s-keep/comments", json={"at_ms": 10, "body": "kept"}, headers=auth)
    gone = client.post("/api/v1/sessions/s-keep/comments", json={"at_ms": 20, "body": "deleted"}, headers=auth).json()
    client.delete(f"/api/v1/comments/{gone['id']}", headers=auth)
    datadir.reindex()
    assert [c["body"] for c in client.get("/api/v1/sessions/s-keep/comments", headers=auth).json()] == ["kept"]


def test_deleting_a_session_deletes_its_comments_and_share_links_for_good(
        client: TestClient, project: Any, auth: dict[str, str], datadir: DataDir) -> None:  # type: ignore[type-arg]
    _record(client, project.public_key, "s-erase")
    client.post("/api/v1/sessions/s-erase/comments", json={"at_ms": 10, "body": "about them"}, headers=auth)
    _share(client, "s-erase", auth)
    assert client.delete("/api/v1/sessions/s-erase", headers=auth).status_code == 204

    def rows(cur: Any) -> tuple[int, int]:
        return (cur.execute("SELECT count(*) FROM comments WHERE session_id = 's-erase'").fetchone()[0],
                cur.execute("SELECT count(*) FROM share_links WHERE session_id = 's-erase'").fetchone()[0])

    assert datadir.index.read(rows) == (0, 0)
    datadir.reindex()  # and a rebuilt index does not bring them back
    assert datadir.index.read(rows) == (0, 0)


# -- share links ----------------------------------------------------------------------------


def _share(client: TestClient, sid: str, auth: dict[str, str], expires_in: Any = "1h") -> dict[str, Any]:  # type: ignore[type-arg]
    r = client.post(f"/api/v1/sessions/{sid}/share-links", json={"expires_in": expires_in}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_share_link_opens_its_session_and_nothing_else(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                                         settings: Any, datadir: DataDir) -> None:
    _record(client, project.public_key, "s-shared")
    _record(client, project.public_key, "s-private")
    made = _share(client, "s-shared", auth)
    token = made["url"].rsplit("/", 1)[1]
    assert made["state"] == "active" and made["session_id"] == "s-shared"

    anonymous = client  # no cookie and no token: what a person holding only the link has
    page = anonymous.get(f"/share/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f'data-events-url="/share/{token}/events"' in page.text
    assert 'data-start-ms="1500"' in anonymous.get(f"/share/{token}?t=1500").text
    assert "s-private" not in page.text and "set-cookie" not in page.headers
    events = anonymous.get(f"/share/{token}/events")
    assert events.status_code == 200 and events.headers["x-batches"] == "1" and len(events.json()) == 4
    assert anonymous.get(f"/share/{token}/events", params={"start": 0, "count": 1}).status_code == 200
    assert anonymous.get(f"/share/{token}/events", params={"start": -1}).status_code == 400
    assert anonymous.get(f"/share/{token}/moments").status_code == 200
    assert anonymous.get(f"/share/{token}/steps").json()["steps"]
    # The token is no key to anything else.
    for path in ("/api/v1/sessions", "/api/v1/sessions/s-private/events", "/api/v1/sessions/s-shared/events",
                 "/api/v1/projects", "/api/v1/sessions/s-shared/comments"):
        assert anonymous.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401, path
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.get("/sessions/s-private", follow_redirects=False).status_code == 303
    assert "s-shared" not in anonymous.get("/", follow_redirects=False).text  # the public front page, no list
    assert anonymous.get(f"/share/{token}/../s-private/events").status_code == 404
    assert anonymous.get(f"/share/{token}x/events").status_code == 404
    # Only the digest is kept.
    kept = datadir.index.read(lambda cur: cur.execute("SELECT * FROM share_links").fetchall())
    assert [row[1] for row in kept] == [token_digest(token)] and token not in repr(kept)
    assert token.encode() not in stored_bytes(settings)


def test_expired_and_revoked_links_are_410_and_unknown_ones_404(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                               auth: dict[str, str], datadir: DataDir) -> None:
    _record(client, project.public_key, "s-gone")
    admin_id = datadir.accounts.user_for_token(auth["Authorization"].split()[1]).id  # type: ignore[union-attr]
    links = ShareLinks(datadir.log, datadir.index)
    expired, _ = links.create(project.id, "s-gone", admin_id, 1_000, now=int(time.time() * 1000) - 5_000)
    short = _share(client, "s-gone", auth, expires_in=1)["url"].rsplit("/", 1)[1]
    revoked = _share(client, "s-gone", auth)
    page = client.get(f"/share/{expired}", headers={"Accept": "text/html"})
    assert page.status_code == 410 and "expired" in page.text and 'data-testid="share-gone"' in page.text
    assert client.get(f"/share/{expired}/events").status_code == 410
    assert client.get(f"/share/{expired}/events").json() == {"error": "This share link has expired."}
    time.sleep(1.1)
    assert client.get(f"/share/{short}/events").status_code == 410

    assert client.delete(f"/api/v1/share-links/{revoked['id']}", headers=auth).status_code == 204
    token = revoked["url"].rsplit("/", 1)[1]
    page = client.get(f"/share/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 410 and "revoked" in page.text
    assert client.get(f"/share/{token}/moments").status_code == 410
    states = {i["id"]: i["state"] for i in client.get("/api/v1/sessions/s-gone/share-links", headers=auth).json()}
    assert states[revoked["id"]] == "revoked" and sorted(states.values()).count("expired") == 2

    alive = _share(client, "s-gone", auth)["url"].rsplit("/", 1)[1]
    assert client.delete("/api/v1/sessions/s-gone", headers=auth).status_code == 204
    for path in (f"/share/{alive}", f"/share/{alive}/events", f"/share/{alive}/moments", f"/share/{alive}/steps"):
        assert client.get(path).status_code == 404, path
    assert client.get("/share/never-issued", headers={"Accept": "text/html"}).status_code == 404
    assert client.get("/share/never-issued/events").status_code == 404
    assert client.get("/share/" + "x" * 500 + "/events").status_code == 404
    actions = [e.action for e in datadir.audit.recent()]
    assert actions.count("share.create") == 3 and actions.count("share.revoke") == 1


def test_share_link_lifetimes_and_revocation_rights(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                                    datadir: DataDir) -> None:
    _record(client, project.public_key, "s-rights")
    url = "/api/v1/sessions/s-rights/share-links"
    for bad in ("2h", 0, 604_801, -5, None, [1]):
        assert client.post(url, json={"expires_in": bad}, headers=auth).status_code == 400, bad
    assert client.post("/api/v1/sessions/nope/share-links", json={}, headers=auth).status_code == 404
    assert _share(client, "s-rights", auth, "7d")["state"] == "active"
    member = _member(datadir)
    theirs = _share(client, "s-rights", member, "1d")
    mine = _share(client, "s-rights", auth, "1h")
    assert client.delete(f"/api/v1/share-links/{mine['id']}", headers=member).status_code == 403
    assert client.delete(f"/api/v1/share-links/{theirs['id']}", headers=member).status_code == 204
    assert client.delete(f"/api/v1/share-links/{mine['id']}", headers=auth).status_code == 204
    assert client.delete("/api/v1/share-links/nope", headers=auth).status_code == 404
    # Revocations are log records too: a rebuilt index keeps them revoked.
    datadir.reindex()
    states = {i["id"]: i["state"] for i in client.get(url, headers=auth).json()}
    assert states[mine["id"]] == states[theirs["id"]] == "revoked" and len(states) == 3
    assert client.get(f"/share/{mine['url'].rsplit('/', 1)[1]}/events").status_code == 410
    assert client.post(url, json={"expires_in": "1h"}).status_code == 401


def test_the_session_page_card_creates_and_revokes_links_with_csrf(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                                   admin: Any) -> None:
    _record(client, project.public_key, "s-card")
    assert client.get("/sessions/s-card/share-links", follow_redirects=False).status_code == 303
    sign_in(client)
    csrf = _csrf(client)
    assert client.post("/sessions/s-card/share-links", data={"expires_in": "1h"}).status_code == 403
    assert client.post("/sessions/s-card/share-links", data={"expires_in": "3y", "_csrf": csrf}).status_code == 400
    card = client.post("/sessions/s-card/share-links", data={"expires_in": "1h", "_csrf": csrf})
    assert card.status_code == 200
    new_url = re.search(r'data-testid="share-url"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*data-testid="share-url"',
                        card.text)
    assert new_url
    link_id = re.search(r'data-link-id="([^"]+)"', card.text).group(1)  # type: ignore[union-attr]
    assert client.post(f"/share-links/{link_id}/revoke", data={}).status_code == 403
    after = client.post(f"/share-links/{link_id}/revoke", data={"_csrf": csrf})
    assert after.status_code == 200 and "revoked" in after.text and "share-url" not in after.text



def test_the_card_offers_revoke_only_to_the_links_author_or_an_admin(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                                    auth: dict[str, str], datadir: DataDir) -> None:
    _record(client, project.public_key, "s-members")
    _share(client, "s-members", auth)  # the admin's
    datadir.accounts.create_user("member@example.com", PASSWORD, "member")
    sign_in(client, "member@example.com")
    csrf = _csrf(client)
    card = client.post("/sessions/s-members/share-links", data={"expires_in": "1d", "_csrf": csrf}).text
    assert card.count("Revoke</button>") == 1, "the member's own link only"
    admins = re.findall(r'data-link-id="([^"]+)"', card)[-1]  # newest first: the admin's is last
    assert client.post(f"/share-links/{admins}/revoke", data={"_csrf": csrf}).status_code == 403


# -- tabs -------------------------------------------------------------------------------------


def test_tabs_are_the_visitors_sessions_open_at_the_same_time(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                             auth: dict[str, str]) -> None:
    _record(client, project.public_key, "tab-a", start=T0, length=60_000)
    _record(client, project.public_key, "tab-b", start=T0 + 20_000, length=60_000)
    _record(client, project.public_key, "later", start=T0 + 200_000, length=10_000)
    _record(client, project.public_key, "someone-else", start=T0, length=60_000, visitor="visitor-2")
    tabs = client.get("/api/v1/sessions/tab-b/tabs", headers=auth).json()
    assert [(t["id"], t["offset_ms"], t["current"]) for t in tabs] == [("tab-a", -20_000, False), ("tab-b", 0, True)]
    assert [t["id"] for t in client.get("/api/v1/sessions/later/tabs", headers=auth).json()] == ["later"]
    assert client.get("/api/v1/sessions/nope/tabs", headers=auth).status_code == 404
    assert client.get("/api/v1/sessions/tab-a/tabs").status_code == 401
