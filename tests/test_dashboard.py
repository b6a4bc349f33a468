"""Signing in, CSRF, and the dashboard's pages, through the real app."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from tests.conftest import PASSWORD, batch, meta_event


def _login_form(client: TestClient) -> str:  # type: ignore[type-arg]
    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def sign_in(client: TestClient, email: str = "owner@example.com", password: str = PASSWORD) -> Any:  # type: ignore[type-arg]
    token = _login_form(client)
    return client.post("/login", data={"email": email, "password": password, "_csrf": token, "next": "/"},
                       follow_redirects=False)


def test_pages_need_sign_in(client: TestClient) -> None:  # type: ignore[type-arg]
    r = client.get("/sessions/abc?t=5", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/sessions/abc%3Ft%3D5"


def test_sign_in_sets_a_fresh_httponly_cookie(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    client.cookies.set("ss_session", "planted-by-attacker")
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("ss_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "planted-by-attacker" not in cookie
    assert client.get("/").status_code == 200


def test_wrong_password_and_missing_csrf_are_refused(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    assert sign_in(client, password="not the password").status_code == 401
    _login_form(client)
    r = client.post("/login", data={"email": admin.email, "password": PASSWORD, "_csrf": "forged"})
    assert r.status_code == 403


def test_next_cannot_leave_the_site(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    token = _login_form(client)
    r = client.post("/login", data={"email": admin.email, "password": PASSWORD, "_csrf": token,
                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_forms_need_the_csrf_token(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    assert client.post("/projects", data={"name": "Sneaky"}).status_code == 403
    page = client.get("/projects").text
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post("/projects", data={"name": "Blog", "_csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    snippet_page = client.get(r.headers["location"]).text
    assert "/sdk.js&#34; data-key=&#34;pk_" in snippet_page or "sdk.js" in snippet_page


def test_session_list_and_player_page(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    hostile = "https://shop.example/<script>alert(1)</script>"
    events = [meta_event(1_700_000_000_000, href=hostile)]
    client.post("/api/v1/ingest", json=batch(project.public_key, "s-page", 0, events, user_id="<b>bob</b>"))
    sign_in(client)
    listing = client.get(f"/?project={project.id}").text
    assert "/sessions/s-page" in listing
    assert "<script>alert(1)</script>" not in listing and "&lt;script&gt;" in listing
    assert "<b>bob</b>" not in listing
    page = client.get("/sessions/s-page?t=1500").text
    assert 'data-testid="player"' in page and 'data-start-ms="1500"' in page
    assert "<script>alert(1)</script>" not in page


def test_load_more_returns_rows_for_htmx(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    for i in range(55):
        client.post("/api/v1/ingest", json=batch(project.public_key, f"many-{i:02d}", 0, [meta_event(1_700_000_000_000 + i)]))
    sign_in(client)
    first = client.get(f"/?project={project.id}").text
    assert first.count('href="/sessions/many-') == 50
    more = re.search(r'hx-get="(/\?project=[^"]+)"', first).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    rows = client.get(more, headers={"HX-Request": "true"}).text
    assert rows.count('href="/sessions/many-') == 5 and "<html" not in rows


def test_a_session_opened_from_a_filtered_list_steps_to_its_neighbours_there(client: TestClient, admin: Any,  # type: ignore[type-arg]
                                                                             project: Any) -> None:
    for i, path in enumerate(["checkout", "home", "checkout", "checkout"]):
        events = [meta_event(1_700_000_000_000 + i * 1000, href=f"https://shop.example/{path}")]
        client.post("/api/v1/ingest", json=batch(project.public_key, f"step-{i}", 0, events))
    sign_in(client)
    listing = client.get(f"/?project={project.id}&url=/checkout").text
    links = re.findall(r'href="(/sessions/step-\d\?list=[^"]+)"', listing)
    assert [link.split("?")[0] for link in links] == ["/sessions/step-3", "/sessions/step-2", "/sessions/step-0"]
    page = client.get(links[1].replace("&amp;", "&")).text
    assert f'href="/?project={project.id}&amp;url=%2Fcheckout"' in page  # back to the same list
    asked = re.search(r'hx-get="(/sessions/step-2/neighbours\?list=[^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    near = client.get(asked).text
    assert re.findall(r'href="/sessions/(step-\d)\?list=[^"]+" rel="(prev|next)"', near) == [("step-3", "prev"), ("step-0", "next")]
    # Opened with no list (a shared link), or a list of another project: the project's whole list, newest first.
    near = client.get("/sessions/step-2/neighbours?list=project%3Dsomeone-else%26url%3Dhome").text
    assert re.findall(r'/sessions/(step-\d)', near) == ["step-3", "step-1"]
    bad = client.get(f"/sessions/step-2/neighbours?list=project%3D{project.id}%26device%3Dtoaster")
    assert bad.status_code == 200 and "not valid" in bad.text and "/sessions/" not in bad.text

def test_the_exact_total_of_a_list_comes_on_its_own(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    """What htmx asks for after a text search's list was counted up to the cap ("1,000+")."""
    for i in range(3):
        events = [meta_event(1_700_000_000_000 + i, href=f"https://shop.example/{'checkout' if i else 'home'}")]
        client.post("/api/v1/ingest", json=batch(project.public_key, f"count-{i}", 0, events))
    query = f"/?project={project.id}&url=/checkout&total=exact"
    assert "Sessions</h1>" not in client.get(query).text and client.get(query).text != "2"  # signed out: the front page
    sign_in(client)
    assert client.get(query).text == "2"
    listing = client.get(f"/?project={project.id}&url=/checkout").text
    assert re.search(r'data-testid="total">\s*2</small>', listing)


def test_sign_out_ends_the_session(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    client.post("/logout", data={"_csrf": csrf})
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 200 and 'href="/login"' in front.text and "Sessions</h1>" not in front.text
    assert client.get("/overview", follow_redirects=False).status_code == 303


def test_a_fresh_install_has_demo_sessions_to_play(client: TestClient, admin: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    demo = next(p for p in client.get("/api/v1/projects", headers=auth).json() if p["name"] == "Demo")
    sessions = client.get(f"/api/v1/sessions?project={demo['id']}", headers=auth).json()["items"]
    assert len(sessions) == 3
    events = client.get(f"/api/v1/sessions/{sessions[0]['id']}/events", headers=auth).json()
    assert [e["type"] for e in events[:2]] == [4, 2], "each opens with Meta and a FullSnapshot"
    assert events[0]["data"]["href"].endswith("/demo")
    sign_in(client)
    assert "/demo" in client.get(f"/?project={demo['id']}").text
    assert client.get("/demo").status_code == 200


def test_saved_filters(client: TestClient, admin: Any, project: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    page = client.get(f"/?project={project.id}&has_errors=true&device=mobile").text
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    query = re.search(r'name="query" value="([^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    r = client.post("/saved-filters", data={"_csrf": csrf, "project": project.id, "name": "Broken on phones",
                                            "query": query}, follow_redirects=False)
    assert r.status_code == 303 and "has_errors=true" in r.headers["location"]
    listing = client.get(f"/?project={project.id}").text
    assert "Broken on phones" in listing
    assert client.post("/saved-filters", data={"_csrf": csrf, "project": project.id, "name": "x",
                                               "query": "device=toaster"}).status_code == 400
    fid = re.search(r'/saved-filters/([0-9a-f]+)/delete', listing).group(1)  # type: ignore[union-attr]
    client.post(f"/saved-filters/{fid}/delete", data={"_csrf": csrf, "project": project.id})
    assert "Broken on phones" not in client.get(f"/?project={project.id}").text


def test_a_browser_gets_an_error_page_and_a_script_gets_json(client: TestClient, admin: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    page = client.get("/sessions/nope", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert client.get("/sessions/nope", headers={"Accept": "application/json"}).json() == {"error": "no session 'nope'"}
    assert client.get("/api/v1/sessions/nope", headers={"Accept": "text/html"}).json()["error"]


def test_onboarding_until_the_first_session_of_an_own_site(client: TestClient, admin: Any, datadir: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    home = client.get("/").text
    assert 'data-testid="onboarding"' in home and 'action="/projects"' in home, "only the Demo project: name a site"
    csrf = re.search(r'name="_csrf" value="([^"]+)"', home).group(1)  # type: ignore[union-attr]
    r = client.post("/projects", data={"_csrf": csrf, "name": "My shop", "then": "/"}, follow_redirects=False)
    assert r.headers["location"] == "/"
    home = client.get("/").text
    shop = next(p for p in datadir.projects.all() if p.name == "My shop")
    assert shop.public_key in home and "Waiting for your first session" in home
    assert "Waiting" in client.get(f"/onboarding/status?project={shop.id}").text
    client.post("/api/v1/ingest", json=batch(shop.public_key, "first-one", 0, [meta_event(1_700_000_000_000)]))
    datadir.index.flush()
    assert 'href="/sessions/first-one"' in client.get(f"/onboarding/status?project={shop.id}").text
    assert 'data-testid="onboarding"' not in client.get("/").text
