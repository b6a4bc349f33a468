"""Privacy levels per project: the detectors, enforcement at ingest, the SDK's config
endpoint and the settings form, through the real app on a real data directory."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import zstandard
from litestar.testing import TestClient

from sessionstory.context import truncated_ip
from sessionstory.datadir import DataDir
from sessionstory.privacy import (
    PrivacyError,
    PrivacySettings,
    find_pii,
    is_card,
    luhn_valid,
    make_settings,
    mask_pii,
    url_blocked,
)
from sessionstory.store import SegmentLog
from tests.conftest import PASSWORD, batch, meta_event, stored_bytes
from tests.test_dashboard import sign_in

EMAIL = "jane.doe+shop@example.org"
CARD = "4111 1111 1111 1111"
PHONE = "(555) 867-5309"
T0 = 1_700_000_000_000


# -- detectors ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "jane@example.com", "Mail: J.Doe_99@mail.example.co.uk.", "jane%40example.com in a URL",
    "4111111111111111", "4111-1111-1111-1111", "5555 5555 5555 4444", "378282246310005", "3782 822463 10005",
    "6011111111111117", "(555) 123-4567", "555-123-4567", "555.123.4567", "+44 20 7946 0958", "+1 (555) 123-4567",
    "tel:+15551234567", "06 12 34 56 78", "020 7946 0958",
])
def test_detectors_find_and_mask(text: str) -> None:
    assert find_pii(text), text
    masked = mask_pii(text)
    assert masked != text and len(masked) == len(text)
    assert not find_pii(masked)


@pytest.mark.parametrize("text", [
    "1700000000000", "ts=1717171717171&n=1", "id 1152921504606846976", "order 1234567890", "5551234567",
    "2024-05-01", "2024-05-01 10:30:45", "2024-05-01 1030", "192.168.100.123", "10.0.0.1", "v3.11.2",
    "$1,234,567.89", "1 234 567,89 €", "12 345 678 901", "12.345.678.901", "EUR 19.99", "Price: 4 x 12.50",
    "123e4567-e89b-12d3-a456-426614174000", "4111111111111112", "1234 5678 9012 3456", "rgba(0, 0, 0, 0.5)",
    "width: 1024px; height: 768px", "@media (max-width: 600px)", "user@localhost", "2023 2024 2025",
])
def test_no_false_positives(text: str) -> None:
    assert find_pii(text) == [], text
    assert mask_pii(text) == text


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert luhn_valid("4111111111111111") and not is_card("4111111111111112")
    assert not is_card("1000000000009"), "13 digits starting with 1 (a millisecond timestamp) is no card"


def test_url_rules() -> None:
    rules = ["/admin/*", "https://shop.example/private/*", "*/settings"]
    assert url_blocked(rules, "https://x.example/admin")
    assert url_blocked(rules, "https://x.example/admin/users/7?tab=1#top")
    assert not url_blocked(rules, "https://x.example/administrator")
    assert url_blocked(rules, "https://shop.example/private/a")
    assert not url_blocked(rules, "https://other.example/private/a")
    assert url_blocked(rules, "https://x.example/account/settings")
    assert not url_blocked([], "https://x.example/admin")


@pytest.mark.parametrize(("ip", "kept"), [
    ("203.0.113.77", "203.0.113.0"), (" 198.51.100.255 ", "198.51.100.0"),
    ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"), ("2001:db8::1", "2001:db8::"),
    ("::ffff:203.0.113.77", "203.0.113.0"), ("fe80::1:2:3:4%eth0", "fe80::"),
    ("", ""), (None, ""), ("not an address", ""), ("203.0.113.77/8", ""), ("1.2.3", ""),
])
def test_a_truncated_ip_keeps_its_network_only(ip: str | None, kept: str) -> None:
    assert truncated_ip(ip) == kept


def test_settings_are_validated() -> None:
    s = make_settings("strict", block_selectors=".ad\n#promo", url_rules="/admin/*\n", sample_rate="25")
    assert s.block_selectors == [".ad", "#promo"] and s.url_rules == ["/admin/*"] and s.sample_rate == 25
    for bad in ({"level": "loose"}, {"sample_rate": "101"}, {"sample_rate": "x"}, {"block_selectors": "a{b}"},
                {"url_rules": "admin"}, {"url_rules": "/a b"}, {"mask_selectors": "\n".join(["p"] * 51)}):
        with pytest.raises(PrivacyError):
            make_settings(**bad)  # type: ignore[arg-type]


# -- enforcement at ingest ---------------------------------------------------------


def _text(node_id: int, text: str) -> dict[str, Any]:
    return {"type": 3, "id": node_id, "textContent": text}


def _el(node_id: int, tag: str, attributes: dict[str, Any], *children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 2, "id": node_id, "tagName": tag, "attributes": attributes, "childNodes": list(children)}


def _pii_batch(key: str, session_id: str) -> dict[str, Any]:
    body = _el(
        4, "body", {},
        _el(5, "p", {"title": f"write to {EMAIL}"}, _text(6, f"Call {PHONE} or mail {EMAIL}")),
        _el(7, "a", {"href": f"mailto:{EMAIL}"}, _text(8, "Contact")),
        _el(9, "img", {"src": "https://cdn.example/face.jpg", "alt": "Jane"}),
        _el(10, "style", {}, {"type": 3, "id": 11, "textContent": "p { margin: 0 }", "isStyle": True}),
        _el(12, "p", {}, _text(13, f"Card {CARD}")),
    )
    snapshot = {"node": {"type": 0, "id": 1, "childNodes": [_el(2, "html", {}, _el(3, "head", {}), body)]},
                "initialOffset": {"left": 0, "top": 0}}
    events = [
        meta_event(T0, href=f"https://shop.example/thanks?email={EMAIL.replace('@', '%40')}"),
        {"type": 2, "timestamp": T0 + 1, "data": snapshot},
        {"type": 3, "timestamp": T0 + 2, "data": {
            "source": 0, "texts": [{"id": 6, "value": f"now {PHONE}"}],
            "attributes": [{"id": 9, "attributes": {"src": "https://cdn.example/other.jpg", "data-owner": EMAIL}}],
            "removes": [], "adds": [{"parentId": 4, "nextId": None, "node": _text(14, f"Paid with {CARD}")}]}},
        {"type": 3, "timestamp": T0 + 3, "data": {"source": 1, "positions": [{"x": 1, "y": 2, "id": 4, "timeOffset": 0}]}},
        {"type": 5, "timestamp": T0 + 4, "data": {"tag": "page", "payload": {
            "url": f"https://shop.example/thanks?email={EMAIL}", "title": f"Thanks {EMAIL}", "referrer": "", "kind": "load"}}},
        {"type": 5, "timestamp": T0 + 5, "data": {"tag": "console", "payload": {
            "level": "error", "message": f"lookup failed for {EMAIL} / {PHONE}"}}},
        {"type": 5, "timestamp": T0 + 6, "data": {"tag": "network", "payload": {
            "type": "fetch", "method": "GET", "url": f"https://api.example/users/{EMAIL}", "status": 500, "duration": 3}}},
        {"type": 5, "timestamp": T0 + 7, "data": {"tag": "error", "payload": {
            "kind": "error", "message": f"Error: card {CARD} declined", "stack": f"at pay ({EMAIL})", "source": ""}}},
        {"type": 5, "timestamp": T0 + 8, "data": {"tag": "click", "payload": {
            "selector": "p", "text": "Jane's basket", "tag": "p", "x": 1, "y": 1, "vw": 10, "vh": 10}}},
    ]
    return batch(key, session_id, events=events)


def _stored_events(datadir: DataDir, session_id: str) -> bytes:
    log = SegmentLog(datadir.settings.data_dir / "segments")
    out = b""
    for _, record in log.scan():
        if record.body and getattr(record.meta, "session_id", None) == session_id:
            out += zstandard.ZstdDecompressor().decompress(record.body)
    return out


def _index_text(datadir: DataDir, session_id: str) -> str:
    def dump(cur: Any) -> str:
        rows = []
        for table in ("sessions", "pages", "console", "network", "errors", "interactions"):
            rows += cur.execute(f"SELECT * FROM {table} WHERE {'id' if table == 'sessions' else 'session_id'} = ?",
                                [session_id]).fetchall()
        return repr(rows)
    return datadir.index.read(dump)  # type: ignore[no-any-return]


def _secrets_in(text: str) -> list[str]:
    forms = [EMAIL, EMAIL.replace("@", "%40"), CARD, PHONE, "867-5309", "4111111111111111"]
    return [f for f in forms if f in text]


def test_balanced_is_the_default_and_masks_pii_everywhere(client: TestClient, datadir: DataDir, project: Any) -> None:  # type: ignore[type-arg]
    assert datadir.projects.privacy(project.id).level == "balanced"
    assert client.post("/api/v1/ingest", json=_pii_batch(project.public_key, "bal-1")).status_code == 200
    stored = _stored_events(datadir, "bal-1").decode()
    assert _secrets_in(stored) == []
    assert _secrets_in(_index_text(datadir, "bal-1")) == []
    assert _secrets_in(stored_bytes(datadir.settings).decode("latin-1")) == []
    events = json.loads(stored)
    assert "cdn.example/face.jpg" in stored and "Jane" in stored, "balanced keeps media and other text"
    assert "Contact" in stored and "p { margin: 0 }" in stored
    assert events[3] == {"type": 3, "timestamp": T0 + 3, "data": {"source": 1, "positions": [
        {"x": 1, "y": 2, "id": 4, "timeOffset": 0}]}}
    assert "Call ***** ******** or mail" in stored, "masking keeps the text's length and spaces"


def test_strict_masks_all_text_and_drops_media(client: TestClient, datadir: DataDir, project: Any) -> None:  # type: ignore[type-arg]
    datadir.projects.set_privacy(project.id, make_settings("strict"))
    assert client.post("/api/v1/ingest", json=_pii_batch(project.public_key, "strict-1")).status_code == 200
    stored = _stored_events(datadir, "strict-1").decode()
    assert _secrets_in(stored) == [] and _secrets_in(_index_text(datadir, "strict-1")) == []
    for visible in ("Contact", "Call", "Jane", "Paid with", "cdn.example"):
        assert visible not in stored, visible
    assert "p { margin: 0 }" in stored, "CSS is not text a visitor reads"
    assert '"title":"******' in stored


def test_relaxed_masks_inputs_only(client: TestClient, datadir: DataDir, project: Any) -> None:  # type: ignore[type-arg]
    datadir.projects.set_privacy(project.id, make_settings("relaxed"))
    events = [meta_event(T0), {"type": 3, "timestamp": T0 + 1, "data": {"source": 5, "id": 3, "text": EMAIL, "isChecked": False}},
              {"type": 5, "timestamp": T0 + 2, "data": {"tag": "console", "payload": {"level": "warn", "message": EMAIL}}}]
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "relaxed-1", events=events)).status_code == 200
    stored = _stored_events(datadir, "relaxed-1").decode()
    assert stored.count(EMAIL) == 1, "the console message stays, the typed value does not"
    assert '"text":"' + "*" * len(EMAIL) in stored


def test_settings_survive_a_reindex(datadir: DataDir, project: Any) -> None:
    settings = make_settings("strict", url_rules=["/admin/*"], sample_rate=10, honor_dnt=False, truncated_ip=True)
    datadir.projects.set_privacy(project.id, settings)
    datadir.reindex()
    datadir.projects.reload()
    assert datadir.projects.privacy(project.id) == settings


# -- the SDK's config ---------------------------------------------------------------


def test_config_endpoint(client: TestClient, datadir: DataDir, project: Any) -> None:  # type: ignore[type-arg]
    r = client.get(f"/api/v1/config?key={project.public_key}", headers={"Origin": "https://shop.example"})
    assert r.status_code == 200
    assert r.json() == {"level": "balanced", "block": [], "mask": [], "ignore": [], "urls": [], "dnt": True, "sample": 100}
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert re.fullmatch(r"public, max-age=\d+", r.headers["cache-control"])
    datadir.projects.set_privacy(project.id, make_settings("strict", block_selectors=".ad", url_rules="/admin/*"))
    body = client.get(f"/api/v1/config?key={project.public_key}").json()
    assert body["level"] == "strict" and body["block"] == [".ad"] and body["urls"] == ["/admin/*"]
    assert project.public_key not in json.dumps(body) and project.id not in json.dumps(body), "settings only"
    unknown = client.get("/api/v1/config?key=pk_nope", headers={"Origin": "https://shop.example"})
    assert unknown.status_code == 404 and unknown.json()["error"]
    assert unknown.headers["access-control-allow-origin"] == "https://shop.example"
    assert unknown.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/config").status_code == 404


# -- the settings form --------------------------------------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


FORM = {"level": "strict", "block": ".ad\n#promo", "mask": "", "ignore": ".chat", "urls": "/admin/*", "sample": "50",
        "ip": "on"}


def test_admins_change_privacy_with_csrf_and_each_change_is_audited(client: TestClient, admin: Any, datadir: DataDir,  # type: ignore[type-arg]
                                                                   project: Any) -> None:
    sign_in(client)
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200 and 'data-testid="privacy-form"' in page.text
    path = f"/projects/{project.id}/privacy"
    assert client.post(path, data=FORM).status_code == 403, "no CSRF token"
    assert client.post(path, data={**FORM, "_csrf": "wrong"}).status_code == 403
    assert datadir.projects.privacy(project.id) == PrivacySettings()
    saved = client.post(path, data={**FORM, "_csrf": _csrf(page.text)}, follow_redirects=False)
    assert saved.status_code == 303
    settings = datadir.projects.privacy(project.id)
    assert settings == make_settings("strict", block_selectors=[".ad", "#promo"], ignore_selectors=[".chat"],
                                     url_rules=["/admin/*"], honor_dnt=False, sample_rate=50, truncated_ip=True)
    entry = datadir.audit.recent()[0]
    assert (entry.actor, entry.action, entry.target) == ("owner@example.com", "project.privacy", project.id)
    assert "strict" in entry.detail and "/admin/*" in entry.detail and "sample 50 %" in entry.detail
    shown = client.get(f"/projects/{project.id}").text
    assert 'value="strict" checked' in shown and ".ad\n#promo</textarea>" in shown
    assert 'name="ip" checked' in shown
    bad = client.post(path, data={**FORM, "level": "loose", "_csrf": _csrf(shown)})
    assert bad.status_code == 400 and "level must be one of" in bad.text
    assert datadir.projects.privacy(project.id) == settings, "a refused change changes nothing"
    assert len([e for e in datadir.audit.recent() if e.action == "project.privacy"]) == 1
    assert client.get(f"/api/v1/config?key={project.public_key}").json()["level"] == "strict"


def test_members_see_but_do_not_change_privacy(client: TestClient, admin: Any, datadir: DataDir, project: Any) -> None:  # type: ignore[type-arg]
    datadir.accounts.create_user("viewer@example.com", PASSWORD, "member")
    sign_in(client, email="viewer@example.com")
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200 and "privacy-form" not in page.text and "Level <strong>balanced" in page.text
    refused = client.post(f"/projects/{project.id}/privacy", data={**FORM, "_csrf": _csrf(page.text)})
    assert refused.status_code == 403 and "only admins" in refused.text
    assert datadir.projects.privacy(project.id) == PrivacySettings()
    assert not [e for e in datadir.audit.recent() if e.action == "project.privacy"]
