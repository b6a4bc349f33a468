"""How often a cluster node indexes a peer's batch below a seq it indexed already, and whether
every node's facts then match a single node's: two `sessionstory serve` nodes behind the
round-robin balancer (`harness.RoundRobin`, no stickiness, as docs/cluster/nginx.conf), visitors
sending at the SDK's pace (a batch every PACE_S, one in flight; rage bursts, clicks awaiting their
effect, page views and errors spanning batches), then the very same batches in seq order to a
single node beside them.

    python -m tests.cluster.peer_order [--sessions N] [--seconds S] [--seal S] [--code DIR]

Not a test. Prints, per node: the peer batches it indexed, of which below an indexed seq (its
log lines), and the sessions whose facts (`GET /api/v1/sessions/{id}`) differ from the single
node's. `--code DIR` runs the nodes from the package under DIR (e.g. `git archive` of an older
commit), for a before and after on the same machine.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.cluster.harness import MotoS3, Postgres, RoundRobin, print_table, wait_for
from tests.conftest import batch, meta_event
from tests.events import click, error, mouse_moves, mutation, page
from tests.server import Server

PACE_S = 2.0  # the SDK's PACE_MS (sdk_js/src/batch.ts)
FACTS = ("active_ms", "clicks", "rage_clicks", "dead_clicks", "error_count", "page_count", "event_count",
         "duration_ms", "entry_url", "exit_url", "pages", "errors")
LATE = re.compile(r"peer segment \d+: (\d+) records indexed, (\d+) of them batches below")


def _batch_events(rng: random.Random, start_ms: int, seq: int) -> list[dict[str, Any]]:
    """One batch's PACE_S of a visit: moves, clicks (a rage burst may begin near its end and go on
    in the next batch), now and then a page view, an error, or the DOM change a click caused."""
    events: list[dict[str, Any]] = [meta_event(start_ms, "https://shop.example/")] if seq == 0 else []
    at = start_ms
    if seq == 0 or rng.random() < 0.2:
        events.append(page(at, f"https://shop.example/p{rng.randrange(8)}", kind="push"))
    events.append(mouse_moves(at + 100, [rng.randrange(900) for _ in range(4)], step=120))
    for _ in range(rng.randrange(3)):
        at += rng.randrange(200, 600)
        x, y = rng.randrange(900), rng.randrange(600)
        burst = 3 if rng.random() < 0.25 else 1
        for n in range(burst):
            events.append(click(at + n * 180, x=x + n, y=y, selector=f"button#b{x % 7}"))
        if rng.random() < 0.5:
            events.append(mutation(at + burst * 180 + 200))
        if rng.random() < 0.15:
            events.append(error(at + 150))
    events.sort(key=lambda e: e["timestamp"])
    return events


def _visit(http: httpx.Client, url: str, key: str, sid: str, seed: int, until: float) -> list[dict[str, Any]]:
    """A visitor sending at the SDK's pace until `until`; the bodies sent, in seq order."""
    rng, start, sent = random.Random(seed), int(time.time() * 1000), []
    seq = 0
    while time.monotonic() < until:
        body = batch(key, sid, seq, _batch_events(rng, start + int(seq * PACE_S * 1000), seq), visitor_id=f"v-{sid}")
        assert http.post(f"{url}/api/v1/ingest", json=body).status_code == 200
        sent.append(body)
        seq += 1
        time.sleep(PACE_S)
    return sent


def _facts(http: httpx.Client, url: str, token: str, sid: str) -> dict[str, Any]:
    got = http.get(f"{url}/api/v1/sessions/{sid}", headers={"Authorization": f"Bearer {token}"})
    return {k: v for k, v in got.json().items() if k in FACTS} if got.status_code == 200 else {}


def _late_lines(node: Server) -> tuple[int, int]:
    """Peer records indexed and peer batches below an indexed seq, from the node's log lines."""
    found = [tuple(map(int, m.groups())) for m in LATE.finditer(node.log_path.read_text())]
    return sum(r for r, _ in found), sum(late for _, late in found)


def measure(sessions: int, seconds: float, seal: float, code: str) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="peer-order-"))
    if code:
        os.chdir(code)  # `python -m sessionstory` looks in its working directory first
    pg, s3 = Postgres().start(), MotoS3(work).start()
    unlimited = {"SESSIONSTORY_INGEST_RATE_PER_ADDRESS": "0", "SESSIONSTORY_INGEST_RATE_PER_PROJECT": "0",
                 **({"PYTHONPATH": code} if code else {})}
    env = {"SESSIONSTORY_STORE_URL": f"s3://{s3.create_bucket('order')}/cluster",
           "SESSIONSTORY_CATALOG_URL": pg.create_database("order"), "SESSIONSTORY_STORE_SEAL_SECONDS": str(seal),
           **s3.env, **unlimited}
    nodes: list[Server] = []
    try:
        for n in range(2):  # one after the other: the first makes the admin
            nodes.append(Server(work / f"node-{n}", env=env).start())
        single = Server(work / "single", env=unlimited).start()
        nodes.append(single)
        balancer = RoundRobin([node.url for node in nodes[:2]])
        key, token = nodes[0].project("Order")["public_key"], nodes[0].token()
        sent: dict[str, list[dict[str, Any]]] = {}
        until = time.monotonic() + seconds

        def visitor(n: int) -> None:
            with httpx.Client(timeout=30) as http:
                sent[f"s{n}"] = _visit(http, balancer.url, key, f"s{n}", n, until)

        threads = [threading.Thread(target=visitor, args=(n,)) for n in range(sessions)]
        for thread in threads:
            thread.start()
            time.sleep(PACE_S / sessions)  # visitors spread over the pace, as real ones are
        for thread in threads:
            thread.join()
        single_key, single_token = single.project("Order")["public_key"], single.token()
        with httpx.Client(timeout=30) as http:
            for sid, bodies in sent.items():  # in seq order, one at a time
                for body in bodies:
                    assert http.post(f"{single.url}/api/v1/ingest", json={**body, "key": single_key}).status_code == 200
            for node, node_token in ((nodes[0], token), (nodes[1], token), (single, single_token)):
                for sid, bodies in sent.items():
                    events = sum(len(b["events"]) for b in bodies)
                    wait_for(lambda: _facts(http, node.url, node_token, sid).get("event_count") == events,  # noqa: B023
                             f"{node.url} indexes every batch of {sid}", timeout=seal * 3 + 60)
            time.sleep(8)  # every node judges the clicks still awaiting an outcome (3 s quiet)
            want = {sid: _facts(http, single.url, single_token, sid) for sid in sent}
            rows = []
            for n, node in enumerate(nodes[:2]):
                differ = sum(_facts(http, node.url, token, sid) != want[sid] for sid in sent)
                peer_batches = balancer.ingested[nodes[1 - n].url]
                records, late = _late_lines(node)
                rows.append(f"| node {n + 1} | {code or 'this tree'} | {sum(map(len, sent.values())):,} | {peer_batches:,} | "
                            f"{late:,} of {records:,} records | {differ} of {len(sent)} |")
        balancer.close()
        return rows
    finally:
        for node in nodes:
            node.stop()
        s3.stop()
        pg.stop()


def main() -> None:
    print_table(__doc__.splitlines()[0], ["node", "code", "batches sent", "peer batches (balancer)",
                                          "peer batches below an indexed seq", "sessions whose facts differ from one node's"],
                measure, sessions=20, seconds=120.0, seal=60.0, code="")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
