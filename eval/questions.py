"""Plain-language questions and the filter spec a person asking them means.

Labels say what the asker means, not what our parser happens to return. `KNOWN` is the
project the questions are asked of: the browsers, systems and custom events it has seen.
"""

from __future__ import annotations

KNOWN = {
    "browser": ["Chrome", "Chrome Mobile", "Firefox", "Safari", "Mobile Safari", "Edge"],
    "os": ["Windows", "Mac OS X", "Linux", "iOS", "Android"],
    "event": ["purchase", "signup", "add_to_cart"],
}

QUESTIONS: list[tuple[str, dict[str, str]]] = [
    # dates: from, to
    ("sessions from the last 3 days", {"from": "3d"}),
    ("what happened yesterday", {"from": "48h", "to": "24h"}),
    ("visits today with errors", {"from": "24h", "has_errors": "true"}),
    ("mobile sessions in the past two weeks", {"from": "2w", "device": "mobile"}),
    ("errors over the last 12 hours", {"from": "12h", "has_errors": "true"}),
    # url
    ("visits to /pricing", {"url": "/pricing"}),
    ("rage clicks on /checkout", {"url": "/checkout", "rage_clicks": "true"}),
    ("sessions that went to /docs/api on firefox", {"url": "/docs/api", "browser": "Firefox"}),
    # durations
    ("sessions longer than 5 minutes", {"min_duration_ms": "300000"}),
    ("visits shorter than 10 seconds", {"max_duration_ms": "10000"}),
    ("sessions over 2 minutes but under 10 minutes", {"min_duration_ms": "120000", "max_duration_ms": "600000"}),
    ("tablet visits of at least 30 seconds", {"device": "tablet", "min_duration_ms": "30000"}),
    # errors and frustration
    ("sessions with javascript errors", {"has_errors": "true"}),
    ("sessions without errors from Germany", {"has_errors": "false", "country": "DE"}),
    ("show me rage clicks", {"rage_clicks": "true"}),
    ("dead clicks on mobile", {"dead_clicks": "true", "device": "mobile"}),
    ("angry users on safari", {"rage_clicks": "true", "browser": "Safari"}),
    ("visits where something crashed on android", {"has_errors": "true", "os": "Android"}),
    # browser, os, device
    ("chrome users on windows", {"browser": "Chrome", "os": "Windows"}),
    ("iphone sessions", {"device": "mobile", "os": "iOS"}),
    ("edge on desktop", {"browser": "Edge", "device": "desktop"}),
    ("linux visitors this week", {"os": "Linux", "from": "7d"}),
    ("sessions on a mac", {"os": "Mac OS X"}),
    ("ipad visitors from Japan", {"device": "tablet", "os": "iOS", "country": "JP"}),
    # country
    ("visitors from France", {"country": "FR"}),
    ("sessions from the UK with dead clicks", {"country": "GB", "dead_clicks": "true"}),
    ("Brazilian visitors on phones", {"country": "BR", "device": "mobile"}),
    # user
    ("sessions of user 4711", {"user": "4711"}),
    ("what did bob@example.com do", {"user": "bob@example.com"}),
    # event
    ("who purchased this month", {"event": "purchase", "from": "30d"}),
    ("visitors who signed up from Canada", {"event": "signup", "country": "CA"}),
    ("people who added to cart but had errors", {"event": "add_to_cart", "has_errors": "true"}),
    # q (free text)
    ('sessions mentioning "out of stock"', {"q": "out of stock"}),
    ('sessions with "NetworkError" in the last 7 days', {"q": "NetworkError", "from": "7d"}),
    # live
    ("who is live right now", {"live": "true"}),
    ("visitors currently on the site from Spain", {"live": "true", "country": "ES"}),
    # sort
    ("the longest sessions", {"sort": "longest"}),
    ("oldest sessions from India", {"sort": "oldest", "country": "IN"}),
    ("sessions with the most errors this week", {"sort": "errors", "from": "7d"}),
    ("most frustrated visitors on mobile", {"sort": "frustration", "device": "mobile"}),
    # phrasings outside the parser's vocabulary: the model's turn
    ("visits from brasil", {"country": "BR"}),
    ("anything on the pricing page", {"url": "/pricing"}),
    ("people using a samsung browser", {"browser": "Samsung Internet"}),
    ("buttons that did nothing when clicked", {"dead_clicks": "true"}),
    ("visits where the page threw an exception", {"has_errors": "true"}),
    ("folks who stayed for ages", {"sort": "longest"}),
]
