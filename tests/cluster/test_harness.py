"""The cluster's engines work together: a DuckLake catalog in Postgres with its Parquet
data on the S3 server, written by two DuckDB instances at once."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import duckdb

from sessionstory.index import lake
from tests.cluster.harness import MotoS3, Postgres


def test_two_duckdb_instances_share_one_ducklake(postgres: Postgres, s3: MotoS3, tmp_path: Path) -> None:
    catalog = postgres.create_database("lake_harness")
    bucket = s3.create_bucket("harness")
    nodes = [duckdb.connect() for _ in range(2)]  # two in-memory databases: nothing shared but the lake
    for con in nodes:
        lake.attach(con, catalog, f"s3://{bucket}/lake/", s3.env, tmp_path / "extensions")
    nodes[0].execute("CREATE TABLE lake.visits (node INTEGER, note VARCHAR)")

    def write(number: int) -> None:
        nodes[number].execute("INSERT INTO lake.visits VALUES (?, ?)", [number, f"from node {number}"])

    writers = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()

    for con in nodes:
        assert con.execute("SELECT node, note FROM lake.visits ORDER BY node").fetchall() == [
            (0, "from node 0"), (1, "from node 1")]
    # Small inserts are inlined into the catalog; a large one is Parquet in the bucket, not on this machine.
    nodes[1].execute("INSERT INTO lake.visits SELECT 2, 'bulk ' || i FROM range(5000) t(i)")
    assert nodes[0].execute("SELECT count(*) FROM lake.visits WHERE node = 2").fetchone() == (5000,)
    with urllib.request.urlopen(f"{s3.endpoint}/{bucket}?list-type=2&prefix=lake/", timeout=10) as listing:
        assert b".parquet</Key>" in listing.read()
