"""The pages that tell a team where to look: overview, errors, funnels, heatmaps, visitors."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from litestar.testing import TestClient

from sessionstory.datadir import DataDir
import numpy as np

from sessionstory.index.overview import Overview, KeptDays, _distinct, _quantile, overview
from sessionstory.index.sessions import iso
from tests.conftest import batch
from tests.events import click, custom, error, meta, mutation, page, snapshot
from tests.test_dashboard import sign_in

HOUR = 3_600_000


def _send(client: TestClient, key: str, sid: str, visitor: str, events: list[dict[str, Any]], seq: int = 0) -> None:  # type: ignore[type-arg]
    payload = {**batch(key, sid, seq, events), "visitor_id": visitor}
    assert client.post("/api/v1/ingest", json=payload).status_code == 200


def _journey(at: int, *urls: str) -> list[dict[str, Any]]:
    events = [meta(at, urls[0]), snapshot(at)]
    for i, url in enumerate(urls):
        events.append(page(at + i * 5000, url, title=url.rsplit("/", 1)[-1].title()))
    return events


def test_visitor_story_across_days(client: TestClient, admin: Any, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    now = int(time.time() * 1000)
    starts = [now - 30 * HOUR, now - 26 * HOUR, now - 2 * HOUR]
    _send(client, project.public_key, "ann-1", "ann", _journey(starts[0], "https://shop.example/", "https://shop.example/tea"))
    _send(client, project.public_key, "ann-2", "ann", [*_journey(starts[1], "https://shop.example/cart"),
                                                        error(starts[1] + 100, "TypeError: cart is empty")])
    identify = custom(starts[2] + 10, "identify", user_id="ann@example.com", traits={"plan": "pro", "seats": 3})
    _send(client, project.public_key, "ann-3", "ann", [*_journey(starts[2], "https://shop.example/checkout"), identify])
    datadir.index.flush()
    sign_in(client)
    listing = client.get(f"/visitors?project={project.id}&identified=true").text
    assert "ann@example.com" in listing and "plan=pro" in listing
    story = client.get(f"/visitors/ann?project={project.id}").text
    links = re.findall(r'href="/sessions/(ann-\d)"', story)
    assert links == ["ann-1", "ann-2", "ann-3"], "oldest first, each linked to its replay"
    assert "TypeError: cart is empty" in story and "https://shop.example/tea" in story
    assert "seats" in story and "pro" in story
    assert client.get(f"/visitors/nobody?project={project.id}").status_code == 404


def test_overview_and_errors(client: TestClient, admin: Any, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    now = int(time.time() * 1000)
    for i in range(4):
        events = _journey(now - (i + 1) * HOUR, "https://shop.example/", "https://shop.example/pay")
        if i < 2:
            events.append(error(now - (i + 1) * HOUR + 6000, f"Payment failed for order {1000 + i}"))
        events.append(custom(now - (i + 1) * HOUR + 7000, "vitals", name="LCP", value=1800.0 + i * 100, rating="good"))
        _send(client, project.public_key, f"o-{i}", f"v-{i}", events)
    datadir.index.flush()
    sign_in(client)
    page_ = client.get(f"/overview?project={project.id}&range=7d").text
    assert ">4<" in page_.replace(" ", "") or "<strong>4</strong>" in page_
    assert "50.0 %" in page_, "two of four sessions had an error"
    assert "https://shop.example/pay" in page_
    errors = client.get(f"/errors?project={project.id}").text
    assert errors.count('class="card error-group"') == 1, "messages differing only in numbers are one group"
    assert "2 times in 2 sessions" in errors
    watch = re.search(r'href="/sessions/(o-\d)\?t=(\d+)"', errors)
    assert watch and int(watch.group(2)) >= 0


def test_the_overview_keeps_whole_days_yet_follows_late_batches_and_deletions(  # type: ignore[type-arg]
        client: TestClient, project: Any, datadir: DataDir, auth: dict[str, str]) -> None:
    """The overview with the days it kept (KeptDays) says what it says without them, after a
    late batch changes sessions and vitals of kept days, after a deletion there, and after a rebuild."""
    now = int(time.time() * 1000)
    for day in range(1, 6):  # whole days only: a page's values read now would loosen its bounds
        for i in range(8):  # p0 the fastest page: what was kept alone would leave it out of the top 2
            at = now - day * 24 * HOUR - (i + 1) * HOUR
            events = [*_journey(at, "https://shop.example/", f"https://shop.example/p{i}"),
                      custom(at + 7000, "vitals", name="LCP", value=900.0 + 100 * day + 10 * i, rating="good")]
            _send(client, project.public_key, f"d{day}-{i}", f"v-{(day + i) % 4}", events)
    datadir.index.flush()
    days, span = KeptDays(), (now - 7 * 24 * HOUR, now + 60_000)

    def both(file: str = "file-1") -> tuple[Overview, Overview]:
        datadir.index.flush()
        kept = datadir.index.read(lambda cur: overview(cur, project.id, *span, top=2, days=days.of_index(file)))
        return kept, datadir.index.read(lambda cur: overview(cur, project.id, *span, top=2))

    kept, plain = both()
    assert kept == plain and plain.sessions == 40 and plain.visitors == 4 and len(plain.slowest_pages) == 2
    for day, i in ((3, 0), (4, 1), (2, 2), (3, 3)):  # sessions of whole days back, 40 minutes longer and slower
        late = now - day * 24 * HOUR - (i + 1) * HOUR + 40 * 60_000
        _send(client, project.public_key, f"d{day}-{i}", f"v-{(day + i) % 4}",
              [page(late, "https://shop.example/p0"), custom(late + 100, "vitals", name="LCP", value=9000.0, rating="poor")], seq=1)
    kept, later = both()
    assert kept == later and later.slowest_pages[0].url == "https://shop.example/p0"
    assert later.p90_duration_ms != plain.p90_duration_ms and later.slowest_pages != plain.slowest_pages
    midnight = (now // (24 * HOUR) - 2) * 24 * HOUR  # a session from before midnight sends a slow page after it
    _send(client, project.public_key, "night", "v-0", _journey(midnight - 10 * 60_000, "https://shop.example/"))
    kept, _ = both()
    _send(client, project.public_key, "night", "v-0", [page(midnight + 20 * 60_000, "https://shop.example/night"),
          custom(midnight + 20 * 60_000 + 100, "vitals", name="LCP", value=9500.0, rating="poor")], seq=1)
    kept, night = both()
    assert kept == night and night.slowest_pages[0].url == "https://shop.example/night"
    assert client.delete("/api/v1/sessions/d2-1", headers=auth).status_code == 204
    kept, fewer = both()
    assert kept == fewer and fewer.sessions == 40
    kept, _ = both("file-2")  # a rebuilt index
    assert kept == fewer


@given(st.lists(st.integers(0, 10**9)), st.lists(st.integers(0, 10**9)), st.sampled_from([0.0, 0.1, 0.5, 0.75, 0.9, 1.0]))
def test_the_kept_days_quantile_and_distinct_count_are_numpys(a: list[int], b: list[int], q: float) -> None:
    """The overview's median and p90 over kept days and edges are np.quantile's to the bit (and so
    DuckDB's, which the test above compares), and its distinct visitors np.unique's."""
    if not a and not b:
        return
    kept, rest = np.sort(np.array(a, np.int64)), np.sort(np.array(b, np.int64))
    assert _quantile(kept, rest, q) == float(np.quantile(np.concatenate([kept, rest]), q))
    visitors = np.array(a + b, np.uint64)
    assert np.array_equal(_distinct(visitors), np.unique(visitors))


def test_funnel_and_its_links(client: TestClient, admin: Any, project: Any, datadir: DataDir, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    now = int(time.time() * 1000)
    paths = {
        "f-1": ["/products", "/cart", "/checkout", "/thanks"],
        "f-2": ["/products", "/cart", "/checkout"],
        "f-3": ["/products", "/cart"],
        "f-4": ["/cart", "/products"],  # out of order: reaches step 1 only
    }
    for sid, steps in paths.items():
        _send(client, project.public_key, sid, sid, _journey(now - HOUR, *[f"https://shop.example{s}" for s in steps]))
    datadir.index.flush()
    sign_in(client)
    text = client.get(f"/funnels?project={project.id}&steps=/products%0A/cart%0A/checkout%0A/thanks").text
    counts = [int(n) for n in re.findall(r"reached=\d\">(\d+) session", text)]
    assert counts == [4, 3, 2, 1]
    q = {"project": project.id, "funnel": "/products|/cart|/checkout|/thanks"}
    reached = client.get("/api/v1/sessions", params={**q, "reached": 3}, headers=auth).json()["items"]
    assert sorted(s["id"] for s in reached) == ["f-1", "f-2"]
    dropped = client.get("/api/v1/sessions", params={**q, "dropped": 2}, headers=auth).json()["items"]
    assert [s["id"] for s in dropped] == ["f-3"]


def test_heatmap_data(client: TestClient, admin: Any, project: Any, datadir: DataDir, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    now = int(time.time() * 1000)
    url = "https://shop.example/pricing"
    for i in range(3):
        events = [*_journey(now - HOUR + i, url), click(now - HOUR + i + 100, x=640, y=300), mutation(now - HOUR + i + 200),
                  custom(now - HOUR + i + 300, "scroll", depth=40 + i * 30, height=3000)]
        _send(client, project.public_key, f"h-{i}", f"hv-{i}", events)
    datadir.index.flush()
    data = client.get("/api/v1/heatmap", params={"project": project.id, "url": url}, headers=auth).json()
    assert data["total_clicks"] == 3 and data["sessions"] == 3
    assert data["clicks"] == [{"x": 0.5, "y": 304, "count": 3, "rage": 0, "dead": 0}]
    depth = {band["depth"]: band["sessions"] for band in data["scroll"]}
    assert depth[40] == 3 and depth[70] == 2 and depth[100] == 1
    assert data["snapshot"]["session_id"].startswith("h-")
    sign_in(client)
    assert 'data-testid="heatmap"' in client.get(f"/heatmaps?project={project.id}&url={url}").text


@given(st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999))
def test_times_read_as_iso_8601_utc_with_milliseconds(ms: int) -> None:
    expected = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
    assert iso(ms) == expected.isoformat(timespec="milliseconds").replace("+00:00", "Z")
