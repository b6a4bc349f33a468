"""An opened data directory: the segment log, the index over it, and the services on both.

The server and the CLI open it the same way. Opening brings the index up to date with
the log, so whatever was acknowledged before a crash is searchable again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sessionstory.audit import AuditLog
from sessionstory.auth import Accounts
from sessionstory.collab import Comments, ShareLinks
from sessionstory.compaction import Compactor
from sessionstory.config import ConfigError, Settings
from sessionstory.entities import IndexRows, Rows
from sessionstory.erasure import Erasure
from sessionstory.index import Index
from sessionstory.index.compaction import dictionary_location, unpack
from sessionstory.ingest import Ingestor
from sessionstory.insights.llm import LocalModel
from sessionstory.projects import Projects
from sessionstory.saved_filters import SavedFilters
from sessionstory.store import Kind, Location, Record, SegmentLog
from sessionstory.store.records import Sealer

if TYPE_CHECKING:
    from sessionstory.cluster.accounts import SharedRows
    from sessionstory.cluster.health import ClusterHealth
    from sessionstory.cluster.live import LiveRelay
    from sessionstory.cluster.lock import ClusterLock
    from sessionstory.cluster.peers import PeerIndexer
    from sessionstory.live import LiveHub
    from sessionstory.store.shipping import Shipper

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
CATCH_UP_CHUNK = 500


class DataDir:
    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        self.settings = settings
        self.shipper = _shipper(settings)  # None on a single node
        self.shared_rows = _shared_rows(settings)  # None on a single node
        self.log = SegmentLog(settings.segments_dir, sealer=Sealer(settings.encryption_key) if settings.encryption_key else None,
                              first_segment=self.shipper.first_segment if self.shipper else 1, remote=self.shipper)
        self.index = Index(settings.index_path, self.log)
        self.log.dictionaries.locate = lambda project_id, version: self.index.read(
            lambda cur: dictionary_location(cur, project_id, version))
        self.caught_up = self._catch_up(self.index.log_position(), progress)
        self.log.on_commit(self.index.feed)
        # Accounts, projects and what hangs on them: this node's log and index, or a cluster's Postgres.
        self.rows: Rows = self.shared_rows or IndexRows(self.log, self.index)
        self.projects = Projects(self.rows, shared=self.shared_rows is not None)
        self.accounts = Accounts(self.rows)
        self.comments = Comments(self.log, self.index, self.rows)
        self.share_links = ShareLinks(self.log, self.index, self.rows)
        self.audit = AuditLog(self.log, self.index)
        self.ingestor = Ingestor(self.log, self.index, settings.limits)
        self.erasure = Erasure(self.log, self.index, self.ingestor, self.projects,
                               settings.data_dir / "purge-pending", self.reindex)
        self.saved_filters = SavedFilters(self.rows)
        self.compactor = self._compactor()
        self.erasure.after_erasure = self.compactor.forget  # dictionaries that learnt from erased sessions go too
        self.erasure.cluster_lock = self.cluster_lock  # retention once per cluster (None on a single node)
        self.erasure.rows = self.rows  # a cluster's comments and share links are in its catalog
        self.model = LocalModel(settings.data_dir, settings.llm_model)  # loaded on first use
        self.peers = self._peer_indexer()  # None on a single node
        self.health = self._cluster_health()  # None on a single node
        self.live_relay: LiveRelay | None = None  # set by relay_live in a cluster

    def start(self) -> None:
        """Start the background threads a server needs (group commit, index writer)."""
        self.index.start()
        self.log.start()
        if self.shipper is not None:
            self.shipper.start(self.log)
        if self.peers is not None:
            self.peers.start()
        if self.health is not None:
            self.health.start()

    def relay_live(self, hub: LiveHub) -> None:
        """With a catalog: viewers here follow sessions other nodes ingest, and theirs follow
        this node's (cluster/live.py). Nothing on a single node. After `log.on_commit(hub.committed)`."""
        if self.shared_rows is None:
            return
        from sessionstory.cluster.live import LiveRelay, OwnLog

        self.live_relay = LiveRelay(self.shared_rows, self.settings.catalog_url, hub,
                                    OwnLog(self.log, self.index, self._own_segments()))
        self.log.on_commit(self.live_relay.committed)
        self.live_relay.start()

    def _own_segments(self) -> tuple[int, int]:
        """The segment numbers this node's log writes: [first, last) (all of them without a store)."""
        if self.shipper is None:
            return 0, 2**31
        from sessionstory.store.shipping import first_segment

        return self.shipper.first_segment, first_segment(self.shipper.node + 1)

    def close(self) -> None:
        if self.live_relay is not None:
            self.live_relay.stop()
        self.compactor.stop()
        self.model.close()
        if self.health is not None:
            self.health.stop()
        if self.peers is not None:
            self.peers.stop()
        if self.shipper is not None:
            self.shipper.stop()  # a clean stop ships the open tail too
        self.log.close()
        self.index.close()
        if self.shared_rows is not None:
            self.shared_rows.close()

    def _compactor(self) -> Compactor:
        if self.shipper is None:
            return Compactor(self.log, self.index, self.settings.session_timeout_s)
        from sessionstory.cluster.compaction import NodeCompactor

        compactor = NodeCompactor(self.log, self.index, self.settings.session_timeout_s, self.shipper.node)
        compactor.cluster_lock = self.cluster_lock  # sessions split over nodes: packed once a round
        return compactor

    @property
    def cluster_lock(self) -> ClusterLock | None:
        """With a catalog: `with dd.cluster_lock.held(name) as mine:` runs background work
        (retention, digests...) on one node of the cluster at a time; None on a single node."""
        return self.shared_rows.lock if self.shared_rows is not None else None

    def cluster_checks(self) -> dict[str, str | None]:
        """For /readyz: whether the object store and the catalog answered at the last probe
        (failure text, or None); nothing on a single node."""
        return self.health.checks() if self.health is not None else {}

    def _cluster_health(self) -> ClusterHealth | None:
        probes: dict[str, Callable[[], object]] = {}
        if self.shipper is not None:
            objects = self.shipper.objects
            probes["store"] = lambda: objects.list("nodes/")
        if self.shared_rows is not None:
            probes["catalog"] = self.shared_rows.ping
        if not probes:
            return None
        from sessionstory.cluster.health import ClusterHealth

        return ClusterHealth(probes)

    def _peer_indexer(self) -> PeerIndexer | None:
        """With a store URL: what indexes the segments the other nodes shipped (a server's thread)."""
        if self.shipper is None:
            return None
        from sessionstory.cluster.peers import PeerIndexer, scratch_dir

        return PeerIndexer(self.shipper.objects, self.shipper.node, self.index, self._note,
                           scratch_dir(self.settings.data_dir), self.log.sealer)

    def _catch_up(self, since: Location | None, progress: Progress | None, index: Index | None = None) -> int:
        """Index every record the log has beyond the index's checkpoint."""
        index = index or self.index
        count = 0
        chunk: list[tuple[Location, Record, object]] = []
        for location, record in self.log.scan(since):
            chunk.append((location, record, self._note(record)))
            if len(chunk) >= CATCH_UP_CHUNK:
                index.feed(chunk)
                count += len(chunk)
                chunk = []
                if progress:
                    progress(count)
        if chunk:
            index.feed(chunk)
            count += len(chunk)
        if count:
            log.info("index caught up with %d records from the log", count)
        return count

    def _note(self, record: Record) -> object:
        """What indexing a record read back from the log needs beside it."""
        if record.kind == Kind.DICTIONARY:
            self.log.dictionaries.add(record)
        elif record.kind == Kind.COMPACTED:
            try:
                return unpack(record, self.log.dictionaries)
            except Exception:  # unreadable: the index keeps what it has of the session
                log.exception("cannot read the compacted record of session %s", getattr(record.meta, "session_id", "?"))
        return None

    def reindex(self, progress: Progress | None = None) -> int:
        """Rebuild the index from the log beside the live one, then swap it in.

        Ingest goes on meanwhile; only the final catch-up and swap hold the log still.
        Compaction waits: it would move records under the rebuild.
        """
        with self.compactor.lock:
            return self._reindex(progress)

    def _reindex(self, progress: Progress | None) -> int:
        fresh_path = Path(f"{self.settings.index_path}.rebuild")
        for leftover in (fresh_path, Path(f"{fresh_path}.wal")):
            leftover.unlink(missing_ok=True)
        fresh = Index(fresh_path, self.log)
        count = self._catch_up(None, progress, fresh)
        with self.log.paused():
            self.index.flush()
            count += self._catch_up(fresh.log_position(), None, fresh)
            if self.shared_rows is None:  # a cluster's sign-ins are in its Postgres, untouched
                _carry_sign_ins(self.index, fresh)
            fresh.close()
            self.index.replace_file(fresh_path, fresh.pending_sessions())
        if self.peers is not None:
            self.peers.reset()  # the rebuilt file holds this node's log alone: index the peers' again
        self.projects.reload()
        return count


def _shipper(settings: Settings) -> Shipper | None:
    """With a store URL: this data dir's node in the cluster's object store (claimed on first use)."""
    if not settings.store_url:
        return None
    # Imported here: a single node needs no object store client.
    try:
        from obstore.exceptions import BaseError as ObstoreError
    except ImportError:
        raise ConfigError("SESSIONSTORY_STORE_URL needs the object store client: pip install 'sessionstory[cluster]'") from None

    from sessionstory.store.objects import ObjectStore, StoreUrlError, short_error
    from sessionstory.store.shipping import SHIPPED_FILE, Shipper, claim_node

    try:
        objects = ObjectStore(settings.store_url, settings.aws_env)
        node = claim_node(objects, settings.data_dir, settings.segments_dir)
    except (StoreUrlError, ObstoreError) as exc:
        raise ConfigError(f"segment store {settings.store_url}: {short_error(exc)}") from None
    return Shipper(objects, node, settings.store_seal_s, settings.data_dir / SHIPPED_FILE)


def _shared_rows(settings: Settings) -> SharedRows | None:
    """With a catalog URL: the cluster's account tables in its Postgres."""
    if not settings.catalog_url:
        return None
    try:  # imported here: a single node needs no Postgres client
        from sessionstory.cluster.accounts import SharedRows, open_pool
    except ImportError:
        raise ConfigError("SESSIONSTORY_CATALOG_URL needs the Postgres client: pip install 'sessionstory[cluster]'") from None
    return SharedRows(open_pool(settings.catalog_url))


def _carry_sign_ins(old: Index, fresh: Index) -> None:
    """Dashboard sign-ins live only in the index (not in the log): a rebuild keeps them, so a
    reindex (or the purge after an erasure) signs nobody out."""
    rows = old.read(lambda cur: cur.execute("SELECT id_hash, user_id, csrf_token, expires_ms FROM web_sessions").fetchall())
    if rows:
        fresh.write(lambda con: con.executemany("INSERT OR REPLACE INTO web_sessions VALUES (?, ?, ?, ?)", rows)).result()
