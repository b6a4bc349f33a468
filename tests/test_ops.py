"""Operations: /metrics in Prometheus' text format, /readyz, and JSON log lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sessionstory import logs
from sessionstory.app import create_app
from sessionstory.config import Limits, Settings
from sessionstory.datadir import DataDir
from tests.conftest import batch, meta_event
from tests.events import mutation
from tests.server import Server, free_port


def samples(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, float]:  # type: ignore[type-arg]
    """Every sample of one scrape, by name and labels (`name{label="value"}`)."""
    answer = client.get("/metrics", headers=headers or {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def app_with(settings: Settings, **changes: Any) -> Iterator[tuple[TestClient, DataDir]]:  # type: ignore[type-arg]
    """A real app on `settings` with some fields changed (`for client, dd in app_with(…)`)."""
    changed = msgspec.structs.replace(settings, **changes)
    dd = DataDir(changed)
    try:
        with TestClient(create_app(changed, dd)) as client:
            yield client, dd
    finally:
        dd.close()


def test_metrics_parse_and_move_with_an_ingest(client: TestClient, project: Any) -> None:  # type: ignore[type-arg]
    before = samples(client)
    for name in ("sessionstory_log_queue_records", "sessionstory_index_lag_records", "sessionstory_live_viewers",
                 "sessionstory_disk_free_bytes", "sessionstory_data_dir_bytes", "sessionstory_index_sessions",
                 "sessionstory_model_jobs", "process_resident_memory_bytes"):
        assert name in before, name
    assert before["sessionstory_ready"] == 1 and before["sessionstory_index_writer_up"] == 1
    assert before["sessionstory_model_jobs"] == 0, "no summary asked for: the model is idle"
    at = 1_700_000_000_000
    events = [meta_event(at), mutation(at + 1), mutation(at + 2)]
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "metrics-1", events=events)).status_code == 200
    assert client.post("/api/v1/ingest", json={"key": "nope"}).status_code == 400
    after = samples(client)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('sessionstory_ingest_requests_total{status="200"}') == 1
    assert grew('sessionstory_ingest_requests_total{status="400"}') == 1
    assert grew("sessionstory_ingest_batches_total") == 1
    assert grew("sessionstory_ingest_bytes_total") > 0 and grew("sessionstory_ingest_request_bytes_total") > 0
    assert grew("sessionstory_ingest_ack_seconds_count") == 1 and grew("sessionstory_ingest_ack_seconds_sum") > 0
    assert grew("sessionstory_log_commit_seconds_count") >= 1
    assert grew("sessionstory_log_commit_group_records_sum") >= 1
    assert grew("sessionstory_index_sessions") == 1 and grew("sessionstory_index_events") == 3
    assert samples(client)["sessionstory_index_lag_records"] == 0  # the sessions gauge's read waited for the index


def test_metrics_want_the_token_when_one_is_set(settings: Settings) -> None:
    for client, _ in app_with(settings, metrics_token="s3cret"):
        refused = client.get("/metrics")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert "sessionstory_ready" in samples(client, {"Authorization": "Bearer s3cret"})
        assert client.get("/readyz").status_code == 200  # readiness stays open: load balancers probe it


def test_readyz_is_200_when_writes_can_be_taken(client: TestClient) -> None:  # type: ignore[type-arg]
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": dict.fromkeys(("log_committer", "log_fsync", "index_writer", "disk", "backlog"), "ok")}
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_503_below_the_disk_reserve(settings: Settings) -> None:
    for client, _ in app_with(settings, limits=Limits(min_free_bytes=2**62)):
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        body = answer.json()
        assert body["status"] == "unavailable" and "reserve" in body["error"] and body["checks"]["index_writer"] == "ok"
        assert samples(client)["sessionstory_ready"] == 0
        assert client.get("/healthz").status_code == 200  # alive, just not taking writes


def test_readyz_is_503_once_the_index_writer_stops(client: TestClient, datadir: DataDir) -> None:  # type: ignore[type-arg]
    assert client.get("/readyz").status_code == 200
    datadir.index.close()  # the writer thread ends (and the index with it: nothing reads it after this)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["index_writer"] == "the index writer thread is not running"


def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SESSIONSTORY_LOG_FORMAT": "json", "SESSIONSTORY_ADMIN_EMAIL": "a@example.com",
           "SESSIONSTORY_ADMIN_PASSWORD": "pw-12345678"}
    stderr = tmp_path / "stderr.log"
    with open(stderr, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "sessionstory", "serve", "--data-dir", str(tmp_path / "data"),
                                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    assert r.status == 200 and json.loads(r.read())["status"] == "ready"
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, stderr.read_text()[-2000:]
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b"\nsessionstory_ready 1.0\n" in r.read()  # served by the process itself
        _status(f"http://127.0.0.1:{port}/api/v1/sessions?from=7d&browser=Chrome")
    finally:
        proc.terminate()
        proc.wait(15)
    lines = [line for line in stderr.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    assert any(r["logger"].startswith("uvicorn.error") and "startup" in r["message"] for r in records)
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(r["path"] == "/readyz" and r["status"] == 200 and r["method"] == "GET" for r in access)
    listed = [r for r in access if r["path"].startswith("/api/v1/sessions")]
    assert len(listed) == 1, access  # one line a request, its query as sent
    assert listed[0]["path"] == "/api/v1/sessions?from=7d&browser=Chrome" and listed[0]["status"] == 401
    assert listed[0]["client"].startswith("127.0.0.1:") and listed[0]["http_version"] == "1.1"
    assert listed[0]["message"] == f'{listed[0]["client"]} - "GET {listed[0]["path"]} HTTP/1.1" 401'


def _status(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_access_lines_for_people_are_uvicorns_on_stdout(tmp_path: Path) -> None:
    """The default format: uvicorn's line on stdout, though the app writes it (uvicorn's access log is off)."""
    server = Server(tmp_path / "data").start()  # its stdout and stderr go to one file
    try:
        assert _status(f"{server.url}/healthz?probe=1") == 200
        assert _status(f"{server.url}/nowhere/%C3%A9?probe=2") == 404
        assert _status(f"{server.url}/api/v1/ingest?probe=3", data=b"{}") == 400
    finally:
        server.stop()
    lines = server.log_path.read_text().splitlines()
    for request, answer in [('"GET /healthz?probe=1 HTTP/1.1"', "200 OK"),
                            ('"GET /nowhere/%C3%A9?probe=2 HTTP/1.1"', "404 Not Found"),
                            ('"POST /api/v1/ingest?probe=3 HTTP/1.1"', "400 Bad Request")]:
        found = [line for line in lines if request in line]
        assert len(found) == 1, lines  # exactly one line a request
        assert found[0].startswith("INFO:     127.0.0.1:") and found[0].endswith(f" - {request} {answer}")


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """Access lines as a server writes them (the background handler, JSON), into a string."""
    out = io.StringIO()
    handler = logs.BackgroundStreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    route = logging.getLogger(logs.ACCESS_ROUTE)
    route.addHandler(handler)
    route.propagate = False
    try:
        yield out
    finally:
        route.removeHandler(handler)
        route.propagate = True
        handler.close()


def _written(out: io.StringIO) -> list[dict[str, Any]]:
    logs.write_pending()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_answer_gets_one_access_line_with_its_status(settings: Settings, access_lines: io.StringIO) -> None:
    for client, dd in app_with(settings):
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/nowhere?x=1").status_code == 404
        assert client.post("/api/v1/ingest", json={"key": "nope"}).status_code == 400
        token = dd.accounts.create_token(dd.accounts.create_user("o@example.com", "a long password", "admin").email, "t")
        dd.index.close()  # the next read raises: the app answers 500
        assert client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"}).status_code == 500
        lines = _written(access_lines)
    assert [(r["method"], r["path"], r["status"]) for r in lines] == [
        ("GET", "/healthz", 200), ("GET", "/api/v1/nowhere?x=1", 404), ("POST", "/api/v1/ingest", 400),
        ("GET", "/api/v1/projects", 500)]
    assert all(r["logger"] == "uvicorn.access" and r["level"] == "info" and r["client"] == "testclient:50000"
               for r in lines)


def _run_on_a_fresh_thread(coroutine: Any) -> Any:
    """asyncio.run on a thread of its own: in the whole suite, Playwright's sync API leaves an event
    loop running on the main thread, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_an_exception_past_the_app_is_logged_as_uvicorns_500(access_lines: io.StringIO) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("no answer")

    scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"", "http_version": "1.1",
             "client": ("10.0.0.1", 1234)}
    with pytest.raises(RuntimeError, match="no answer"):  # on to the server, which answers 500
        _run_on_a_fresh_thread(logs.AccessLog(broken)(scope, None, None))  # type: ignore[arg-type]
    [line] = _written(access_lines)
    assert line["message"] == '10.0.0.1:1234 - "GET /x HTTP/1.1" 500'
