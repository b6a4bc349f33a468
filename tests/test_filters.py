"""Every session filter of CONTRACT.md through the API, alone and combined."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.app import create_app
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.index.filters import parse_filters
from sessionstory.index.sessions import Neighbours, Page, count_sessions, list_sessions, neighbour_sessions
from sessionstory.ingest import prepare
from tests.events import click, custom, error, meta, mutation, network, page, snapshot

CHROME_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.0 Mobile/15E148 Safari/604.1")
DAY = 86_400_000


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, DataDir]]:  # type: ignore[type-arg]
    """One app for the whole module: the corpus is only read."""
    settings = prepare_data_dir(load_settings(tmp_path_factory.mktemp("filters") / "data", env={}))
    dd = DataDir(settings)
    with TestClient(create_app(settings, dd)) as c:
        yield c, dd
    dd.close()


@pytest.fixture(scope="module")
def client(app: tuple[TestClient, DataDir]) -> TestClient:  # type: ignore[type-arg]
    return app[0]


@pytest.fixture(scope="module")
def auth(app: tuple[TestClient, DataDir]) -> dict[str, str]:  # type: ignore[type-arg]
    dd = app[1]
    dd.accounts.create_user("reader@example.com", "reader password", "member")
    return {"Authorization": f"Bearer {dd.accounts.create_token('reader@example.com')}"}


@pytest.fixture(scope="module")
def corpus(app: tuple[TestClient, DataDir]) -> dict[str, Any]:  # type: ignore[type-arg]
    """Six sessions, each with something the others lack."""
    client, datadir = app
    project = datadir.projects.create("Filters")
    now = int(time.time() * 1000)
    t1, t2, t3, t4, t5 = now - 10 * DAY, now - 3 * DAY, now - 2 * 3600_000, now - 600_000, now - 5_000
    sessions = {
        "old-checkout": (CHROME_MAC, None, [meta(t1), snapshot(t1), page(t1, "https://shop.example/checkout", "Checkout"),
                                            click(t1 + 100), mutation(t1 + 200), custom(t1 + 90_000, "track", name="purchase")]),
        "errors": (FIREFOX_WIN, None, [meta(t2), snapshot(t2), page(t2, "https://shop.example/cart", "Cart"),
                                       error(t2 + 500, "TypeError: basket is null"),
                                       network(t2 + 900, "https://api.example/cart", 500)]),
        "rage": (SAFARI_IPHONE, "u-7", [meta(t3), snapshot(t3), page(t3, "https://shop.example/promo", "Promo"),
                                        *[click(t3 + 100 + i * 100, x=50, y=50) for i in range(4)], mutation(t3 + 450),
                                        mutation(t3 + 20_000)]),
        "dead": (CHROME_MAC, None, [meta(t4), snapshot(t4), page(t4, "https://shop.example/help", "Help"),
                                    click(t4 + 100, x=400, y=400), mutation(t4 + 30_000)]),
        "live": (FIREFOX_WIN, None, [meta(t5), snapshot(t5), page(t5, "https://shop.example/", "Home")]),
    }
    for sid, (ua, user, events) in sessions.items():
        payload = {"key": project.public_key, "session_id": sid, "visitor_id": f"v-{sid}", "seq": 0, "events": events}
        if user:
            payload["user_id"] = user
        r = client.post("/api/v1/ingest", json=payload, headers={"User-Agent": ua})
        assert r.status_code == 200, r.text
    body = json.dumps({"key": project.public_key, "session_id": "german", "visitor_id": "v-de", "seq": 0,
                       "events": [meta(t2 + 1000), page(t2 + 1000, "https://shop.example/de")]}).encode()
    prepared = prepare(datadir.projects, body, "", None, CHROME_MAC, datadir.settings.limits, client_ip="81.169.145.1")
    datadir.log.append_now(prepared.record, prepared.facts)
    datadir.index.flush()
    datadir.index.settle_all()
    return {"project": project.id}


def ids(client: TestClient, auth: dict[str, str], corpus: dict[str, Any], **filters: str) -> list[str]:  # type: ignore[type-arg]
    r = client.get("/api/v1/sessions", params={"project": corpus["project"], **filters}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return sorted(item["id"] for item in body["items"])


CASES = [
    ({}, ["dead", "errors", "german", "live", "old-checkout", "rage"]),
    ({"from": "7d"}, ["dead", "errors", "german", "live", "rage"]),
    ({"to": "7d"}, ["old-checkout"]),
    ({"from": "1h"}, ["dead", "live"]),
    ({"url": "/checkout"}, ["old-checkout"]),
    ({"url": "SHOP.EXAMPLE/PRO"}, ["rage"]),
    ({"min_duration_ms": "20000"}, ["dead", "old-checkout", "rage"]),
    ({"max_duration_ms": "1000"}, ["errors", "german", "live"]),
    ({"has_errors": "true"}, ["errors"]),
    ({"has_errors": "false", "from": "7d"}, ["dead", "german", "live", "rage"]),
    ({"rage_clicks": "true"}, ["rage"]),
    ({"dead_clicks": "true"}, ["dead"]),
    ({"browser": "firefox"}, ["errors", "live"]),
    ({"os": "iOS"}, ["rage"]),
    ({"device": "mobile"}, ["rage"]),
    ({"device": "desktop", "browser": "Chrome"}, ["dead", "german", "old-checkout"]),
    ({"country": "de"}, ["german"]),
    ({"user": "u-7"}, ["rage"]),
    ({"event": "purchase"}, ["old-checkout"]),
    ({"q": "basket is null"}, ["errors"]),
    ({"q": "promo"}, ["rage"]),
    ({"q": "u-7"}, ["rage"]),
    ({"q": "TypeError: BASKET"}, ["errors"]),  # any case, over errors ...
    ({"q": "cart"}, ["errors"]),  # ... titles and URLs
    ({"q": "U-7"}, ["rage"]),  # ... and the user
    ({"q": "u_7"}, []),  # _ and % are plain characters, not wildcards
    ({"q": "%"}, []),
    ({"url": "%"}, []),
    ({"q": "promo\nu-7"}, []),  # a match lies within one URL, title, message or user, not across two
    ({"live": "true"}, ["live"]),
    ({"from": "7d", "device": "desktop", "has_errors": "false", "url": "shop.example"}, ["dead", "german", "live"]),
]


@pytest.mark.parametrize("filters,expected", CASES, ids=[json.dumps(c[0]) for c in CASES])
def test_filter(client: TestClient, auth: dict[str, str], corpus: dict[str, Any], filters: dict[str, str],  # type: ignore[type-arg]
                expected: list[str]) -> None:
    assert ids(client, auth, corpus, **filters) == expected


def test_sorts_and_their_pages(client: TestClient, auth: dict[str, str], corpus: dict[str, Any]) -> None:  # type: ignore[type-arg]
    def order(sort: str) -> list[str]:
        seen, cursor = [], None
        while True:
            params = {"project": corpus["project"], "sort": sort, "limit": "2", **({"cursor": cursor} if cursor else {})}
            body = client.get("/api/v1/sessions", params=params, headers=auth).json()
            seen += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                return seen

    assert order("newest") == ["live", "dead", "rage", "german", "errors", "old-checkout"]
    assert order("oldest") == list(reversed(order("newest")))
    assert order("longest")[:3] == ["old-checkout", "dead", "rage"]
    assert order("errors")[0] == "errors"
    assert order("frustration")[:2] in (["rage", "dead"], ["dead", "rage"])



@pytest.mark.parametrize("filters", [{}, {"sort": "oldest"}, {"sort": "longest"}, {"sort": "errors"},
                                     {"sort": "frustration"}, {"from": "7d"}, {"browser": "firefox"}, {"has_errors": "false"}])
def test_each_session_steps_to_its_neighbours_in_the_list(app: tuple[TestClient, DataDir], corpus: dict[str, Any],  # type: ignore[type-arg]
                                                         filters: dict[str, str]) -> None:
    """Previous and next, from every session of the list: the rows above and below it, ends included. The
    sessions are days and hours apart, so the time sorts look past their nearest windows."""
    dd, now = app[1], int(time.time() * 1000)
    f = parse_filters(filters, now)
    listed = [i.id for i in dd.index.read(lambda cur: list_sessions(cur, [corpus["project"]], f, 50, None, now)).items]
    assert len(listed) >= 2
    for at, sid in enumerate(listed):
        found = dd.index.read(lambda cur: neighbour_sessions(cur, [corpus["project"]], f, sid, now))
        assert found == Neighbours(previous=listed[at - 1] if at else None,
                                   next=listed[at + 1] if at + 1 < len(listed) else None), sid


def test_a_session_outside_the_filters_steps_into_the_list_where_it_would_sit(app: tuple[TestClient, DataDir],  # type: ignore[type-arg]
                                                                             corpus: dict[str, Any]) -> None:
    dd, now = app[1], int(time.time() * 1000)
    firefox = parse_filters({"browser": "firefox"}, now)  # newest first: live, errors
    between = dd.index.read(lambda cur: neighbour_sessions(cur, [corpus["project"]], firefox, "rage", now))
    assert between == Neighbours(previous="live", next="errors")
    nowhere = dd.index.read(lambda cur: neighbour_sessions(cur, [corpus["project"]], firefox, "no-such-session", now))
    assert nowhere == Neighbours()

@pytest.mark.parametrize("filters", [
    {"from": "yesterday"}, {"device": "toaster"}, {"country": "Germany"}, {"has_errors": "maybe"},
    {"min_duration_ms": "-5"}, {"sort": "random"}, {"q": "x" * 501},
])
def test_bad_filters_are_400(client: TestClient, auth: dict[str, str], corpus: dict[str, Any], filters: dict[str, str]) -> None:  # type: ignore[type-arg]
    r = client.get("/api/v1/sessions", params={"project": corpus["project"], **filters}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]


@pytest.mark.parametrize("filters", [{}, {"to": "1h"}, {"from": "5d"}, {"from": "7d", "to": "1h"}, {"q": "shop"},
                                     {"sort": "oldest"}])
def test_small_pages_add_up_to_one_big_page(client: TestClient, auth: dict[str, str], corpus: dict[str, Any],  # type: ignore[type-arg]
                                            filters: dict[str, str]) -> None:
    """Page by page (the newest first looks in growing time windows), the same sessions in the same order."""
    params = {"project": corpus["project"], **filters}
    whole = [i["id"] for i in client.get("/api/v1/sessions", params={**params, "limit": "500"}, headers=auth).json()["items"]]
    paged, cursor = [], None
    while True:
        body = client.get("/api/v1/sessions", params={**params, "limit": "1", **({"cursor": cursor} if cursor else {})},
                          headers=auth).json()
        paged += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert paged == whole and whole


def test_every_page_reports_the_first_pages_total(client: TestClient, auth: dict[str, str], corpus: dict[str, Any]) -> None:  # type: ignore[type-arg]
    params = {"project": corpus["project"], "limit": "2", "q": "shop.example"}
    totals, cursor = [], None
    while True:
        body = client.get("/api/v1/sessions", params={**params, **({"cursor": cursor} if cursor else {})},
                          headers=auth).json()
        totals.append(body["total"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert totals == [6, 6, 6]


def test_a_text_search_is_counted_up_to_a_cap(app: tuple[TestClient, DataDir], corpus: dict[str, Any]) -> None:  # type: ignore[type-arg]
    """Past the cap a text search's total says "at least", and its next pages say the same."""
    dd, now = app[1], int(time.time() * 1000)

    def first_page(params: dict[str, str], cap: int, exact: bool = False, cursor: str | None = None) -> Page:
        f = parse_filters(params, now)
        return dd.index.read(lambda cur: list_sessions(cur, [corpus["project"]], f, 2, cursor, now, exact, cap))

    text = {"q": "shop.example"}  # all 6 sessions
    capped = first_page(text, 4)
    assert (capped.total, capped.total_exact, len(capped.items)) == (4, False, 2)
    after = first_page(text, 4, cursor=capped.next_cursor)
    assert (after.total, after.total_exact) == (4, False)
    assert (first_page(text, 6).total, first_page(text, 6).total_exact) == (6, True)
    assert (first_page(text, 4, exact=True).total, first_page(text, 4, exact=True).total_exact) == (6, True)
    assert (first_page({"device": "desktop"}, 1).total, first_page({"device": "desktop"}, 1).total_exact) == (5, True)
    assert (first_page({"url": "/checkout"}, 1).total, first_page({"url": "/checkout"}, 1).total_exact) == (1, True)


@pytest.mark.parametrize("text", ["shop.example", "/checkout", "no such text"])
def test_a_capped_count_is_the_plain_count_up_to_its_cap(app: tuple[TestClient, DataDir], corpus: dict[str, Any],  # type: ignore[type-arg]
                                                         text: str) -> None:
    """Whatever the first two ranges of rowids hold (some, all or none of the matches; run out or not)."""
    dd, now = app[1], int(time.time() * 1000)
    f = parse_filters({"q": text}, now)
    exact, _ = dd.index.read(lambda cur: count_sessions(cur, [corpus["project"]], f, now))
    for range_rows in (1, 2, 3, 5, 1000):
        for cap in range(8):
            got = dd.index.read(lambda cur: count_sessions(cur, [corpus["project"]], f, now, cap, range_rows))
            assert got == (min(exact, cap), exact <= cap), (range_rows, cap)


def test_the_api_says_whether_a_total_is_exact(client: TestClient, auth: dict[str, str], corpus: dict[str, Any]) -> None:  # type: ignore[type-arg]
    params = {"project": corpus["project"], "limit": "2", "url": "shop.example"}
    for extra in ({}, {"exact_total": "true"}):
        body = client.get("/api/v1/sessions", params={**params, **extra}, headers=auth).json()
        assert (body["total"], body["total_exact"]) == (6, True)
    assert client.get("/api/v1/sessions", params={**params, "exact_total": "maybe"}, headers=auth).status_code == 400


@pytest.mark.parametrize("fields", [["newest", 1, "x", -1], ["newest", 1, "x", "9"], ["newest", 1, "x", 1, 2],
                                    ["newest", 1, "x", 1, True], ["newest", 1, "x", 1, False, False],
                                    ["newest", 1], "newest"])
def test_a_malformed_cursor_is_400(client: TestClient, auth: dict[str, str], corpus: dict[str, Any],  # type: ignore[type-arg]
                                   fields: object) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()
    r = client.get("/api/v1/sessions", params={"project": corpus["project"], "cursor": cursor}, headers=auth)
    assert r.status_code == 400 and "error" in r.json()


def test_a_cursor_of_another_sort_is_refused(client: TestClient, auth: dict[str, str], corpus: dict[str, Any]) -> None:  # type: ignore[type-arg]
    first = client.get("/api/v1/sessions", params={"project": corpus["project"], "limit": 1}, headers=auth).json()
    r = client.get("/api/v1/sessions", params={"project": corpus["project"], "sort": "longest",
                                               "cursor": first["next_cursor"]}, headers=auth)
    assert r.status_code == 400


def test_session_detail_has_every_contract_field(client: TestClient, auth: dict[str, str], corpus: dict[str, Any]) -> None:  # type: ignore[type-arg]
    s = client.get("/api/v1/sessions/errors", headers=auth).json()
    for field in ("id", "project_id", "visitor_id", "user_id", "started_at", "ended_at", "duration_ms", "active_ms",
                  "event_count", "page_count", "pages", "entry_url", "exit_url", "referrer", "clicks", "rage_clicks",
                  "dead_clicks", "error_count", "errors", "console_errors", "network_errors", "browser", "os",
                  "device", "country", "vitals", "live"):
        assert field in s, field
    assert s["errors"][0]["message"] == "TypeError: basket is null" and "app.js" in s["errors"][0]["stack"]
    assert s["pages"] == [{"url": "https://shop.example/cart", "title": "Cart", "at": s["started_at"], "offset_ms": 0}]
    assert s["network_errors"] == 1 and s["browser"] == "Firefox" and s["os"] == "Windows"
    assert set(s["vitals"]) == {"lcp", "inp", "cls", "fcp", "ttfb"}
