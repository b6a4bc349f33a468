"""Erasure on request: a visitor, a user, or a filter's sessions gone from disk, and gone for good."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar.testing import TestClient

from sessionstory.config import Settings
from sessionstory.datadir import DataDir
from sessionstory.ingest import prepare
from sessionstory.store import batches
from tests.conftest import batch, meta_event, stored_bytes
from tests.events import custom, page
from tests.test_dashboard import sign_in

AT = 1_700_000_000_000


def _visit(client: TestClient, key: str, session_id: str, visitor: str, marker: str, seq: int = 0,  # type: ignore[type-arg]
           user: str | None = None) -> None:
    events = [meta_event(AT + seq), page(AT + seq + 1, f"https://shop.example/{marker}", title=marker),
              custom(AT + seq + 2, "identify", user_id=user or "", traits={"email": f"{marker}@example.com"})]
    body = batch(key, session_id, seq=seq, events=events, visitor_id=visitor, **({"user_id": user} if user else {}))
    assert client.post("/api/v1/ingest", json=body).status_code == 200


def _compact(datadir: DataDir) -> None:
    datadir.compactor.run(0)


def test_erasing_a_visitor_leaves_none_of_their_bytes_even_after_compaction(
        client: TestClient, project: Any, auth: dict[str, str], datadir: DataDir, settings: Settings) -> None:  # type: ignore[type-arg]
    for n in range(3):
        _visit(client, project.public_key, f"gone-{n}", "visitor-gone", "MARKER-GONE-7Q")
    _visit(client, project.public_key, "kept-1", "visitor-kept", "MARKER-KEPT-3Z")
    _compact(datadir)
    assert b"MARKER-GONE-7Q" in _plain(datadir)

    erased = client.post("/api/v1/erasure", json={"project": project.id, "visitor_id": "visitor-gone"}, headers=auth)
    assert erased.status_code == 200 and erased.json() == {"sessions": 3}
    _compact(datadir)  # what a crash could have left queued is erased on the next pass
    assert b"MARKER-GONE-7Q" not in _plain(datadir)
    assert datadir.erasure.purge_due(delay_s=0)
    datadir.erasure.purge()  # the index rebuilt: DuckDB's file kept the deleted rows' bytes
    assert not datadir.erasure.purge_due(delay_s=0)
    assert b"MARKER-GONE-7Q" not in stored_bytes(settings), "not in any file of the data dir, raw bytes"
    assert b"visitor-gone" not in stored_bytes(settings)
    assert b"MARKER-KEPT-3Z" in _plain(datadir)
    ids = [s["id"] for s in client.get(f"/api/v1/sessions?project={project.id}", headers=auth).json()["items"]]
    assert "kept-1" in ids and not [i for i in ids if i.startswith("gone-")]
    assert datadir.index.read(lambda cur: cur.execute(
        "SELECT count(*) FROM visitors WHERE visitor_id = 'visitor-gone'").fetchone()[0]) == 0


def test_a_late_retry_does_not_bring_an_erased_session_back(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                                            datadir: DataDir) -> None:
    _visit(client, project.public_key, "late-1", "visitor-late", "MARKER-LATE-1", seq=0)
    client.post("/api/v1/erasure", json={"project": project.id, "visitor_id": "visitor-late"}, headers=auth)
    for seq in (0, 1):  # a retry of the erased batch, and one the SDK had not sent yet
        _visit(client, project.public_key, "late-1", "visitor-late", "MARKER-LATE-1", seq=seq)
    assert client.get("/api/v1/sessions/late-1", headers=auth).status_code == 404
    datadir.reindex()
    assert client.get("/api/v1/sessions/late-1", headers=auth).status_code == 404
    assert b"MARKER-LATE-1" not in _plain(datadir)


def test_a_batch_racing_its_erasure_is_not_indexed_and_gets_erased(client: TestClient, project: Any,  # type: ignore[type-arg]
                                                                  datadir: DataDir) -> None:
    _visit(client, project.public_key, "race-1", "visitor-race", "MARKER-RACE-1", seq=0)
    datadir.erasure.visitor(project.id, "visitor-race")
    # As if its check had passed before the tombstone: the record reaches the log after the erasure.
    late = batch(project.public_key, "race-1", seq=5, visitor_id="visitor-race",
                 events=[meta_event(AT + 9), page(AT + 10, "https://shop.example/MARKER-RACE-1")])
    prepared = prepare(datadir.projects, json.dumps(late).encode(), "", None, "", datadir.settings.limits)
    datadir.log.append_now(prepared.record, prepared.facts)
    datadir.index.flush()
    assert not datadir.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions WHERE id = 'race-1'").fetchone()[0])
    _compact(datadir)
    assert b"MARKER-RACE-1" not in _plain(datadir)


def test_erasing_a_user_and_deleting_by_filter(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                               datadir: DataDir) -> None:
    _visit(client, project.public_key, "u-1", "v-u1", "MARKER-USER", user="alice")
    _visit(client, project.public_key, "u-2", "v-u2", "MARKER-USER", user="alice")
    _visit(client, project.public_key, "f-1", "v-f1", "checkout-page")
    _visit(client, project.public_key, "f-2", "v-f2", "home-page")
    assert client.post("/api/v1/erasure", json={"project": project.id, "user_id": "alice"}, headers=auth).json() == {"sessions": 2}
    refused = client.request("DELETE", f"/api/v1/sessions?project={project.id}", headers=auth)
    assert refused.status_code == 400, "no filter is not 'everything' by mistake"
    deleted = client.request("DELETE", f"/api/v1/sessions?project={project.id}&url=checkout", headers=auth)
    assert deleted.status_code == 200 and deleted.json() == {"sessions": 1}
    ids = {s["id"] for s in client.get(f"/api/v1/sessions?project={project.id}", headers=auth).json()["items"]}
    assert ids == {"f-2"}
    assert [e.action for e in datadir.audit.recent()][:2] == ["sessions.delete", "erase.user"]
    assert all("alice" not in (e.target + e.detail) for e in datadir.audit.recent())


def test_bad_erasure_requests(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    post = lambda body: client.post("/api/v1/erasure", json=body, headers=auth)  # noqa: E731
    assert post({"project": project.id}).status_code == 400
    assert post({"project": project.id, "visitor_id": "a", "user_id": "b"}).status_code == 400
    assert post({"project": "nope", "visitor_id": "a"}).status_code == 404
    assert post({"project": project.id, "visitor_id": "a", "extra": 1}).status_code == 400
    assert client.post("/api/v1/erasure", json={"project": project.id, "visitor_id": "a"}).status_code == 401


def test_an_admin_erases_a_visitor_from_their_page(client: TestClient, admin: Any, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    _visit(client, project.public_key, "page-1", "visitor-page", "MARKER-PAGE")
    sign_in(client)
    page_html = client.get(f"/visitors/visitor-page?project={project.id}").text
    token = re.search(r'name="_csrf" value="([^"]+)"', page_html).group(1)  # type: ignore[union-attr]
    done = client.post("/visitors/visitor-page/erase", data={"_csrf": token, "project": project.id, "sure": "on"},
                       follow_redirects=False)
    assert done.status_code == 303 and "erased=1" in done.headers["location"]
    assert datadir.erasure.is_erased("page-1")


def _plain(datadir: DataDir) -> bytes:
    """Every record in the log, decompressed: where a marker would hide from a raw grep."""
    out = []
    for _, record in datadir.log.scan():
        out += [b.events + str(b.meta).encode() for b in batches(record, datadir.log.dictionaries)]
    return b"".join(out)


def test_an_erasure_cut_short_is_finished_at_the_next_start(client: TestClient, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    _visit(client, project.public_key, "cut-1", "visitor-cut", "MARKER-CUT")
    datadir.erasure._tombstone(["cut-1"])  # step 1 done, then a crash  # noqa: SLF001
    datadir.erasure.start()
    datadir.erasure.stop()
    assert not datadir.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions WHERE id = 'cut-1'").fetchone()[0])
    assert b"MARKER-CUT" not in _plain(datadir)


def test_retention_deletes_what_is_older_than_the_projects_days(client: TestClient, admin: Any, project: Any,  # type: ignore[type-arg]
                                                                datadir: DataDir) -> None:
    from sessionstory.privacy import make_settings

    _visit(client, project.public_key, "old-1", "v-old", "MARKER-OLD")
    now = int(datadir.index.read(lambda cur: cur.execute(
        "SELECT max(last_received_ms) FROM sessions WHERE id = 'old-1'").fetchone()[0]))
    assert datadir.erasure.retention(now + 40 * 86_400_000).sessions == 0, "no retention set: kept"

    sign_in(client)
    page_html = client.get(f"/projects/{project.id}").text
    token = re.search(r'name="_csrf" value="([^"]+)"', page_html).group(1)  # type: ignore[union-attr]
    saved = client.post(f"/projects/{project.id}/privacy", data={"_csrf": token, "level": "balanced", "retention": "30",
                                                                 "sample": "100", "dnt": "on"}, follow_redirects=False)
    assert saved.status_code == 303 and datadir.projects.privacy(project.id).retention_days == 30
    assert "retention 30 days" in datadir.audit.recent()[0].detail
    assert client.post(f"/projects/{project.id}/privacy", data={"_csrf": token, "level": "balanced",
                                                                "retention": "-1"}).status_code == 400
    assert make_settings(retention_days="7").retention_days == 7

    assert datadir.erasure.retention(now + 29 * 86_400_000).sessions == 0, "29 days old: kept"
    assert datadir.erasure.retention(now + 31 * 86_400_000).sessions == 1
    assert b"MARKER-OLD" not in _plain(datadir)
    assert datadir.erasure.purge_due(delay_s=0)


def test_a_rebuild_signs_nobody_out_and_fails_no_read(client: TestClient, admin: Any, project: Any,  # type: ignore[type-arg]
                                                      datadir: DataDir) -> None:
    import threading

    for n in range(5):
        _visit(client, project.public_key, f"busy-{n}", f"v-busy-{n}", "MARKER-BUSY")
    sign_in(client)
    failures: list[BaseException] = []
    done = threading.Event()

    def read_all_along() -> None:
        while not done.is_set():
            try:
                datadir.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions").fetchone())
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)

    readers = [threading.Thread(target=read_all_along) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        datadir.reindex()
    finally:
        done.set()
        for t in readers:
            t.join()
    assert failures == []
    assert client.get("/", follow_redirects=False).status_code == 200, "still signed in after the rebuild"


def test_an_admin_deletes_a_filtered_list_from_the_dashboard(client: TestClient, admin: Any, project: Any,  # type: ignore[type-arg]
                                                             datadir: DataDir) -> None:
    _visit(client, project.public_key, "list-1", "v-l1", "checkout-page")
    _visit(client, project.public_key, "list-2", "v-l2", "home-page")
    sign_in(client)
    listed = client.get(f"/?project={project.id}&url=checkout").text
    assert "delete these 1 sessions" in listed
    token = re.search(r'name="_csrf" value="([^"]+)"', listed).group(1)  # type: ignore[union-attr]
    unfiltered = client.post("/sessions/delete", data={"_csrf": token, "query": f"project={project.id}", "sure": "on"})
    assert unfiltered.status_code == 400
    done = client.post("/sessions/delete", data={"_csrf": token, "query": f"project={project.id}&url=checkout",
                                                 "sure": "on"}, follow_redirects=False)
    assert done.status_code == 303 and "deleted=1" in done.headers["location"]
    assert datadir.erasure.is_erased("list-1") and not datadir.erasure.is_erased("list-2")


# -- dictionaries trained before an erasure ----------------------------------------

SECRET_SENTENCE = "Jane Victim-Doe of 17 Erasure Lane asked to be forgotten; order VICTIM-ORDER-88231 shipped"


def _dictionaries(datadir: DataDir) -> dict[tuple[str, int], bytes]:
    """Every dictionary record still in the log, decompressed."""
    from sessionstory.store.compression import decompress
    from sessionstory.store.records import Kind

    return {(r.meta.project_id, r.meta.version): decompress(r.body)  # type: ignore[union-attr]
            for _, r in datadir.log.scan() if r.kind == Kind.DICTIONARY}


def test_a_dictionary_trained_on_erased_sessions_is_replaced_and_what_used_it_repacked(
        project: Any, datadir: DataDir, settings: Settings) -> None:
    from sessionstory.replay import session_events
    from tests.test_compaction import _events, _store

    for n in range(8):
        _store(datadir, project.public_key, f"kept-{n}", n, visitor_id="visitor-kept")
    for n in range(4):
        events = _events(n)
        for i, at in enumerate(range(0, len(events), 4)):  # the sentence in every batch, several times
            events.insert(at, {"type": 5, "timestamp": events[at]["timestamp"], "data": {
                "tag": "track", "payload": {"name": "note", "props": {"text": f"{SECRET_SENTENCE} #{i}"}}}})
        _store(datadir, project.public_key, f"victim-{n}", n, events=events, visitor_id="visitor-victim")
    datadir.compactor.run(0)
    (old_key, old_dictionary), = _dictionaries(datadir).items()
    assert SECRET_SENTENCE.encode()[:40] in old_dictionary, "the dictionary learnt the victim's data"
    kept = {f"kept-{n}": session_events(datadir.log, datadir.index, f"kept-{n}") for n in range(8)}

    assert datadir.erasure.visitor(project.id, "visitor-victim").sessions == 4
    datadir.erasure.purge()

    dictionaries = _dictionaries(datadir)
    assert old_key not in dictionaries, "the old dictionary's record is erased from the log"
    for dictionary in dictionaries.values():
        assert b"Victim-Doe" not in dictionary and b"VICTIM-ORDER" not in dictionary
    assert not [m for m in (b"Victim-Doe", b"VICTIM-ORDER-88231") if m in _plain(datadir)]
    used = datadir.index.read(lambda cur: cur.execute(
        "SELECT DISTINCT dictionary FROM compactions WHERE project_id = ?", [project.id]).fetchall())
    assert used == [(old_key[1] + 1,)], "every kept session packed again with the new dictionary"
    assert {sid: session_events(datadir.log, datadir.index, sid) for sid in kept} == kept, "nothing else changed"
    datadir.compactor.run(0)  # a later pass keeps the new dictionary and moves nothing back
    assert set(_dictionaries(datadir)) == set(dictionaries)


def test_an_erasure_of_sessions_no_dictionary_learnt_from_keeps_the_dictionary(project: Any, datadir: DataDir) -> None:
    from tests.test_compaction import _store

    for n in range(10):
        _store(datadir, project.public_key, f"early-{n}", n)
    datadir.compactor.run(0)
    before = _dictionaries(datadir)
    assert before
    _store(datadir, project.public_key, "later-1", 1, visitor_id="visitor-later")  # after the training
    datadir.erasure.visitor(project.id, "visitor-later")
    datadir.erasure.purge()
    assert _dictionaries(datadir) == before


def test_a_plain_delete_on_a_single_node_writes_no_tombstone(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                                             datadir: DataDir) -> None:
    """Erasure.delete is DELETE /api/v1/sessions/{id}: on a single node as it always was (in a
    cluster it tombstones the session too: tests/cluster/test_shared_sessions.py)."""
    _visit(client, project.public_key, "deleted-1", "visitor-del", "MARKER-DEL-1")
    assert datadir.erasure.delete("deleted-1") is True
    assert client.get("/api/v1/sessions/deleted-1", headers=auth).status_code == 404
    assert b"MARKER-DEL-1" not in _plain(datadir)
    assert not datadir.erasure.is_erased("deleted-1") and not datadir.erasure.purge_due(delay_s=0)
    assert datadir.erasure.delete("deleted-1") is False, "nothing left to delete"
    _visit(client, project.public_key, "deleted-1", "visitor-del", "MARKER-DEL-1", seq=1)  # a late batch
    assert client.get("/api/v1/sessions/deleted-1", headers=auth).status_code == 200, "starts the session anew"
