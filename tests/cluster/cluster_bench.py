"""Ingest and the session list on one cluster node and on three, on this machine: real
`sessionstory serve` nodes on one bucket (moto's S3 server) and one catalog (a throwaway
Postgres). Beside each ingest figure, the bare `GET /healthz` of the same nodes at the same
concurrency (the baseline, as in `bench.ingest`).

    python -m tests.cluster.cluster_bench [--seconds S] [--concurrency C]

Not a test. Every node here shares one machine's cores, so three nodes cannot beat one by
more than the machine allows: the figures say what the cluster's own work costs (shipping,
peer indexing, the catalog), and docs/scaling.md reasons from them per added node.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.stats import p50, p95
from tests.cluster.harness import MotoS3, Postgres, print_table
from tests.conftest import batch, meta_event
from tests.server import Server


def _hammer(urls: list[str], send: Callable[[httpx.Client, str, int], bool], concurrency: int,
            seconds: float) -> float:
    """Requests a second answered 2xx, `concurrency` clients sending round-robin over `urls`."""
    done, stop = [0] * concurrency, time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(timeout=30) as http:
            for i in itertools.count():
                if time.monotonic() > stop:
                    return
                done[n] += send(http, urls[(n + i) % len(urls)], n * 1_000_000 + i)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def _cluster_row(nodes: list[Server], seconds: float, concurrency: int) -> str:
    key = nodes[0].project("Bench")["public_key"]
    token = nodes[0].token()

    def ingest(http: httpx.Client, url: str, n: int) -> bool:
        body = batch(key, f"s{n // 5}", n % 5, [meta_event(1_700_000_000_000 + n, href=f"https://shop.example/{n % 50}")])
        return http.post(f"{url}/api/v1/ingest", json=body).status_code == 200

    def bare(http: httpx.Client, url: str, n: int) -> bool:
        return http.get(f"{url}/healthz").status_code == 200

    urls = [node.url for node in nodes]
    ingested = _hammer(urls, ingest, concurrency, seconds)
    baseline = _hammer(urls, bare, concurrency, seconds)
    time.sleep(8)  # every node indexes the others' last segments (sealed after 5 s)
    last = nodes[-1]
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        listing = []
        for _ in range(60):
            started = time.perf_counter()
            assert http.get(f"{last.url}/api/v1/sessions?limit=50").status_code == 200
            listing.append((time.perf_counter() - started) * 1000)
        totals = [http.get(f"{node.url}/api/v1/sessions?limit=1").json()["total"] for node in (nodes[0], last)]
    return (f"| {len(nodes)} | {ingested:,.0f} | {baseline:,.0f} | {ingested / baseline:.0%} | "
            f"{p50(listing[10:]):.1f} | {p95(listing[10:]):.1f} | {totals[1]:,} of {totals[0]:,} |")


def measure(seconds: float, concurrency: int) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    pg, s3 = Postgres().start(), MotoS3(work).start()
    rows = []
    try:
        for count in (1, 3):
            env = {"SESSIONSTORY_STORE_URL": f"s3://{s3.create_bucket(f'bench-{count}')}/cluster",
                   "SESSIONSTORY_CATALOG_URL": pg.create_database(f"bench_{count}"),
                   "SESSIONSTORY_STORE_SEAL_SECONDS": "5", "SESSIONSTORY_INGEST_RATE_PER_ADDRESS": "0",
                   "SESSIONSTORY_INGEST_RATE_PER_PROJECT": "0", **s3.env}
            nodes = []
            try:
                for n in range(count):  # one after the other: the first makes the admin
                    nodes.append(Server(work / f"c{count}-node-{n}", env=env).start())
                rows.append(_cluster_row(nodes, seconds, concurrency))
            finally:
                for node in nodes:
                    node.stop()
        return rows
    finally:
        s3.stop()
        pg.stop()


def main() -> None:
    print_table(__doc__.splitlines()[0], ["nodes", "ingest req/s", "bare /healthz req/s", "ratio", "list p50 ms (last node)",
                                          "list p95 ms", "sessions on the last node, of the first's"],
                measure, seconds=20.0, concurrency=16)


if __name__ == "__main__":
    main()
