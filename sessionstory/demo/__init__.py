"""The Demo project's first sessions, so a fresh install has something to play at once.

`sessions.json.zst` holds real recordings of the /demo page made by
`scripts/record_demo.py` (already masked by the SDK). Seeding moves them to the last
few hours and to this server's URL, then stores them through the ordinary write path.
"""

from __future__ import annotations

import json
import time
import uuid
from importlib.resources import files
from typing import Any

import msgspec
import zstandard

from sessionstory.datadir import DataDir
from sessionstory.ingest import prepare
from sessionstory.projects import Project

PROJECT_NAME = "Demo"
HOUR_MS = 3600 * 1000
# The recordings were made in headless Chromium; show them as the browsers visitors use.
DEMO_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
]


def recordings() -> list[list[dict[str, Any]]]:
    data = files(__package__).joinpath("sessions.json.zst").read_bytes()
    return [s["events"] for s in json.loads(zstandard.ZstdDecompressor().decompress(data))]


def seed(dd: DataDir, project: Project) -> int:
    now = int(time.time() * 1000)
    sessions = recordings()
    for n, events in enumerate(sessions):
        shift = now - (n + 1) * HOUR_MS - events[0]["timestamp"]
        for event in events:
            event["timestamp"] += shift
            if event["type"] == 4:
                event["data"]["href"] = f"{dd.settings.base_url}/demo"
        body = json.dumps({
            "key": project.public_key,
            "session_id": str(uuid.uuid4()),
            "visitor_id": f"demo-visitor-{n + 1}",
            "seq": 0,
            "events": events,
        }).encode()
        prepared = prepare(dd.projects, body, "", None, DEMO_AGENTS[n % len(DEMO_AGENTS)], dd.settings.limits)
        # Received when it ended, hours ago: a demo session must not show as live.
        meta = msgspec.structs.replace(prepared.record.meta, received_ms=events[-1]["timestamp"])
        dd.log.append_now(msgspec.structs.replace(prepared.record, meta=meta), prepared.facts)
    dd.index.flush()
    return len(sessions)
