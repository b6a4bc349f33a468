"""The shared index's table layout on a real DuckLake (Postgres catalog, Parquet on moto's
S3): two nodes flushing at the same moment never conflict, and both see one session whose
batches reached both of them as one row."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from sessionstory.index import lake
from sessionstory.index.lake_writer import LakeWriter, Page, SessionPart
from sessionstory.store import Location
from tests.cluster.harness import MotoS3, Postgres

FLUSHES = 8


def _flush_of(node: int, n: int) -> tuple[list[SessionPart], list[Page]]:
    """A flush of node `node`: its own session, and a session shared with the other node."""
    at = 1_700_000_000_000 + n * 1000
    parts = [SessionPart(f"own-{node}", "p", at, at + 500, 10), SessionPart("shared", "p", at + node, at + node + 500, 1)]
    pages = [Page("p", f"own-{node}", at, f"https://shop.example/{node}/{n}"), Page("p", "shared", at + node, "https://shop.example/")]
    return parts, pages


def test_two_nodes_flush_at_once_without_conflict(postgres: Postgres, s3: MotoS3, tmp_path: Path) -> None:
    catalog, bucket = postgres.create_database("lake_writer"), s3.create_bucket("lake-writer")
    writers = []
    for node in (1, 2):
        con = duckdb.connect()
        lake.attach(con, catalog, f"s3://{bucket}/lake/", s3.env, tmp_path / "extensions")
        writers.append(LakeWriter(con, node))
    failures: list[BaseException] = []

    def run(writer: LakeWriter) -> None:
        for n in range(FLUSHES):
            try:
                writer.flush(*_flush_of(writer.node, n), Location(writer.node << 21 | 1, n * 100, 100))
            except BaseException as exc:  # reported below: a conflict is what this test is about
                failures.append(exc)

    threads = [threading.Thread(target=run, args=(writer,)) for writer in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not failures, failures
    for writer in writers:
        assert writer.position() == Location(writer.node << 21 | 1, (FLUSHES - 1) * 100, 100)
        rows = writer.con.execute("SELECT id, event_count, parts FROM lake.sessions ORDER BY id").fetchall()
        assert rows == [("own-1", 10 * FLUSHES, 1), ("own-2", 10 * FLUSHES, 1), ("shared", 2 * FLUSHES, 2)]
        assert writer.con.execute("SELECT count(*) FROM lake.pages").fetchone() == (4 * FLUSHES,)
