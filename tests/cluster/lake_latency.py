"""DuckLake's write and read latency on this machine: a catalog in a throwaway Postgres, the
Parquet data on moto's S3 server, two DuckDB instances standing in for two nodes; beside
each figure the same statement on a local DuckDB file (what a single node does today).

    python -m tests.cluster.lake_latency [--rounds N]

Not a test (timings are never pass/fail here): it prints one row per operation, the
median and p90 in milliseconds, and the ratio to the local file.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import duckdb

from bench.stats import p50, percentile, timed
from sessionstory.index import lake
from tests.cluster.harness import MotoS3, Postgres, print_table

SESSIONS = """CREATE TABLE {db}.sessions (id VARCHAR, project_id VARCHAR, started_ms BIGINT,
    event_count INTEGER, urls VARCHAR, last_received_ms BIGINT)"""
FACTS = "CREATE TABLE {db}.pages (project_id VARCHAR, session_id VARCHAR, at_ms BIGINT, url VARCHAR, title VARCHAR)"
_counter = iter(range(10**9))


def _pages(con: duckdb.DuckDBPyConnection, db: str, rows: int) -> None:
    base = next(_counter) * rows
    con.execute(f"INSERT INTO {db}.pages SELECT 'p', 's' || (i // 5), {base} + i, 'https://shop.example/' || i, 'Page'"
                f" FROM range({rows}) t(i)")


def _merge_sessions(con: duckdb.DuckDBPyConnection, db: str, rows: int) -> None:
    """A flush of the index writer: `rows` sessions touched, half of them new."""
    start = next(_counter) * rows // 2
    con.execute(f"""MERGE INTO {db}.sessions USING (
            SELECT 's' || ({start} + i) AS id, 'p' AS project_id, {start} + i AS started_ms, 10 AS event_count,
                   'https://shop.example/' AS urls, epoch_ms(now()) AS last_received_ms FROM range({rows}) t(i)) src
        ON sessions.id = src.id
        WHEN MATCHED THEN UPDATE SET event_count = sessions.event_count + src.event_count,
                                     last_received_ms = src.last_received_ms
        WHEN NOT MATCHED THEN INSERT VALUES (src.id, src.project_id, src.started_ms, src.event_count, src.urls,
                                             src.last_received_ms)""")


def _one_session(con: duckdb.DuckDBPyConnection, db: str) -> object:
    """What replay asks first: one session's rows, by id (DuckLake has no index to ask)."""
    return con.execute(f"SELECT at_ms, url FROM {db}.pages WHERE session_id = 's77' ORDER BY at_ms").fetchall()


def _list(con: duckdb.DuckDBPyConnection, db: str) -> object:
    return con.execute(f"SELECT id, started_ms, event_count FROM {db}.sessions WHERE project_id = 'p'"
                       f" ORDER BY started_ms DESC LIMIT 50").fetchall()


def _seen_by_other(writer: duckdb.DuckDBPyConnection, reader: duckdb.DuckDBPyConnection, db: str) -> float:
    """From one node's commit to another node's query returning the row, in ms."""
    marker = f"m{next(_counter)}"
    started = time.perf_counter()
    writer.execute(f"INSERT INTO {db}.pages VALUES ('p', ?, 0, 'https://shop.example/', 'Page')", [marker])
    while not reader.execute(f"SELECT count(*) FROM {db}.pages WHERE session_id = ?", [marker]).fetchone()[0]:  # type: ignore[index]
        pass
    return (time.perf_counter() - started) * 1000


def _row(name: str, lake_ms: list[float], local_ms: list[float]) -> str:
    return (f"| {name} | {p50(lake_ms):.1f} | {percentile(lake_ms, 90):.1f} | "
            f"{p50(local_ms):.2f} | {p50(lake_ms) / p50(local_ms):.0f}x |")


def measure(rounds: int) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="lake-latency-"))
    pg, s3 = Postgres().start(), MotoS3(work).start()
    try:
        catalog, bucket = pg.create_database("latency"), s3.create_bucket("latency")
        nodes = [duckdb.connect() for _ in range(2)]
        for con in nodes:
            lake.attach(con, catalog, f"s3://{bucket}/lake/", s3.env, work / "extensions")
        local = duckdb.connect(str(work / "local.duckdb"))  # its catalog is named "local"
        writer, reader = nodes
        for con, db in ((writer, "lake"), (local, "local")):
            con.execute(SESSIONS.format(db=db))
            con.execute(FACTS.format(db=db))
        rows = []
        for name, step in (
            ("insert 1 row (inlined in the catalog)", lambda con, db: _pages(con, db, 1)),
            ("insert 5,000 rows (one Parquet object)", lambda con, db: _pages(con, db, 5000)),
            ("merge 200 sessions (100 new, 100 updated)", lambda con, db: _merge_sessions(con, db, 200)),
            ("list 50 newest sessions", _list),
            ("one session's pages by id", _one_session),
        ):
            lake_ms = timed(lambda: step(writer, "lake"), rounds, warmups=1)
            local_ms = timed(lambda: step(local, "local"), rounds, warmups=1)
            rows.append(_row(name, lake_ms, local_ms))
        seen = [_seen_by_other(writer, reader, "lake") for _ in range(rounds)]
        seen_local = timed(lambda: _pages(local, "local", 1), rounds, warmups=1)  # one node: its commit is its read
        rows.append(_row("commit on node 1 until node 2 reads it", seen, seen_local))
        rows.append(_concurrent_appends(nodes, rounds))
        rows.append(_delete_beside_append(nodes))
        counts = [writer.execute(f"SELECT count(*) FROM lake.{t}").fetchone()[0] for t in ("pages", "sessions")]  # type: ignore[index]
        rows.append(f"| (the lake's tables at the end: {counts[0]:,} pages, {counts[1]:,} sessions) | | | | |")
        return rows
    finally:
        s3.stop()
        pg.stop()


def _concurrent_appends(nodes: list[duckdb.DuckDBPyConnection], rounds: int) -> str:
    """Both nodes append 500 rows at the same moment, `rounds` times: appends never conflict."""
    failures: list[str] = []

    def append(con: duckdb.DuckDBPyConnection) -> None:
        try:
            _pages(con, "lake", 500)
        except duckdb.Error as exc:
            failures.append(str(exc).splitlines()[0])

    started = time.perf_counter()
    for _ in range(rounds):
        threads = [threading.Thread(target=append, args=(con,)) for con in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    per_round = (time.perf_counter() - started) * 1000 / rounds
    return f"| two nodes append 500 rows at once | {per_round:.1f} per round | | | {len(failures)} conflicts |"


def _delete_beside_append(nodes: list[duckdb.DuckDBPyConnection]) -> str:
    """A delete (an upsert's first half, an erasure) committed while another node appended to
    the same table since the delete's transaction began."""
    deleter, appender = nodes
    deleter.execute("BEGIN")
    deleter.execute("DELETE FROM lake.pages WHERE session_id = 's0'")
    _pages(appender, "lake", 1)
    try:
        deleter.execute("COMMIT")
    except duckdb.Error as exc:
        return f"| delete on node 1 while node 2 appended to the table | conflict: {str(exc).splitlines()[-1]} | | | |"
    return "| delete on node 1 while node 2 appended to the table | committed | | | |"


def main() -> None:
    print_table(__doc__.splitlines()[0], ["operation", "DuckLake median ms", "p90 ms", "local DuckDB file median ms", "ratio"],
                measure, rounds=20)


if __name__ == "__main__":
    main()
