"""The SDK for bundlers: `import { init } from ".../sdk.esm.js"` records like the script tag."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.e2e.sites import Sites
from tests.server import Server


def test_the_es_module_records_a_session(browser: Any, server: Server, sites: Sites, project: dict[str, str],
                                         token: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{sites.url}/shop/index.html?bare")  # the page without the script tag
        options = json.dumps({"key": project["public_key"], "server": server.url})
        page.add_script_tag(type="module", content=f"""
            import {{ init }} from "{server.url}/sdk.esm.js";
            window.recorder = init({options});
        """)
        page.wait_for_function("window.recorder && typeof window.recorder.sessionId() === 'string'")
        page.click("button[data-name=assam]")
        session_id = page.evaluate("window.recorder.flush().then(() => window.recorder.sessionId())")
        assert page.evaluate("window.recorder === window.sessionstory")
    finally:
        context.close()
    req = urllib.request.Request(f"{server.url}/api/v1/sessions/{session_id}/events",
                                 headers={"Authorization": f"Bearer {token}"})
    events = json.loads(urllib.request.urlopen(req, timeout=30).read())
    assert [e["type"] for e in events][:2] == [4, 2]
    with urllib.request.urlopen(f"{server.url}/sdk.esm.d.ts", timeout=10) as r:
        assert "export function init(options: InitOptions): SessionStory;" in r.read().decode()


def test_the_type_declarations_name_every_method_of_the_api() -> None:
    from pathlib import Path
    import re

    src = Path(__file__).parents[2] / "sessionstory" / "sdk_js" / "src"
    api = (src / "api.ts").read_text()
    body = api[api.index("export interface Api {"):api.index("}", api.index("export interface Api {"))]
    methods = re.findall(r"^\s+(\w+)\(", body, re.M)
    declared = (src / "sdk.esm.d.ts").read_text()
    assert len(methods) == 7 and all(re.search(rf"^\s+{m}\(", declared, re.M) for m in methods), methods
