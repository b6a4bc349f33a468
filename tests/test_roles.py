"""Roles (admins manage, members view) and the audit log, through the real app."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from sessionstory.audit import fingerprint
from sessionstory.datadir import DataDir
from tests.conftest import PASSWORD, batch
from tests.test_dashboard import sign_in


def _csrf(page_html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', page_html).group(1)  # type: ignore[union-attr]


def test_a_member_views_but_does_not_manage(client: TestClient, admin: Any, datadir: DataDir, project: Any) -> None:  # type: ignore[type-arg]
    datadir.accounts.create_user("viewer@example.com", PASSWORD, "member")
    client.post("/api/v1/ingest", json=batch(project.public_key, "roles-1"))
    assert sign_in(client, email="viewer@example.com").status_code == 303
    assert client.get("/").status_code == 200
    assert client.get("/sessions/roles-1").status_code == 200
    token = _csrf(client.get("/").text)
    for path in ("/users", "/audit"):
        assert client.get(path, headers={"Accept": "application/json"}).status_code == 403
    refused = client.post("/projects", data={"_csrf": token, "name": "Mine"})
    assert refused.status_code == 403 and "only admins" in refused.text
    assert client.post("/users", data={"_csrf": token, "email": "x@example.com"}).status_code == 403
    bulk = client.request("DELETE", f"/api/v1/sessions?project={project.id}&url=x", headers={"X-CSRF-Token": token})
    assert bulk.status_code == 403
    member_token = datadir.accounts.create_token("viewer@example.com")
    api = {"Authorization": f"Bearer {member_token}"}
    assert client.get("/api/v1/sessions/roles-1", headers=api).status_code == 200
    erase = client.post("/api/v1/erasure", json={"project": project.id, "visitor_id": "visitor-1"}, headers=api)
    assert erase.status_code == 403
    # Deleting one session is CONTRACT.md's `DELETE /api/v1/sessions/{id}`: any token; audited.
    assert client.delete("/api/v1/sessions/roles-1", headers=api).status_code == 204
    assert ("viewer@example.com", "session.delete", fingerprint("roles-1")) in [
        (e.actor, e.action, e.target) for e in datadir.audit.recent()]
    assert "Users</a>" not in client.get("/").text


def test_an_admin_manages_users_and_every_change_is_audited(client: TestClient, admin: Any, datadir: DataDir, project: Any) -> None:  # type: ignore[type-arg]
    sign_in(client)
    page = client.get("/users")
    assert page.status_code == 200 and "owner@example.com" in page.text
    created = client.post("/users", data={"_csrf": _csrf(page.text), "email": "New@Example.com", "role": "member"})
    assert created.status_code == 200
    password = re.search(r'<code id="new-password">([^<]+)</code>', created.text).group(1)  # type: ignore[union-attr]
    new = datadir.accounts.authenticate("new@example.com", password)
    assert new is not None and new.role == "member"

    token = _csrf(created.text)
    assert client.post(f"/users/{new.id}/role", data={"_csrf": token, "role": "admin"}, follow_redirects=False).status_code == 303
    assert datadir.accounts.user_by_email("new@example.com").role == "admin"  # type: ignore[union-attr]
    new_token = datadir.accounts.create_token("new@example.com")
    assert client.post(f"/users/{new.id}/delete", data={"_csrf": token}, follow_redirects=False).status_code == 303
    assert datadir.accounts.user_by_email("new@example.com") is None
    assert datadir.accounts.user_for_token(new_token) is None, "a removed user's tokens stop working at once"

    client.post("/api/v1/ingest", json=batch(project.public_key, "roles-2"))
    assert client.delete("/api/v1/sessions/roles-2", headers={"X-CSRF-Token": token}).status_code == 204

    actions = [(e.actor, e.action, e.target) for e in datadir.audit.recent()]
    assert ("owner@example.com", "user.create", "new@example.com") in actions
    assert ("owner@example.com", "user.role", "new@example.com") in actions
    assert ("owner@example.com", "user.delete", "new@example.com") in actions
    assert ("owner@example.com", "session.delete", fingerprint("roles-2")) in actions
    audit = client.get("/audit").text
    assert "session.delete" in audit and fingerprint("roles-2") in audit and "roles-2" not in audit


def test_the_last_admin_stays(client: TestClient, admin: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    first_start = datadir.accounts.user_by_email("admin@localhost")  # the admin the first start made
    assert first_start is not None
    datadir.accounts.delete_user(first_start.id)
    sign_in(client)
    token = _csrf(client.get("/users").text)
    demoted = client.post(f"/users/{admin.id}/role", data={"_csrf": token, "role": "member"})
    assert demoted.status_code == 400 and "last admin" in demoted.text
    removed = client.post(f"/users/{admin.id}/delete", data={"_csrf": token})
    assert removed.status_code == 400 and "last admin" in removed.text


def test_the_audit_log_survives_a_reindex(client: TestClient, admin: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    datadir.audit.record("someone@example.com", "project.create", "p1", "Shop")
    datadir.reindex()
    assert [(e.actor, e.target) for e in datadir.audit.recent()] == [("someone@example.com", "p1")]


def test_a_signed_in_users_role_change_and_removal_count_at_once(client: TestClient, admin: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    """A checked sign-in is believed for a few seconds; changes made through Accounts drop it at once."""
    helper = datadir.accounts.create_user("helper@example.com", PASSWORD, "admin")
    sign_in(client, email="helper@example.com")
    assert client.get("/users").status_code == 200  # checked, and now believed
    datadir.accounts.set_role(helper.id, "member")
    assert client.get("/users", headers={"Accept": "application/json"}).status_code == 403
    assert client.get("/").status_code == 200
    datadir.accounts.delete_user(helper.id)
    front = client.get("/", follow_redirects=False)
    assert 'href="/login"' in front.text and "Sessions</h1>" not in front.text
