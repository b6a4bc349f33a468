"""Your data, movable: sessions in and out as rrweb JSON, the index as Parquet, backups.

A backup is the segment log (the source of truth) and the secret key; a restore puts them
in an empty data directory and rebuilds the index from them.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from sessionstory.datadir import DataDir
from sessionstory.index.sessions import FACT_TABLES
from sessionstory.ingest import IngestError, NothingToStore, prepare
from sessionstory.replay import session_events

EXPORT_TABLES = ("projects", "sessions", *[t for t in FACT_TABLES if t not in ("records", "insights")], "visitors")
BATCH_EVENTS = 2000  # imported sessions are stored in batches of this many events, like the SDK's


class PortabilityError(ValueError):
    pass


def export_session(dd: DataDir, session_id: str) -> bytes:
    """`{"session_id", "events"}`; `import_session` takes it back, and so does any rrweb player."""
    events = session_events(dd.log, dd.index, session_id)
    return b'{"format":"sessionstory-session/1","session_id":' + msgspec.json.encode(session_id) + b',"events":' + events + b"}"


def import_session(dd: DataDir, text: str, project_id: str, user_agent: str = "imported") -> str:
    """Store a session from our export format or a plain rrweb event array; returns its id."""
    events, session_id = _read_events(text)
    project = dd.projects.get(project_id)
    if project is None:
        raise PortabilityError(f"no project {project_id!r}")
    session_id = session_id or f"imported-{uuid.uuid4()}"
    events.sort(key=lambda e: e["timestamp"])
    for seq, start in enumerate(range(0, len(events), BATCH_EVENTS)):
        chunk = events[start : start + BATCH_EVENTS]
        body = json.dumps({"key": project.public_key, "session_id": session_id, "visitor_id": f"v-{session_id}"[:128],
                           "seq": seq, "events": chunk}).encode()
        try:
            prepared = prepare(dd.projects, body, "", None, user_agent, dd.settings.limits)
        except NothingToStore:
            continue  # this part is on pages the project's URL rules keep out of recordings
        except IngestError as exc:
            raise PortabilityError(f"the file does not hold valid rrweb events: {exc.message}") from None
        meta = msgspec.structs.replace(prepared.record.meta, received_ms=int(chunk[-1]["timestamp"]))
        dd.log.append_now(msgspec.structs.replace(prepared.record, meta=meta), prepared.facts)
    dd.index.flush()
    return session_id


def _read_events(text: str) -> tuple[list[dict[str, Any]], str | None]:
    try:
        data = json.loads(text)
    except ValueError:
        raise PortabilityError("the file is not JSON") from None
    session_id = None
    if isinstance(data, dict):
        session_id, data = data.get("session_id"), data.get("events")
    if not isinstance(data, list) or not data:
        raise PortabilityError("expected a JSON array of rrweb events, or {\"events\": [...]}")
    if not all(isinstance(e, dict) and isinstance(e.get("timestamp"), int | float) for e in data):
        raise PortabilityError("every event needs a numeric timestamp")
    if session_id is not None and not isinstance(session_id, str):
        session_id = None
    return data, session_id


def export_parquet(dd: DataDir, directory: Path) -> list[Path]:
    """One Parquet file per index table, for BI tools."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in EXPORT_TABLES:
        target = directory / f"{table}.parquet"
        columns = "* EXCLUDE (state)" if table == "sessions" else "*"
        dd.index.read(partial(_copy_to_parquet, table=table, columns=columns, target=target))
        written.append(target)
    return written


def _copy_to_parquet(cur: duckdb.DuckDBPyConnection, table: str, columns: str, target: Path) -> None:
    cur.execute(f"COPY (SELECT {columns} FROM {table}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")


def backup(dd: DataDir, directory: Path) -> dict[str, Any]:
    """Copy the log and the secret key; consistent while ingest goes on.

    The log is append-only: holding the committer for a moment fixes each segment's
    length, and bytes beyond it are not part of this backup. Compaction is held back
    meanwhile (`frozen`): it would erase records whose compacted form lies beyond those
    lengths, or delete a segment being copied. Compacted records and the dictionaries
    they need are ordinary records of the log, so the copy reads back whole.
    """
    if directory.exists() and any(directory.iterdir()):
        raise PortabilityError(f"{directory} is not empty")
    segments_out = directory / "segments"
    segments_out.mkdir(parents=True)
    copied = 0
    with dd.log.frozen():
        with dd.log.paused():
            lengths = {n: dd.log.path(n).stat().st_size for n in dd.log.segments()}
        for number, length in lengths.items():
            with open(dd.log.path(number), "rb") as src, open(segments_out / dd.log.path(number).name, "wb") as dst:
                copied += _copy_prefix(src, dst, length)
    key = dd.settings.data_dir / "secret_key"
    if key.exists():
        shutil.copy2(key, directory / "secret_key")
    manifest = {"format": "sessionstory-backup/1", "created_ms": int(time.time() * 1000), "segments": lengths,
                "bytes": copied}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def _copy_prefix(src: Any, dst: Any, length: int) -> int:
    left = length
    while left:
        chunk = src.read(min(left, 1 << 20))
        if not chunk:
            break
        dst.write(chunk)
        left -= len(chunk)
    dst.flush()
    return length - left


def restore(backup_dir: Path, data_dir: Path) -> None:
    """Put a backup into an empty data directory; opening it then rebuilds the index."""
    if not (backup_dir / "manifest.json").exists():
        raise PortabilityError(f"{backup_dir} is not a SessionStory backup (no manifest.json)")
    if data_dir.exists() and any(p.name != ".gitkeep" for p in data_dir.iterdir()):
        raise PortabilityError(f"{data_dir} is not empty; restore into a new data directory")
    (data_dir / "segments").mkdir(parents=True, exist_ok=True)
    for segment in sorted((backup_dir / "segments").glob("*.seg")):
        shutil.copy2(segment, data_dir / "segments" / segment.name)
    if (backup_dir / "secret_key").exists():
        shutil.copy2(backup_dir / "secret_key", data_dir / "secret_key")
