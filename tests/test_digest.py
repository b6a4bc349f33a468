"""The daily and weekly digest: friction points from SQL with their evidence, a paragraph
from the real local model that names nothing outside them, cached."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient
from markupsafe import escape

from sessionstory.datadir import DataDir
from sessionstory.insights.digest import HOUR_MS, PERIODS, FrictionPoint, from_facts, grounded, saved_funnels, span
from tests.test_anomalies import record_shop


def test_a_paragraph_holds_only_what_the_facts_say() -> None:
    facts = [FrictionPoint("clicks", "/cart: 4 rage clicks in 2 of 9 sessions", 4, {}, []),
             FrictionPoint("error", 'error "TypeError: total is undefined" in 6 sessions', 6, {}, [])]
    assert grounded("Visitors rage-clicked 4 times on /cart, and 6 sessions hit a TypeError.", facts)
    assert not grounded("Visitors rage-clicked 40 times on /cart.", facts), "an invented number"
    assert not grounded("The /admin page is broken.", facts), "an invented page"
    assert not grounded("Most visitors are not ready to buy.", facts), "a paragraph about none of the facts"
    assert from_facts(facts).startswith("Top friction: /cart: 4 rage clicks")
    assert span("week", 10 * HOUR_MS + 5) == (11 * HOUR_MS - PERIODS["week"], 11 * HOUR_MS), "ends at the next hour"
    assert saved_funnels([("Buy", "project=p&funnel=/teas|/cart"), ("Mobile", "device=mobile")]) == [
        ("Buy", ["/teas", "/cart"])]


def _clear_of_the_hour(margin_s: float = 120) -> None:
    """A digest's period ends at the next full hour: a test that crossed one would compare two periods."""
    left = HOUR_MS / 1000 - time.time() % (HOUR_MS / 1000)
    if left < margin_s:
        time.sleep(left + 1)


def test_digest_over_the_api_and_as_a_page(client: TestClient, admin: Any, project: Any, datadir: DataDir,  # type: ignore[type-arg]
                                           auth: dict[str, str]) -> None:
    from tests.test_dashboard import sign_in

    _clear_of_the_hour()
    record_shop(client, datadir, project.public_key, days=8)
    datadir.saved_filters.create(project.id, "Checkout", "funnel=/teas|/cart")
    assert client.get("/api/v1/digest", params={"project": project.id}).status_code == 401
    sign_in(client)
    html = client.get("/digest", params={"project": project.id, "period": "day"}).text
    assert "/cart: 2 rage clicks and 8 dead clicks" in html, "the facts are on the page at once"
    assert f'hx-get="/digest/summary?project={project.id}&amp;period=day"' in html and 'aria-busy="true"' in html, \
        "the paragraph is asked for once the page is up, not waited for"
    started = time.monotonic()
    r = client.get("/api/v1/digest", params={"project": project.id, "period": "day"}, headers=auth)
    took = time.monotonic() - started
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == "day" and body["source"] in ("model", "facts") and body["summary"]
    kinds = {f["kind"]: f for f in body["facts"]}
    clicks = kinds["clicks"]
    assert clicks["fact"] == "/cart: 2 rage clicks and 8 dead clicks in 2 of 2 sessions"
    assert clicks["filters"]["dead_clicks"] == "true", "the heavier of the two picks the filter"
    assert sorted(clicks["sessions"]) == ["shop-0-4", "shop-0-5"], "evidence: the sessions themselves"
    assert kinds["error"]["fact"] == 'error "TypeError: total is undefined" in 6 sessions'
    assert kinds["funnel"]["filters"]["dropped"] == "1"
    facts = [FrictionPoint(**f) for f in body["facts"]]
    assert grounded(body["summary"], facts) or body["source"] == "facts", "the model's words name only the facts"
    assert any(a["metric"] == "error_rate" for a in body["anomalies"])
    # Evidence links are ordinary session filters.
    listed = client.get("/api/v1/sessions", params={"project": project.id, **clicks["filters"]}, headers=auth).json()
    assert sorted(s["id"] for s in listed["items"]) == ["shop-0-4", "shop-0-5"]

    started = time.monotonic()
    again = client.get("/api/v1/digest", params={"project": project.id, "period": "day"}, headers=auth).json()
    assert again == body and time.monotonic() - started < took, "the second answer comes from the cache"
    assert client.get("/api/v1/digest", params={"project": project.id, "period": "year"},
                      headers=auth).status_code == 400
    assert client.get("/api/v1/digest", params={"project": "nope"}, headers=auth).status_code == 404

    html = client.get("/digest", params={"project": project.id, "period": "day"}).text
    assert 'id="digest-facts"' in html and "/cart: 2 rage clicks and 8 dead clicks" in html and "/sessions/shop-0-5" in html
    assert "/digest/summary" not in html, "written once: the page shows it at once"
    assert escape(body["summary"]) in html
    card = client.get("/digest/summary", params={"project": project.id, "period": "day"})
    assert card.status_code == 200 and 'id="digest-summary"' in card.text and escape(body["summary"]) in card.text
    assert "hx-get" not in card.text, "the card never asks for itself again"
    assert client.get("/digest/summary", params={"project": "nope"}).status_code == 404
    assert client.get("/digest/summary", params={"project": project.id, "period": "year"}).status_code == 400
