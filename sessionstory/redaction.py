"""Retroactive redaction: a project's stored events rewritten with masking applied.

What is masked: the privacy level chosen (the project's current one by default, through
`privacy.apply_level`, as ingest applies the level), then everything the privacy
audit finds (`pii_audit.Detector`: e-mails, Luhn-valid cards, phones, secrets and the admin's
own patterns) in every field the audit reads, so that an audit after a redaction finds nothing.

How, in an order that survives a crash at any point (compaction's, which this reuses):
1. the index purge is marked due first (erasure.py's file), so a crash later still rebuilds
   the index file, whose blocks hold the old facts (page URLs, console, errors...);
2. each session of the project that holds something to mask is packed again as one compacted
   record of its masked batches (`Compactor.rewrite`): appended durably, then the index moves
   the session's locations to it and lists the old records as superseded in one transaction,
   then those are erased in place. A crash leaves each session old or new, never both indexed;
   what was left superseded is erased by the next pass, and a session left unmasked is found
   and rewritten by the next run (a session with nothing to mask is left alone: reruns are cheap);
3. cached insights of the rewritten sessions and the project's digests are dropped;
4. the index is rebuilt from the log (the erasure module's purge), so its facts come from the
   masked events and no byte of the old values is left in its file;
5. the audit log records who redacted what, naming custom patterns only by a fingerprint (a
   pattern may spell out the very value it removes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import duckdb
import msgspec

from sessionstory.audit import CLI, fingerprint
from sessionstory.events import event_decoder
from sessionstory.pii_audit import Detector, strings
from sessionstory.privacy import LEVELS, apply_level
from sessionstory.store import Batch

if TYPE_CHECKING:
    from sessionstory.datadir import DataDir

ACTION = "privacy.redact"


class RedactionError(ValueError):
    pass


class Redacted(msgspec.Struct):
    project_id: str
    level: str
    patterns: int
    sessions: int  # sessions of the project looked at
    rewritten: int  # sessions rewritten
    batches: int  # batches in the rewritten sessions
    events: int  # events changed
    complete: bool = True

    def text(self) -> str:
        return (f"redacted project {self.project_id} under {self.level}"
                f"{f' and {self.patterns} custom patterns' if self.patterns else ''}: {self.rewritten} of "
                f"{self.sessions} sessions rewritten ({self.events} events in {self.batches} batches masked); "
                f"{'index rebuilt' if self.complete else 'stopped before the end: run it again to finish'}")


def redact_events(events: bytes, level: str, detector: Detector) -> tuple[bytes, int] | None:
    """A batch's events (JSON array) masked, and how many events changed; None when none did."""
    raws = [bytes(r) for r in msgspec.json.decode(events, type=list[msgspec.Raw])]
    out, _ = apply_level(raws, [event_decoder.decode(r) for r in raws], level)
    changed = sum(a is not b for a, b in zip(out, raws))
    for i, raw in enumerate(out):
        if not detector.may_hold(raw):
            continue
        tree = msgspec.json.decode(raw)
        hit = False
        for _, holder, key in strings(tree):
            masked = detector.mask(holder[key])
            if masked != holder[key]:
                holder[key] = masked
                hit = True
        if hit:
            if out[i] is raws[i]:
                changed += 1
            out[i] = msgspec.json.encode(tree)
    if not changed:
        return None
    return b"[" + b",".join(out) + b"]", changed


def redact(dd: DataDir, project_id: str, level: str | None = None, patterns: Sequence[str] = (), actor: str = CLI,
           progress: Callable[[int, int], None] | None = None, stop: threading.Event | None = None) -> Redacted:
    """Rewrite every stored session of the project with masking applied (see the module's
    docstring). Blocking: run it in a thread. `progress(done, total)` counts sessions."""
    if dd.projects.get(project_id) is None:
        raise RedactionError(f"no project {project_id!r}")
    level = level or dd.projects.privacy(project_id).level
    if level not in LEVELS:
        raise RedactionError(f"level must be one of {', '.join(LEVELS)}")
    detector = Detector(patterns)  # AuditError for a bad pattern, before anything is touched
    purge_file = dd.erasure.purge_file
    if not purge_file.exists():
        purge_file.write_text(str(time.time()))
    ids = [r[0] for r in dd.index.read(lambda cur: cur.execute(
        "SELECT id FROM sessions WHERE project_id = ? ORDER BY id", [project_id]).fetchall())]
    rewritten: list[str] = []
    counts = {"batches": 0, "events": 0, "looked": 0}

    def transform(items: list[Batch]) -> list[Batch] | None:
        counts["looked"] += 1
        if progress is not None:
            progress(counts["looked"], len(ids))
        out, events = [], 0
        for b in items:
            masked = redact_events(b.events, level, detector)
            if masked is None:
                out.append(b)
            else:
                out.append(Batch(b.meta, masked[0]))
                events += masked[1]
        if not events:
            return None
        rewritten.append(items[0].meta.session_id)
        counts["batches"] += len(items)
        counts["events"] += events
        return out

    summary = dd.compactor.rewrite(ids, transform, stop)
    complete = not (stop is not None and stop.is_set())
    if rewritten:
        def forget(con: duckdb.DuckDBPyConnection) -> None:
            con.execute("DELETE FROM insights WHERE session_id IN (SELECT unnest(?::VARCHAR[])) "
                        "OR session_id LIKE 'digest/%'", [rewritten])

        dd.index.write(forget).result()
        dd.compactor.forget({project_id: set(rewritten)})  # a dictionary may have learnt what was masked
    dd.erasure.purge()  # the index rebuilt from the log: its file keeps no old fact
    result = Redacted(project_id, level, len(detector.patterns), len(ids), summary.sessions, counts["batches"],
                      counts["events"], complete)
    detail = f"level {level} · {result.rewritten} of {result.sessions} sessions rewritten"
    if detector.patterns:
        detail += f" · {len(detector.patterns)} custom patterns ({fingerprint(chr(10).join(p.pattern for p in detector.patterns))})"
    dd.audit.record(actor, ACTION, project_id, detail)
    return result
