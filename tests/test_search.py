"""Questions in plain language become the CONTRACT's filters, then run like any filter."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.datadir import DataDir
from sessionstory.insights.search import fit_to_project, parse_question
from tests.conftest import batch
from tests.events import custom, error, meta, page, snapshot

QUESTIONS = [
    ("mobile sessions with errors from Germany in the last 7 days",
     {"from": "7d", "device": "mobile", "country": "DE", "has_errors": "true"}),
    ("show me rage clicks on /checkout longer than 2 minutes",
     {"min_duration_ms": "120000", "rage_clicks": "true", "url": "/checkout"}),
    ("Safari on iPhone users who purchased",
     {"device": "mobile", "browser": "Mobile Safari", "os": "iOS", "event": "purchase"}),
    ("sessions by ann@example.com", {"user": "ann@example.com"}),
    ("who is live right now?", {"live": "true"}),
    ("the longest sessions from France today without errors",
     {"from": "24h", "country": "FR", "has_errors": "false", "sort": "longest"}),
    ("dead clicks on windows desktop in the past 24 hours",
     {"from": "24h", "device": "desktop", "os": "Windows", "dead_clicks": "true"}),
    ('sessions with "TypeError" on chrome', {"browser": "Chrome", "q": "TypeError"}),
    ("most frustrated visitors this week", {"from": "7d", "sort": "frustration"}),
    ("sessions shorter than 30 seconds from the us", {"max_duration_ms": "30000", "country": "US"}),
    ("tablet sessions over five minutes", {"device": "tablet", "min_duration_ms": "300000"}),
    ("visits to /pricing from Canada yesterday", {"url": "/pricing", "country": "CA", "from": "48h", "to": "24h"}),
    ("firefox on linux in the last 3 days", {"browser": "Firefox", "os": "Linux", "from": "3d"}),
    ("oldest sessions that signed up", {"sort": "oldest", "event": "signup"}),
    ("android phones with crashes", {"device": "mobile", "os": "Android", "has_errors": "true"}),
    ("who added to cart on firefox", {"event": "add_to_cart", "browser": "Firefox"}),
    ("sessions where someone signed up", {"event": "signup"}),
]


@pytest.mark.parametrize("question,expected", QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_parse_question(question: str, expected: dict[str, str]) -> None:
    assert parse_question(question, ["purchase", "signup", "add_to_cart"]) == expected


def test_browser_names_fit_the_project() -> None:
    known = {"browser": ["Chrome Mobile", "Firefox"], "os": ["Mac OS X"]}
    assert fit_to_project({"browser": "Chrome", "os": "Mac OS X"}, known) == {"browser": "Chrome Mobile", "os": "Mac OS X"}
    assert fit_to_project({"browser": "Opera"}, known) == {"browser": "Opera"}


def test_search_endpoint(client: TestClient, project: Any, datadir: DataDir, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.0 Mobile/15E148 Safari/604.1")
    t0 = 1_900_000_000_000 - 10 ** 10
    events = [meta(t0), snapshot(t0), page(t0, "https://shop.example/checkout"), error(t0 + 10, "TypeError: total")]
    client.post("/api/v1/ingest", json=batch(project.public_key, "phone-err", 0, events), headers={"User-Agent": iphone})
    client.post("/api/v1/ingest", json=batch(project.public_key, "calm", 0, [meta(t0), page(t0, "https://shop.example/")]))
    client.post("/api/v1/ingest", json=batch(project.public_key, "buyer", 0,
                                             [meta(t0), custom(t0 + 5, "track", name="purchase")]))
    r = client.get("/api/v1/search", params={"project": project.id, "q": "iPhone sessions with errors on /checkout"},
                   headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["filter"] == {"device": "mobile", "os": "iOS", "has_errors": "true", "url": "/checkout"}
    assert [s["id"] for s in body["items"]] == ["phone-err"]
    bought = client.get("/api/v1/search", params={"project": project.id, "q": "who purchased?"}, headers=auth).json()
    assert bought["filter"] == {"event": "purchase"} and [s["id"] for s in bought["items"]] == ["buyer"]
    assert client.get("/api/v1/search", params={"project": project.id, "q": ""}, headers=auth).status_code == 400
    assert client.get("/api/v1/search", params={"project": "nope", "q": "x"}, headers=auth).status_code == 404
    hostile = client.get("/api/v1/search", params={"project": project.id, "q": "'; DROP TABLE sessions; --"},
                         headers=auth)
    assert hostile.status_code == 200
    assert client.get("/api/v1/sessions", params={"project": project.id}, headers=auth).json()["total"] == 3


def test_the_search_box_turns_a_question_into_the_lists_filters(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    from tests.test_dashboard import sign_in

    sign_in(client)
    r = client.get("/ask", params={"project": project.id, "q": "mobile sessions with errors today"},
                   follow_redirects=False)
    assert r.status_code == 303
    location = r.headers["location"]
    assert "device=mobile" in location and "has_errors=true" in location and "from=24h" in location
    page = client.get(location).text
    assert '<option value="mobile" selected>' in page, "the filters show in the form, ready to adjust"


def test_the_models_answer_is_held_to_the_schema_and_the_question() -> None:
    from sessionstory.insights.llm_search import grammar, validate

    known = {"browser": ["Chrome Mobile"], "os": [], "event": ["purchase"]}
    q = "who bought on a phone from Brazil on the pricing page"
    assert validate('{"device": "mobile", "event": "purchase", "country": "BR", "url": "/pricing"}', q, known) == {
        "device": "mobile", "event": "purchase", "country": "BR", "url": "/pricing"}
    assert validate('{"user": "4711", "event": "signup", "country": "XX", "url": "/admin"}', q, known) == {}, \
        "ids, events, countries and pages the question never named are dropped"
    assert validate('{"device": "toaster"}', q, known) == {}, "a value the filters refuse drops the spec"
    assert validate('{"q": "x", "funnel": "/a|/b", "sql": "DROP TABLE"}', q, known) == {}
    assert validate('{"device": "mob', q, known) == {} and validate("[1]", q, known) == {}
    llama_cpp = pytest.importorskip("llama_cpp")
    text = grammar(known)
    assert '"\\"Chrome Mobile\\""' in text and '"\\"purchase\\""' in text
    llama_cpp.LlamaGrammar.from_string(text, verbose=False)  # it compiles
