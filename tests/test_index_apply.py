"""The index writer's own steps on a real DuckDB file: rows in bulk, and log order kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.index.apply import apply_records, insert_rows, replace_rows
from sessionstory.ingest import prepare
from sessionstory.store import EntityChange, Kind, Location, Record
from tests.conftest import batch, meta_event


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


def _send_visit(dd: DataDir, key: str, sid: str, order: list[int], together: bool = False) -> None:
    """The batches of `_visit` in `order` (a seq may come twice: a retry), each in its own
    flush of the index writer, as when they reach the server apart; `together`: all in one."""
    visit, group = _visit(), []
    for seq in order:
        events, agent, ip = visit[seq]
        body = json.dumps(batch(key, sid, seq, events, visitor_id=f"v-{sid}")).encode()
        prepared = prepare(dd.projects, body, "", None, agent, dd.settings.limits, client_ip=ip)
        if together:
            group.append((Location(99, len(group) * 100, 100), prepared.record, prepared.facts))
        else:
            dd.log.append_now(prepared.record, prepared.facts)  # the index writer applies it at once
    if group:
        dd.index.write(lambda con: apply_records(con, group)).result()


def _summary(dd: DataDir, sid: str) -> tuple[object, ...]:
    got = dd.index.read(lambda cur: cur.execute(
        f"SELECT {SUMMARY}, v.user_id, v.traits, v.country, v.device FROM sessions s "
        "JOIN visitors v USING (project_id, visitor_id) WHERE s.id = ?", [sid]).fetchone())
    assert got is not None
    return tuple(got)


def test_the_summary_of_a_session_does_not_depend_on_the_order_its_batches_arrive_in(dd: DataDir) -> None:
    import itertools

    key = dd.projects.create("Shop").public_key
    _send_visit(dd, key, "in-order", [0, 1, 2, 3])
    want = _summary(dd, "in-order")
    assert want[:10] == ("https://shop.example/index.html", "https://shop.example/checkout.html",
                         "https://search.example/", T0, T0 + 6000, 6000, 2, 15, "u-new", "GB")
    assert want[12:] == ("desktop", DESKTOP, "u-new", '{"plan":"pro"}', "GB", "desktop")
    orders = [list(p) for p in itertools.permutations(range(4))]
    orders += [[0, 3, 2, 1, 0], [2, 3, 0, 1, 2, 0], [3, 2, 1, 0, 3]]  # with retries of an old batch
    wrong = {}
    for n, order in enumerate(orders):
        for together in (False, True):
            sid = f"order-{n}-{'together' if together else 'apart'}"
            _send_visit(dd, key, sid, order, together)
            got = _summary(dd, sid)
            if got != want:
                wrong[(tuple(order), together)] = got
    assert not wrong, f"{len(wrong)} of {len(orders)} orders differ from the in-order summary {want}: {wrong}"


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
