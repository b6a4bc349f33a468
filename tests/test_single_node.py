"""A single node (no store URL, no catalog URL) runs none of the cluster's code (issue #9).

It is checked in a fresh interpreter, so that what other tests imported does not count: the
app starts on a temporary data directory, takes a batch, lists it, replays it and stops, and
then no module of the cluster, the object store or their clients has been imported at all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
from pathlib import Path
from litestar.testing import TestClient
from sessionstory.app import create_app
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir

settings = prepare_data_dir(load_settings(Path(sys.argv[1]), env={}))
dd = DataDir(settings)
with TestClient(create_app(settings, dd)) as client:
    project = dd.projects.create("Shop")
    dd.accounts.create_user("owner@example.com", "correct horse battery", "admin")
    auth = {"Authorization": "Bearer " + dd.accounts.create_token("owner@example.com", "t")}
    meta = {"type": 4, "timestamp": 1_700_000_000_000, "data": {"href": "https://shop.example/", "width": 800, "height": 600}}
    body = {"key": project.public_key, "session_id": "s-1", "visitor_id": "v-1", "seq": 0, "events": [meta]}
    assert client.post("/api/v1/ingest", json=body).status_code == 200
    listed = client.get("/api/v1/sessions?project=" + project.id, headers=auth).json()["items"]
    assert [s["id"] for s in listed] == ["s-1"], listed
    assert client.get("/api/v1/sessions/s-1/events", headers=auth).status_code == 200
dd.close()
print(json.dumps(sorted(sys.modules)))
"""

CLUSTER_MODULES = ("sessionstory.cluster", "sessionstory.store.shipping", "sessionstory.store.objects",
                   "psycopg", "psycopg_pool", "obstore")


def test_a_single_node_imports_nothing_of_the_cluster(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = set(__import__("json").loads(done.stdout.strip().splitlines()[-1]))
    assert "sessionstory.datadir" in imported  # the script did run the app
    loaded = sorted(m for m in imported if m.startswith(CLUSTER_MODULES))
    assert loaded == [], f"a single node imported cluster code: {loaded}"
