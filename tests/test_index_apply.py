"""The index writer's own steps on a real DuckDB file: rows in bulk, log order kept, and rows
that do not depend on the order a session's batches arrive in."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import msgspec
import pytest

from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.index.apply import apply_records, insert_rows, refold, replace_rows, settle_quiet
from sessionstory.ingest import prepare
from sessionstory.store import EntityChange, Kind, Location, Record, SegmentLog
from tests.conftest import batch, meta_event
from tests.events import click, custom, error, mouse_moves, mutation, network, page

T = TypeVar("T")


@pytest.fixture
def dd(tmp_path: Path) -> Iterator[DataDir]:
    opened = DataDir(prepare_data_dir(load_settings(tmp_path / "data", env={})))
    yield opened
    opened.close()


AWKWARD = ["plain", 'quote " and \\ backslash', "new\nline\ttab", "ünïcödé ✓ 🎉", "'single'", "", "{\"json\": 1}"]


def test_rows_arrive_exactly_as_given(dd: DataDir) -> None:
    rows = [("p", f"s{i}", 1_700_000_000_000 + i, "click", text, None if i % 2 else text, None, i, -i, 2**31 - 1, None)
            for i, text in enumerate(AWKWARD)]
    dd.index.write(lambda con: insert_rows(con, "interactions", rows)).result()
    got = dd.index.read(lambda cur: cur.execute("SELECT * FROM interactions ORDER BY at_ms").fetchall())
    assert got == rows


def test_replacing_rows_keeps_one_per_key_with_lists_and_bytes(dd: DataDir) -> None:
    from sessionstory.index.apply import COLUMNS, SessionRow

    def row(sid: str, events: int, names: list[str], state: bytes) -> tuple[object, ...]:
        r = SessionRow(id=sid, project_id="p", visitor_id="v", user_id=None, started_ms=1, ended_ms=2,
                       event_count=events, event_names=names, state=state)
        return tuple(getattr(r, c) for c in COLUMNS)

    dd.index.write(lambda con: replace_rows(con, "sessions", ["id"], [row("a", 1, [], b"\x00\xff"), row("b", 1, ["x"], b"")],
                                            COLUMNS)).result()
    dd.index.write(lambda con: replace_rows(con, "sessions", ["id"], [row("a", 5, ["signup", "buy"], b"\x01\x02")],
                                            COLUMNS)).result()
    got = dd.index.read(lambda cur: cur.execute(
        "SELECT id, event_count, event_names, state FROM sessions WHERE project_id = 'p' ORDER BY id").fetchall())
    assert got == [("a", 5, ["signup", "buy"], b"\x01\x02"), ("b", 1, ["x"], b"")]


def test_a_batch_before_a_tombstone_in_one_group_is_indexed_first(dd: DataDir) -> None:
    """Log order within a group: the tombstone written after a batch must not make the batch
    look like one racing its erasure (dropped, its record left for the compactor)."""
    project = dd.projects.create("Shop")
    body = json.dumps(batch(project.public_key, "s-order", 0, [meta_event(1000)])).encode()
    prepared = prepare(dd.projects, body, "", None, "test", dd.settings.limits)
    tombstone = Record(Kind.ENTITY, EntityChange("tombstones", {"session_id": "s-order", "at_ms": 1}))
    group = [(Location(99, 0, 100), prepared.record, prepared.facts), (Location(99, 100, 50), tombstone, None)]
    dd.index.write(lambda con: apply_records(con, group)).result()
    assert dd.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions WHERE id = 's-order'").fetchone()) == (1,)
    assert dd.index.read(lambda cur: cur.execute("SELECT count(*) FROM superseded").fetchone()) == (0,)


def test_a_record_the_index_cannot_take_does_not_take_its_group_with_it(dd: DataDir) -> None:
    from sessionstory.store import BatchMeta

    project = dd.projects.create("Shop")
    group = []
    for n, sid in enumerate(["s-good-1", "s-bad", "s-good-2"]):
        body = json.dumps(batch(project.public_key, sid, 0, [meta_event(1000)])).encode()
        prepared = prepare(dd.projects, body, "", None, "test", dd.settings.limits)
        record = prepared.record
        if sid == "s-bad":  # a seq no INTEGER column holds (ingest refuses it; a damaged or foreign log might not)
            assert isinstance(record.meta, BatchMeta)
            record = Record(record.kind, msgspec.structs.replace(record.meta, seq=2**40), record.body)
        group.append((Location(99, n * 100, 100), record, prepared.facts))
    dd.index.feed(group)
    indexed = dd.index.read(lambda cur: cur.execute("SELECT id FROM sessions WHERE id LIKE 's-%' ORDER BY id").fetchall())
    assert indexed == [("s-good-1",), ("s-good-2",)]
    assert dd.index.log_position() == Location(99, 200, 100)
    assert dd.index.lag == (0, 0)


# -- a session's summary whatever order its batches arrive in ---------------------------

T0 = 1_700_000_000_000
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.0 Mobile/15E148 Safari/604.1")
SUMMARY = ("s.entry_url, s.exit_url, s.referrer, s.started_ms, s.ended_ms, s.ended_ms - s.started_ms, s.page_count, "
           "s.event_count, s.user_id, s.country, s.browser, s.os, s.device, s.user_agent")


def _moves(*offsets: int) -> list[dict[str, object]]:
    return [{"type": 3, "timestamp": T0 + o, "data": {"source": 1, "positions": [{"x": o % 500, "y": 9, "id": 1,
                                                                                    "timeOffset": 0}]}}
            for o in offsets]


def _identify(offset: int, user: str, plan: str) -> dict[str, object]:
    return {"type": 5, "timestamp": T0 + offset,
            "data": {"tag": "identify", "payload": {"user_id": user, "traits": {"plan": plan}}}}


def _visit() -> list[tuple[list[dict[str, object]], str, str]]:
    """index.html -> checkout.html in four batches (events, user agent, client IP): the second and
    the last name no page (the last: the beacon sent at pagehide). The first is from a desktop in
    Britain, the third says it is a phone in the US: the session keeps what its first batch said."""
    entry = meta_event(T0, "https://shop.example/index.html")
    entry_page = {"type": 5, "timestamp": T0, "data": {"tag": "page", "payload": {
        "url": "https://shop.example/index.html", "title": "Shop", "referrer": "https://search.example/"}}}
    checkout = meta_event(T0 + 3000, "https://shop.example/checkout.html")
    return [
        ([entry, entry_page, *_moves(500, 1000), _identify(1500, "u-old", "free"), *_moves(2000)], DESKTOP, "81.2.69.160"),
        (_moves(2100, 2500, 2900), DESKTOP, "81.2.69.160"),
        ([checkout, _identify(3200, "u-new", "pro"), *_moves(3500)], PHONE, "8.8.8.8"),
        (_moves(3600, 4500, 6000), PHONE, "8.8.8.8"),
    ]


Visit = list[tuple[list[dict[str, object]], str, str]]  # each batch's events, user agent and client IP
ORDERS = [list(p) for p in itertools.permutations(range(4))] + [
    [0, 3, 2, 1, 0], [2, 3, 0, 1, 2, 0], [3, 2, 1, 0, 3]]  # with retries of an old batch


def send_visit(dd: DataDir, key: str, sid: str, visit: Visit, order: list[int], together: bool) -> None:
    """The batches of `visit` in `order` (a seq may come twice: a retry), each in its own flush of
    the index writer, as when they reach the server apart; `together`: all in one. Then the session
    goes quiet, and clicks still awaiting an outcome are judged."""
    group = []
    for seq in order:
        events, agent, ip = visit[seq]
        body = json.dumps(batch(key, sid, seq, events, visitor_id=f"v-{sid}")).encode()
        prepared = prepare(dd.projects, body, "", None, agent, dd.settings.limits, client_ip=ip)
        if together:
            group.append((Location(99, len(group) * 100, 100), prepared.record, prepared.facts))
        else:
            dd.log.append_now(prepared.record, prepared.facts)  # the index writer applies it at once
    if group:
        dd.index.feed(group)
    dd.index.settle_all()


def _every_arrival(dd: DataDir, visit: Visit, rows: Callable[[DataDir, str], T]) -> tuple[T, dict[object, T]]:
    """`rows` of the session when its batches arrive in order, and of each arrival that differs
    from that: every order, with retries, apart and together."""
    key = dd.projects.create("Shop").public_key
    send_visit(dd, key, "in-order", visit, [0, 1, 2, 3], together=False)
    want, wrong = rows(dd, "in-order"), {}
    for n, order in enumerate(ORDERS):
        for together in (False, True):
            sid = f"order-{n}-{'together' if together else 'apart'}"
            send_visit(dd, key, sid, visit, order, together)
            got = rows(dd, sid)
            if got != want:
                wrong[(tuple(order), together)] = got
    return want, wrong


def _summary(dd: DataDir, sid: str) -> tuple[object, ...]:
    got = dd.index.read(lambda cur: cur.execute(
        f"SELECT {SUMMARY}, v.user_id, v.traits, v.country, v.device FROM sessions s "
        "JOIN visitors v USING (project_id, visitor_id) WHERE s.id = ?", [sid]).fetchone())
    assert got is not None
    return tuple(got)


def test_the_summary_of_a_session_does_not_depend_on_the_order_its_batches_arrive_in(dd: DataDir) -> None:
    want, wrong = _every_arrival(dd, _visit(), _summary)
    assert want[:10] == ("https://shop.example/index.html", "https://shop.example/checkout.html",
                         "https://search.example/", T0, T0 + 6000, 6000, 2, 15, "u-new", "GB")
    assert want[12:] == ("desktop", DESKTOP, "u-new", '{"plan":"pro"}', "GB", "desktop")
    assert not wrong, f"{len(wrong)} of {2 * len(ORDERS)} arrivals differ from the in-order summary {want}: {wrong}"


def test_a_visitor_shows_the_place_and_device_of_their_latest_session_whichever_arrives_last(dd: DataDir) -> None:
    key = dd.projects.create("Shop").public_key
    visits = {"monday": (T0, DESKTOP, "81.2.69.160"), "tuesday": (T0 + 86_400_000, PHONE, "8.8.8.8")}
    for visitor, order in (("v-in-order", ["monday", "tuesday"]), ("v-reversed", ["tuesday", "monday"])):
        for day in order:
            at, agent, ip = visits[day]
            body = json.dumps(batch(key, f"{visitor}-{day}", 0, [meta_event(at)], visitor_id=visitor)).encode()
            prepared = prepare(dd.projects, body, "", None, agent, dd.settings.limits, client_ip=ip)
            dd.log.append_now(prepared.record, prepared.facts)
    got = dd.index.read(lambda cur: cur.execute(
        "SELECT visitor_id, country, device, first_ms, last_ms, session_count FROM visitors ORDER BY visitor_id").fetchall())
    assert got == [(v, "US", "mobile", T0, T0 + 86_400_000, 2) for v in ("v-in-order", "v-reversed")]


# -- signals, active time and each fact's page, whatever order the batches arrive in -------

LIST, ITEM = "https://shop.example/list", "https://shop.example/item/1"
FACT_TABLES = {  # each table's columns but the session's id, in an order that sorts its rows
    "pages": "at_ms, url, title, referrer, kind",
    "interactions": "at_ms, kind, url, selector, text, x, y, vw, vh",
    "scroll_depths": "at_ms, url, depth, height",
    "errors": "at_ms, url, kind, message, fingerprint",
    "console": "at_ms, url, level, message",
    "network": "at_ms, page_url, url, status",
    "vitals": "at_ms, url, name, value",
    "custom_events": "at_ms, url, name, props",
}
COUNTS = ("active_ms, clicks, rage_clicks, dead_clicks, error_clicks, thrashed_cursor, quick_backs, "
          "excessive_scrolls, error_count, console_errors, network_errors, page_count, event_count, urls, search_text")


def frustrated_visit() -> Visit:
    """list -> item -> back to list, in four batches whose signals span their ends: a rage burst
    begun in batch 0 and ended in batch 1; a click at the end of batch 1 whose error and lack of
    effect batch 2 shows; a quick back across three; a thrashed cursor across batches 2 and 3; and
    in batches 1-3 clicks, errors, requests... made before the batch's first page view (or with none)."""
    def add(at: int, x: int, y: int) -> dict[str, object]:
        return click(T0 + at, x=x, y=y, selector="button#add")

    batches = [
        [meta_event(T0, LIST), page(T0, LIST, title="List", referrer="https://search.example/"),
         mouse_moves(T0 + 1000, [100, 150, 200], step=200), add(2600, 200, 300), add(2800, 203, 301)],
        [add(2950, 201, 302), custom(T0 + 3000, "console", level="error", message="cart full"),
         mutation(T0 + 3100), page(T0 + 4000, ITEM, title="Item", kind="push"),
         mouse_moves(T0 + 5000, [300, 320, 340], step=300), click(T0 + 5400, x=40, y=40, selector="a#back")],
        [error(T0 + 5600), click(T0 + 5800, x=600, y=50, selector="nav a"),
         network(T0 + 6600, "https://api.example/stock", 503, duration=100),
         custom(T0 + 6650, "vitals", name="INP", value=480.0), custom(T0 + 6700, "track", name="back", props={}),
         page(T0 + 7000, LIST, title="List", kind="pop"), mouse_moves(T0 + 7500, [100, 400, 100], step=100)],
        [mouse_moves(T0 + 7900, [400, 100, 400, 100], step=100), custom(T0 + 8200, "scroll", depth=40, height=3000),
         custom(T0 + 8300, "input", selector="#q", type="search", name="q"),
         click(T0 + 8500, x=900, y=700, selector="#more"), mouse_moves(T0 + 9000, [500, 520], step=200)],
    ]
    return [(events, DESKTOP, "81.2.69.160") for events in batches]


def session_rows(dd: DataDir, sid: str) -> dict[str, list[tuple[Any, ...]]]:
    def read(cur: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
        got = {"session": cur.execute(f"SELECT {COUNTS} FROM sessions WHERE id = ?", [sid]).fetchall()}
        for table, columns in FACT_TABLES.items():
            got[table] = cur.execute(f"SELECT {columns} FROM {table} WHERE session_id = ? ORDER BY ALL",
                                     [sid]).fetchall()
        return got

    return dd.index.read(read)


def test_signals_active_time_and_each_facts_page_do_not_depend_on_the_order_batches_arrive_in(dd: DataDir) -> None:
    want, wrong = _every_arrival(dd, frustrated_visit(), session_rows)
    signals = [(at - T0, kind, url) for at, kind, url, *_ in want["interactions"]]
    assert {s for s in signals if s[1] not in ("click", "input")} == {
        (2600, "rage_click", LIST), (5400, "error_click", ITEM), (5400, "dead_click", ITEM), (4000, "quick_back", ITEM),
        (7300, "thrashed_cursor", LIST), (8500, "dead_click", LIST)}
    assert (2950, "click", LIST) in signals and (5800, "click", ITEM) in signals, "a click before its batch's page view"
    assert want["console"][0][1] == LIST and want["network"][0][1] == ITEM
    assert want["session"][0][:7] == (8400, 6, 1, 2, 1, 1, 1)  # active, clicks, rage, dead, error, thrash, quick back
    differ = {arrival: {t: r for t, r in got.items() if r != want[t]} for arrival, got in wrong.items()}
    assert not wrong, f"{len(wrong)} of {2 * len(ORDERS)} arrivals differ from the in-order rows: {differ}"


def test_a_late_batch_of_a_quiet_compacted_session_folds_with_the_batches_compaction_packed(dd: DataDir) -> None:
    """Batch 2 arrives after the session went quiet (its pending clicks judged without it) and was
    packed into one compacted record: read back from that record, the session folds as in order."""
    key, visit = dd.projects.create("Shop").public_key, frustrated_visit()
    send_visit(dd, key, "in-order", visit, [0, 1, 2, 3], together=False)
    send_visit(dd, key, "late", visit, [0, 1, 3], together=False)
    assert session_rows(dd, "late") != session_rows(dd, "in-order")
    assert dd.compactor.run(0).sessions == 2
    send_visit(dd, key, "late", visit, [2], together=False)
    packed = dd.index.read(lambda cur: cur.execute(
        "SELECT count(DISTINCT (segment, \"offset\")), count(*) FROM records WHERE session_id = 'late'").fetchall())
    assert packed == [(2, 4)], "three batches in the compacted record, the late one in its own"
    assert session_rows(dd, "late") == session_rows(dd, "in-order")


def test_a_late_batch_whose_session_the_log_cannot_give_back_is_still_indexed(
        dd: DataDir, caplog: pytest.LogCaptureFixture) -> None:
    """Batches 0, 1 and 3 indexed at places the log does not have (here: made up): batch 2 folds in
    as it comes, and the session keeps its rows."""
    key = dd.projects.create("Shop").public_key
    send_visit(dd, key, "lost", frustrated_visit(), [0, 1, 3], together=True)
    send_visit(dd, key, "lost", frustrated_visit(), [2], together=False)
    got = dd.index.read(lambda cur: cur.execute(
        "SELECT (SELECT count(*) FROM records WHERE session_id = 'lost'), page_count FROM sessions WHERE id = 'lost'"
    ).fetchall())
    assert got == [(4, 3)]
    assert "cannot read session lost back from the log" in caplog.text


def test_a_reindex_of_a_log_holding_late_batches_gives_the_in_order_rows(dd: DataDir) -> None:
    key, visit = dd.projects.create("Shop").public_key, frustrated_visit()
    send_visit(dd, key, "in-order", visit, [0, 1, 2, 3], together=False)
    send_visit(dd, key, "late", visit, [3, 1, 0, 2], together=False)
    want = session_rows(dd, "in-order")
    dd.reindex()
    dd.index.settle_all()
    assert session_rows(dd, "late") == session_rows(dd, "in-order") == want


def test_a_session_past_the_refold_limit_takes_a_late_batch_as_it_comes(
        dd: DataDir, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A client sending its batches in reverse cannot make the writer read a long session back per batch."""
    monkeypatch.setattr("sessionstory.index.apply.REFOLD_MOST", 2)
    caplog.set_level("INFO", logger="sessionstory.index.apply")
    key, visit = dd.projects.create("Shop").public_key, frustrated_visit()
    send_visit(dd, key, "reversed", visit, [3, 2, 1, 0], together=False)
    got = dd.index.read(lambda cur: cur.execute("SELECT count(*) FROM records WHERE session_id = 'reversed'").fetchall())
    assert got == [(4,)]
    assert "session reversed has 3 batches indexed; its late batch is folded in as it came" in caplog.text


def test_late_batches_put_off_fold_in_with_one_refold(dd: DataDir, tmp_path: Path) -> None:
    """As a cluster node's peer indexer takes a peer segment: batches 0 and 2 indexed, then 1 and 3
    arrive late in two chunks, only recorded; one refold at the end gives the in-order rows."""
    key, visit = dd.projects.create("Shop").public_key, frustrated_visit()
    send_visit(dd, key, "in-order", visit, [0, 1, 2, 3], together=False)
    peer = SegmentLog(tmp_path / "peer")  # where the batches are read back from
    taken = []
    for seq, (events, agent, ip) in enumerate(visit):
        body = json.dumps(batch(key, "put-off", seq, events, visitor_id="v-put-off")).encode()
        prepared = prepare(dd.projects, body, "", None, agent, dd.settings.limits, client_ip=ip)
        taken.append((peer.append_now(prepared.record), prepared.record, prepared.facts))
    later: set[str] = set()
    dd.index.write(lambda con: apply_records(con, [taken[0], taken[2]], peer, later)).result()
    assert later == set()
    for seq in (1, 3):
        dd.index.write(lambda con, seq=seq: apply_records(con, [taken[seq]], peer, later)).result()  # type: ignore[misc]
        assert later == {"put-off"}
    recorded = dd.index.read(lambda cur: cur.execute(
        "SELECT (SELECT count(*) FROM records WHERE session_id = 'put-off'), page_count FROM sessions WHERE id = 'put-off'"
    ).fetchall())
    assert recorded == [(4, 2)], "all four recorded; batch 1's page view not folded in yet"
    pending, unread = dd.index.write(lambda con: refold(con, sorted(later), peer)).result()
    assert unread == set()
    dd.index.write(lambda con: settle_quiet(con, sorted(pending))).result()
    assert session_rows(dd, "put-off") == session_rows(dd, "in-order")
    peer.close()
