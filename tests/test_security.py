"""The dashboard's defences, through the real app: CSP and headers, brute force, CSRF on every route."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.app import create_app
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.throttle import FailureLimit
from sessionstory.web.headers import http_origin
from tests.conftest import PASSWORD, batch, meta_event
from tests.events import page, snapshot
from tests.test_dashboard import sign_in

INLINE_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)


def _csp(response: Any) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in policy.split("; ")}


def _session(client: TestClient, key: str, sid: str, url: str) -> None:  # type: ignore[type-arg]
    at = 1_700_000_000_000
    events = [meta_event(at, href=url), snapshot(at + 1), page(at + 2, url, title="Shop")]
    assert client.post("/api/v1/ingest", json=batch(key, sid, events=events)).status_code == 200


def test_every_page_has_a_nonce_csp_and_no_inline_handlers(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    _session(client, project.public_key, "sec-1", "https://shop.example/cart")
    login = client.get("/login")
    sign_in(client)
    pages = ["/", f"/sessions/sec-1", "/sessions/sec-1?live=1", f"/overview?project={project.id}", f"/errors?project={project.id}",
             f"/heatmaps?project={project.id}", f"/funnels?project={project.id}", f"/visitors?project={project.id}",
             "/projects", "/demo", "/no-such-page"]
    for response in [login, *(client.get(p, headers={"Accept": "text/html"}) for p in pages)]:
        where = response.url.path
        csp = _csp(response)
        nonce = re.fullmatch(r"'nonce-([\w-]+)' 'strict-dynamic'", csp["script-src"])
        assert nonce, where
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'" and csp["frame-ancestors"] == "'none'"
        scripts = re.findall(r"<script[^>]*>", response.text)
        assert scripts and all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts), where
        assert not INLINE_HANDLER.search(response.text), where
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain http: HSTS would be a lie
    first, second = client.get("/login"), client.get("/login")
    assert _csp(first)["script-src"] != _csp(second)["script-src"], "a fresh nonce per response"


def test_answers_that_are_not_pages_let_no_script_run(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    for response in (client.get("/healthz"), client.get("/api/v1/projects"), client.get("/api/v1/sessions"),
                     client.get("/api/v1/sessions/nope"),
                     client.get("/static/no-such-file.js")):
        csp = _csp(response)
        assert csp["script-src"] == "'none'" and csp["default-src"] == "'none'", response.url.path
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_a_replay_loads_media_only_from_the_sites_its_session_visited(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    _session(client, project.public_key, "sec-2", "https://shop.example:8443/cart")
    sign_in(client)
    csp = _csp(client.get("/sessions/sec-2"))
    for directive in ("img-src", "font-src", "style-src", "media-src"):
        assert "https://shop.example:8443" in csp[directive].split()
        assert "*" not in csp[directive].split() and "https:" not in csp[directive].split()
    assert "shop.example" not in _csp(client.get("/login"))["img-src"]


@pytest.mark.parametrize("url, origin", [
    ("https://shop.example/a?b", "https://shop.example"),
    ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
    ("javascript:alert(1)", None),
    ("data:text/html,<script>", None),
    ("https://evil.example; script-src *", None),
    ("https://x:notaport/", None),
    ("//no-scheme.example/", None),
    ("", None),
])
def test_only_http_origins_reach_the_policy(url: str, origin: str | None) -> None:
    assert http_origin(url) == origin


def test_hsts_and_secure_cookies_under_https(tmp_path: Path) -> None:
    settings = prepare_data_dir(load_settings(tmp_path / "data", env={"SESSIONSTORY_PUBLIC_URL": "https://replay.example"}))
    dd = DataDir(settings)
    try:
        with TestClient(create_app(settings, dd)) as client:
            dd.accounts.create_user("owner@example.com", PASSWORD, "admin")
            assert client.get("/login").headers["strict-transport-security"].startswith("max-age=")
            cookies = sign_in(client).headers.get_list("set-cookie")
            assert all("Secure" in c for c in cookies if c.startswith("ss_session="))
    finally:
        dd.close()


def test_password_guessing_is_slowed_per_account(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    for _ in range(5):
        assert sign_in(client, password="wrong").status_code == 401
    blocked = sign_in(client)  # even the right password waits now
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in blocked.text
    client.app.state.sign_in_limits.per_account.reset("owner@example.com")
    assert sign_in(client).status_code == 303


def test_password_spraying_is_slowed_per_address(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    for n in range(30):
        sign_in(client, email=f"user{n}@example.com", password="wrong")
    assert sign_in(client).status_code == 429


def test_failures_age_out_of_the_window() -> None:
    now = [0.0]
    limit = FailureLimit(2, 60, clock=lambda: now[0])
    limit.failed("k")
    limit.failed("k")
    assert limit.retry_after("k") == 60
    now[0] = 30
    assert limit.retry_after("k") == 30
    now[0] = 61
    assert limit.retry_after("k") == 0


def _state_changing_routes(client: TestClient) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    routes = []
    for route in client.app.routes:
        for method in sorted(getattr(route, "methods", set()) - {"GET", "HEAD", "OPTIONS"}):
            path = re.sub(r"\{(\w+):\w+\}", r"x-\1", route.path)
            routes.append((method, path))
    return routes


def test_every_state_changing_route_needs_the_csrf_token(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    # Ingest is for visitors' browsers (a public key, no cookie); sign-in has its own double-submit token.
    routes = [r for r in _state_changing_routes(client) if r[1] not in ("/api/v1/ingest", "/login")]
    assert len(routes) >= 5, routes
    for method, path in routes:
        for headers in ({}, {"X-CSRF-Token": "wrong"}, {"Origin": "https://evil.example", "X-CSRF-Token": ""}):
            response = client.request(method, path, headers=headers, data={"_csrf": headers.get("X-CSRF-Token", "")})
            assert response.status_code == 403, (method, path, headers, response.status_code)


def test_under_https_the_sign_in_cookie_is_host_prefixed(tmp_path: Path) -> None:
    settings = prepare_data_dir(load_settings(tmp_path / "data", env={"SESSIONSTORY_PUBLIC_URL": "https://replay.example"}))
    dd = DataDir(settings)
    try:
        with TestClient(create_app(settings, dd), base_url="https://testserver.local") as client:
            dd.accounts.create_user("owner@example.com", PASSWORD, "admin")
            cookies = sign_in(client).headers.get_list("set-cookie")
            session = next(c for c in cookies if c.startswith("__Host-ss_session="))
            assert "Secure" in session and "Path=/" in session and "Domain" not in session
            assert client.get("/", follow_redirects=False).status_code == 200
    finally:
        dd.close()


def test_only_the_allowed_hosts_are_answered(tmp_path: Path) -> None:
    settings = prepare_data_dir(load_settings(tmp_path / "data", env={"SESSIONSTORY_ALLOWED_HOSTS": "replay.example"}))
    dd = DataDir(settings)
    try:
        with TestClient(create_app(settings, dd), base_url="http://replay.example") as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
    finally:
        dd.close()
