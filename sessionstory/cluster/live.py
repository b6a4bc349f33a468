"""Live across a cluster: a viewer on one node follows a session another node ingests.

Another node's batches reach this node's index only once their segment is sealed, shipped
and polled (cluster/peers.py): seconds, too slow for live. So the catalog's Postgres carries
the batches of watched sessions, and only those:

- a node with a viewer keeps a `live_watch` row for the session (refreshed while the stream
  is open) and NOTIFYs (`sessionstory_live_watch`) when a stream opens;
- every node knows the sessions watched elsewhere (refreshed on that NOTIFY and every
  REFRESH_S); when it commits a durable batch of one, it INSERTs it into `live_batches` and
  NOTIFYs (`sessionstory_live_batch`, the row's id and session);
- the viewer's node, LISTENing, fetches the row and hands it to its local hub, so the SSE
  stream, resuming by log location and the player work as for a batch committed here.

A stream that opens (or reopens) would miss what the ingesting node committed before it
knew of the watch and the viewer's node has not indexed yet: on the watch NOTIFY, the
ingesting node first takes the watch into account, then relays the session's last
RECENT_BATCHES batches; the viewer's stream drops what it already has by log location.
Rows older than KEEP_S are deleted: they only bridge the seconds before peers index them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from sessionstory.cluster.accounts import SCHEMA, SharedRows

from sessionstory.live import LiveHub
from sessionstory.index import Index
from sessionstory.store import Location, Record, SegmentLog
from sessionstory.store.objects import short_error
from sessionstory.store.records import HEADER, Kind, decode_payload, encode

log = logging.getLogger(__name__)

REFRESH_S = 0.5  # how soon a node learns of a watch whose NOTIFY it missed
WATCH_TTL_S = 15.0  # a watch row outlives its node's crash by this much at most
RENEW_S = 5.0  # a node renews its watch rows (and sweeps old batches) this often
KEEP_S = 60.0  # relayed batches are kept this long
RECENT_BATCHES = 64  # relayed again when a stream opens: a few seal times of a watched session
INDEX_WAIT_S = 2.0
BATCH_CHANNEL, WATCH_CHANNEL = "sessionstory_live_batch", "sessionstory_live_watch"

_TABLES = """
CREATE TABLE IF NOT EXISTS live_watch (
    session_id TEXT NOT NULL, node TEXT NOT NULL, expires_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, node));
CREATE TABLE IF NOT EXISTS live_batches (
    id BIGSERIAL PRIMARY KEY, session_id TEXT NOT NULL, segment BIGINT NOT NULL, "offset" BIGINT NOT NULL,
    length INTEGER NOT NULL, record BYTEA NOT NULL, created_ms BIGINT NOT NULL);
"""


class OwnLog:
    """This node's log and index, for the backfill: a session's last batches in its own segments."""

    def __init__(self, segment_log: SegmentLog, index: Index, segments: tuple[int, int]) -> None:
        self._log, self._index, self._segments = segment_log, index, segments  # segments: [first, last)
        self.sealer = segment_log.sealer

    def recent(self, session_id: str, upto: Location | None) -> list[tuple[Location, Record]]:
        """Once the index holds the commits up to `upto`: the session's last RECENT_BATCHES here."""
        if upto is not None:
            with contextlib.suppress(TimeoutError):  # a busy index writer: relay what it has
                self._index.applied(upto).result(timeout=INDEX_WAIT_S)
        rows = self._index.read(lambda cur: cur.execute(
            'SELECT segment, "offset", length FROM records WHERE session_id = ? AND segment >= ? AND segment < ? '
            'ORDER BY segment DESC, "offset" DESC LIMIT ?', [session_id, *self._segments, RECENT_BATCHES]).fetchall())
        locations = sorted(Location(*row) for row in rows)
        return [(location, record) for location, record in zip(locations, self._log.read_many(locations), strict=True)
                if record is not None and record.kind == Kind.BATCH]


def _now_ms() -> int:
    return int(time.time() * 1000)


class LiveRelay:
    """Two threads per node: one sends (batches, watches, renewals) through the pool, one
    LISTENs on its own connection and hands other nodes' batches to the local hub."""

    def __init__(self, rows: SharedRows, catalog_url: str, hub: LiveHub, own: OwnLog) -> None:
        self._rows, self._url, self._hub, self._own = rows, catalog_url, hub, own
        self._sealer = own.sealer  # with encryption at rest, relayed batches are sealed as on disk
        self.node = uuid.uuid4().hex[:16]  # this process: a restarted node's old rows just expire
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send_loop, name="live-relay-send", daemon=True),
                         threading.Thread(target=self._listen_loop, name="live-relay-listen", daemon=True)]
        rows.read(lambda cur: cur.execute(_TABLES))

    def start(self) -> None:
        self._hub.on_watch = lambda session_id: self._jobs.put(lambda: self._register(session_id))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._hub.on_watch = None
        self._stop.set()
        self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def committed(self, placed: list[tuple[Location, Record, object]]) -> None:
        """Log commit listener (committer thread): queue the batches someone elsewhere watches."""
        elsewhere = self._hub.watched_elsewhere
        if not elsewhere:
            return
        relayed = [(location, record) for location, record, _ in placed
                   if record.kind == Kind.BATCH and record.meta.session_id in elsewhere]  # type: ignore[union-attr]
        if relayed:
            self._jobs.put(lambda: self._publish(relayed))

    # The sending thread: every round trip to Postgres off the committer and the event loop.

    def _send_loop(self) -> None:
        renewed = 0.0
        while True:
            if time.monotonic() - renewed >= RENEW_S:
                renewed = time.monotonic()
                self._attempt(self._renew)
            try:
                job = self._jobs.get(timeout=max(0.0, renewed + RENEW_S - time.monotonic()))
            except queue.Empty:
                continue
            if job is None:
                return
            self._attempt(job)

    def _attempt(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception as exc:  # Postgres away: live across nodes pauses, ingest does not
            log.error("live relay: %s", short_error(exc))

    def _publish(self, batches: list[tuple[Location, Record]]) -> None:
        rows = [(r.meta.session_id, loc.segment, loc.offset, loc.length,  # type: ignore[union-attr]
                 encode(r, self._sealer), _now_ms()) for loc, r in batches]
        def insert(cur: Any) -> None:
            for row in rows:
                cur.execute(f"""WITH added AS (INSERT INTO live_batches
                        (session_id, segment, "offset", length, record, created_ms)
                        VALUES (?, ?, ?, ?, ?, ?) RETURNING id, session_id)
                    SELECT pg_notify('{BATCH_CHANNEL}', id || ' ' || session_id) FROM added""", row)

        self._rows.read(insert)

    def _register(self, session_id: str) -> None:
        """A stream opened here: hold the watch, and ask the ingesting node for what we may lack."""
        def register(cur: Any) -> None:
            cur.execute("""INSERT INTO live_watch VALUES (?, ?, ?) ON CONFLICT (session_id, node)
                           DO UPDATE SET expires_ms = excluded.expires_ms""",
                        [session_id, self.node, _now_ms() + int(WATCH_TTL_S * 1000)])
            cur.execute(f"SELECT pg_notify('{WATCH_CHANNEL}', ?)", [session_id])

        self._rows.read(register)

    def _renew(self) -> None:
        """Extend this node's watches, drop the ones whose streams closed, sweep old batches."""
        here, now = self._hub.sessions_watched_here(), _now_ms()
        def renew(cur: Any) -> None:
            cur.execute("UPDATE live_watch SET expires_ms = ? WHERE node = ? AND session_id = ANY(?)",
                        [now + int(WATCH_TTL_S * 1000), self.node, here])
            cur.execute("DELETE FROM live_watch WHERE (node = ? AND NOT session_id = ANY(?)) OR expires_ms < ?",
                        [self.node, here, now])
            cur.execute("DELETE FROM live_batches WHERE created_ms < ?", [now - int(KEEP_S * 1000)])

        self._rows.read(renew)

    def _backfill(self, session_id: str) -> None:
        recent = self._own.recent(session_id, self._hub.last_committed)
        if recent:
            self._publish(recent)

    # The listening thread: its own connection, since LISTEN belongs to a session.

    def _listen_loop(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"SET search_path TO {SCHEMA}")
                    self._listen(conn)
            except Exception as exc:  # dropped connection: listen again, refreshing on the way
                log.error("live relay listener: %s", short_error(exc))
                self._stop.wait(1.0)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"LISTEN {BATCH_CHANNEL}")
        conn.execute(f"LISTEN {WATCH_CHANNEL}")
        refreshed = 0.0
        while not self._stop.is_set():
            # Taken whole before acting on them: the generator holds the connection meanwhile.
            for notice in list(conn.notifies(timeout=REFRESH_S, stop_after=1)):
                if notice.channel == BATCH_CHANNEL:
                    self._receive(conn, notice.payload)
                else:
                    # A new watch. Known first, so every later commit is relayed as it lands; the
                    # backfill then reads what committed before (the relay's half of "no gaps").
                    refreshed = time.monotonic()
                    self._refresh(conn)
                    self._jobs.put(functools.partial(self._backfill, notice.payload))
            if time.monotonic() - refreshed >= REFRESH_S:
                refreshed = time.monotonic()
                self._refresh(conn)

    def _refresh(self, conn: psycopg.Connection[Any]) -> None:
        rows = conn.execute("SELECT DISTINCT session_id FROM live_watch WHERE node <> %s AND expires_ms >= %s",
                            [self.node, _now_ms()]).fetchall()
        self._hub.watched_elsewhere = frozenset(row[0] for row in rows)

    def _receive(self, conn: psycopg.Connection[Any], payload: str) -> None:
        row_id, _, session_id = payload.partition(" ")
        if not self._hub.watched_here(session_id):
            return
        row = conn.execute('SELECT segment, "offset", length, record FROM live_batches WHERE id = %s',
                           [int(row_id)]).fetchone()
        if row is None:
            return  # swept already
        segment, offset, length, data = row
        self._hub.deliver([(Location(segment, offset, length), self._decode(bytes(data)), None)])

    def _decode(self, data: bytes) -> Record:
        """A record as `encode` wrote it (header, meta, body), as the log's reader takes it apart."""
        _, kind, meta_len, body_len, _ = HEADER.unpack_from(data)
        meta = data[HEADER.size : HEADER.size + meta_len]
        return decode_payload(kind, meta, data[HEADER.size + meta_len : HEADER.size + meta_len + body_len], self._sealer)
