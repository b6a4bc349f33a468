"""Hostile ingest bodies, generated: every one gets a clear answer, none a crash, a 500 or a hang.

The write path's pure part (`ingest.prepare`: decode, validate, sanitise, extract) takes
generated bodies directly, 10,000 of them in CI (`SESSIONSTORY_FUZZ_EXAMPLES` raises it:
`make fuzz`); a sample also goes through the real app. Decompression bombs of ratios 10^3
to 10^6 are refused with bounded memory.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from litestar.testing import TestClient

from sessionstory.datadir import DataDir
from sessionstory.ingest import IngestError, prepare

EXAMPLES = int(os.environ.get("SESSIONSTORY_FUZZ_EXAMPLES", "10000"))
SLOW_S = 1.0

# JSON-ish values, with the strings a visitor controls leaning hostile.
hostile_text = st.sampled_from([
    "<script>alert(1)</script>", "javascript:alert(1)", "\u0000", "\ud7ff", "🙂" * 50, "a" * 5000, "", " ",
    "%00", "../../etc/passwd", "\"}]}", "onerror=alert(1)", "1e309", "-0", "NaN",
]) | st.text(max_size=40)
scalars = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=False) | hostile_text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(hostile_text, inner, max_size=5),
                      max_leaves=30)
event = st.fixed_dictionaries(
    {"type": st.integers(min_value=-1, max_value=7) | values, "timestamp": st.integers(min_value=-2**63, max_value=2**63) | values},
    optional={"data": st.fixed_dictionaries({}, optional={
        "source": st.integers(min_value=-1, max_value=17) | values, "href": hostile_text, "text": hostile_text,
        "node": values, "adds": values, "attributes": values, "texts": values, "positions": values,
        "tag": st.sampled_from(["page", "click", "error", "console", "network", "identify", "track", "vitals"]) | hostile_text,
        "payload": values, "width": values, "height": values})},
)
envelope = st.fixed_dictionaries(
    {"key": st.just("KEY") | hostile_text, "session_id": st.just("s-1") | hostile_text,
     "visitor_id": st.just("v-1") | hostile_text, "seq": st.integers(min_value=-5, max_value=2**40) | values,
     "events": st.lists(event, max_size=8) | values},
    optional={"window_id": hostile_text | values, "user_id": hostile_text | values, "extra": values},
)
bodies = envelope.map(lambda e: json.dumps(e).encode()) | st.binary(max_size=300) | values.map(lambda v: json.dumps(v).encode())


def _answer(dd: DataDir, body: bytes, encoding: str = "") -> int:
    """The status ingest gives this body (200 once prepared), timed."""
    started = time.perf_counter()
    try:
        prepare(dd.projects, body, encoding, None, "fuzz", dd.settings.limits)
        status = 200
    except IngestError as exc:
        status = exc.status
    assert time.perf_counter() - started < SLOW_S, "no body may take a second"
    return status


@pytest.fixture
def keyed(datadir: DataDir) -> DataDir:
    project = datadir.projects.create("Fuzz")
    datadir.__dict__["fuzz_key"] = project.public_key
    return datadir


def test_generated_bodies_get_clear_answers(keyed: DataDir) -> None:
    key = keyed.__dict__["fuzz_key"]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def check(body: bytes) -> None:
        status = _answer(keyed, body.replace(b'"KEY"', json.dumps(key).encode()))
        assert status == 200 or 400 <= status < 500, status

    check()


def test_a_sample_through_the_real_app_never_gets_a_500(client: TestClient, project: Any) -> None:  # type: ignore[type-arg]
    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def check(body: bytes) -> None:
        body = body.replace(b'"KEY"', json.dumps(project.public_key).encode())
        response = client.post("/api/v1/ingest", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code < 500 or response.status_code == 503, response.text
        assert "error" in response.json() or response.json() == {"ok": True} or response.json().get("ok")

    check()


def _bomb(zero_bytes: int, layers: int) -> bytes:
    """gzip of `zero_bytes` zeros, gzipped again `layers - 1` times; made in chunks, never whole."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    body = b"".join(packer.compress(chunk) for _ in range(zero_bytes // len(chunk))) + packer.flush()
    for _ in range(layers - 1):
        body = gzip.compress(body, compresslevel=9)
    return body


@pytest.mark.parametrize("zero_mib, layers, at_least", [(64, 1, 10**3), (256, 2, 10**4), (512, 2, 10**5), (1024, 3, 10**6)])
def test_decompression_bombs_are_refused_with_bounded_memory(datadir: DataDir, zero_mib: int, layers: int,
                                                             at_least: int) -> None:
    bomb = _bomb(zero_mib * 1024 * 1024, layers)
    ratio = zero_mib * 1024 * 1024 / len(bomb)
    assert ratio >= at_least, f"the bomb is only {ratio:,.0f}:1"
    tracemalloc.start()
    try:
        status = _answer(datadir, bomb, "gzip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status in (400, 413), status
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB for a {ratio:,.0f}:1 bomb"
