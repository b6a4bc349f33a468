"""Days and pages that deviate from the project's own baseline: robust z-scores over real DuckDB."""

from __future__ import annotations

import time
from typing import Any
from litestar.testing import TestClient

from sessionstory.datadir import DataDir
from sessionstory.insights.anomalies import find_anomalies, robust_z
from tests.conftest import batch
from tests.events import click, error, meta, page, snapshot

DAY = 86_400_000
PAGES = ["/", "/teas", "/about", "/blog", "/cart"]


def test_robust_z() -> None:
    z = robust_z([0.1, 0.12, 0.09, 0.11, 0.1, 0.8])
    assert z[-1] > 3.5 and all(abs(v) < 3.5 for v in z[:-1]), "one outlier stands out; the median ignores it"
    z = robust_z([0, 0, 0, 0, 0, 0, 0.5])  # MAD is 0: the mean absolute deviation stands in
    assert z[-1] > 3.5 and z[0] == 0
    assert robust_z([2, 2, 2]) == [0.0, 0.0, 0.0] and robust_z([]) == []


def record_shop(client: TestClient, datadir: DataDir, key: str, days: int = 20) -> None:  # type: ignore[type-arg]
    """Six calm sessions a day, one per page and one more; on the last day the cart breaks:
    every session there has a TypeError and rage clicks on "Checkout"."""
    now = int(time.time() * 1000)
    today = now - now % DAY + 3_600_000  # an hour into today (UTC)
    if today > now - 600_000:
        today -= DAY  # too early in the day: "today" is yesterday, still inside every range
    for d in range(days, -1, -1):
        t_day = today - d * DAY
        for i in range(6):
            t0 = t_day + i * 60_000
            url = f"https://shop.example{PAGES[i % 5]}"
            events = [meta(t0, url), snapshot(t0), page(t0, url, "Shop")]
            if d == 0 and PAGES[i % 5] == "/cart" or d == 0 and i == 5:
                url = "https://shop.example/cart"
                events += [page(t0 + 100, url, "Cart"), error(t0 + 500, "TypeError: total is undefined"),
                           *[click(t0 + 1000 + k * 120, x=300, y=400, text="Checkout") for k in range(4)]]
            elif d == 0:
                events.append(error(t0 + 500, "TypeError: total is undefined"))
            elif i == 0 and d % 4 == 0:
                events.append(error(t0 + 500, "ReferenceError: gtag is not defined"))
            events.append(page(t0 + 30_000, url, "Shop"))
            send(client, batch(key, f"shop-{d}-{i}", 0, events))
    datadir.index.flush()
    datadir.index.settle_all()


def send(client: TestClient, body: dict[str, Any]) -> None:  # type: ignore[type-arg]
    """One batch, sent again after the server's Retry-After as the SDK would: 126 sessions from
    one address outrun its per-address rate now that ingest answers faster than 50 a second."""
    for _ in range(50):
        r = client.post("/api/v1/ingest", json=body)
        if r.status_code != 429:
            assert r.status_code == 200, r.text
            return
        time.sleep(min(float(r.headers.get("Retry-After") or 1), 1.0))
    raise AssertionError("still refused after 50 tries")


def test_a_broken_day_and_page_stand_out(client: TestClient, admin: Any, project: Any, datadir: DataDir,  # type: ignore[type-arg]
                                        auth: dict[str, str]) -> None:
    from tests.test_dashboard import sign_in

    record_shop(client, datadir, project.public_key)
    now = int(time.time() * 1000)
    found = datadir.index.read(lambda cur: find_anomalies(cur, project.id, now - 7 * DAY, now + 60_000))
    by = {(a.scope, a.metric): a for a in found}
    day = by[("day", "error_rate")]
    assert day.value == 1.0 and day.baseline < 0.2 and day.z >= 3.5 and day.sessions == 6
    assert ("day", "rage_rate") in by
    cart = by[("page", "rage_rate")]
    assert cart.key == "https://shop.example/cart" and cart.value > 0 and cart.baseline == 0
    assert not [a for a in found if a.scope == "page" and a.key != "https://shop.example/cart"], "calm pages stay calm"
    assert all(a.scope != "day" or a.key >= time.strftime("%Y-%m-%d", time.gmtime((now - 7 * DAY) / 1000))
               for a in found), "baseline days are not flagged themselves"

    # Each anomaly is a link to the ordinary session filters that show its sessions.
    listed = client.get("/api/v1/sessions", params={"project": project.id, **day.filters}, headers=auth).json()
    assert listed["total"] == 6 and all(s["id"].startswith("shop-0-") for s in listed["items"])
    sign_in(client)
    assert "/overview/anomalies?project=" in client.get("/overview", params={"project": project.id}).text
    html = client.get("/overview/anomalies", params={"project": project.id}).text
    assert 'id="anomalies"' in html and "sessions with errors" in html and "has_errors=true" in html


def test_too_little_history_flags_nothing(client: TestClient, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    record_shop(client, datadir, project.public_key, days=2)
    now = int(time.time() * 1000)
    found = datadir.index.read(lambda cur: find_anomalies(cur, project.id, now - 7 * DAY, now + 60_000))
    assert not [a for a in found if a.scope == "day"], "three days make no baseline"
