"""The slow statements of the dashboard routes beside rewrites that return the same
rows, timed on the same data: evidence for the fixes proposed in docs/performance.md.

Each rewrite is made from the statement the route really runs (captured as in
`queries.py`) by a textual replacement, so it stays tied to the current code; when the
code has changed and the text is no longer there, the line says so and is skipped.
Results are compared row for row (approximate ones are marked). Nothing here changes
the app: the rewrites are suggestions.

    python -m bench.alternatives [--sessions N]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from bench import queries, stats, synth


@dataclass
class Rewrite:
    case: str  # a query of queries.CASES (prefix of its name)
    statement: str  # a piece of the captured SQL that picks the statement
    label: str
    rewrite: Callable[[str, list[Any]], tuple[str, list[Any]]]
    exact: bool = True  # same rows expected (else: approximate aggregates)


def _flat(sql: str) -> str:
    return " ".join(sql.split())


def _replace(old: str, new: str) -> Callable[[str, list[Any]], tuple[str, list[Any]]]:
    old, new = _flat(old), _flat(new)

    def apply(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
        if old not in sql:
            raise LookupError(old)
        return sql.replace(old, new), p
    return apply


def _substring(pattern: str) -> str:
    """The text behind filters._like's `%escaped%` pattern."""
    body = pattern[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _q_rewrite(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
    old = "(urls ILIKE ? ESCAPE '\\' OR search_text ILIKE ? ESCAPE '\\' OR user_id ILIKE ? ESCAPE '\\')"
    if old not in sql:
        raise LookupError(old)
    new = "(contains(lower(urls), lower(?)) OR contains(lower(search_text), lower(?)) OR contains(lower(user_id), lower(?)))"
    # the three patterns come right after the project ids (and before keyset/limit values)
    i = next(k for k, v in enumerate(p) if isinstance(v, str) and v.startswith("%"))
    return sql.replace(old, new), p[:i] + [_substring(v) for v in p[i:i + 3]] + p[i + 3:]


def _url_rewrite(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
    old = "urls ILIKE ? ESCAPE '\\'"
    if old not in sql:
        raise LookupError(old)
    i = next(k for k, v in enumerate(p) if isinstance(v, str) and v.startswith("%"))
    return sql.replace(old, "contains(lower(urls), lower(?))"), p[:i] + [_substring(p[i])] + p[i + 1:]


def _both(*steps: Callable[[str, list[Any]], tuple[str, list[Any]]]) -> Callable[[str, list[Any]], tuple[str, list[Any]]]:
    def apply(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
        for step in steps:
            sql, p = step(sql, p)
        return sql, p
    return apply


def _keyset_rewrite(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
    """State the sort key's bound on its own, so the scan can skip row groups by their min/max."""
    old = "(started_ms, id) < (?, ?)"
    if old not in sql:
        raise LookupError(old)
    # the keyset values are the last two parameters before LIMIT's
    return sql.replace(old, "started_ms <= ? AND " + old), p[:-3] + [p[-3]] + p[-3:]


_LIST_CONTAINS = _replace("project_id IN (SELECT unnest(?::VARCHAR[]))", "list_contains(?::VARCHAR[], project_id)")


def _funnel_rewrite(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
    """LIKE with an ESCAPE clause runs DuckDB's generic matcher; without it, '%x%' becomes contains()."""
    if "LIKE ? ESCAPE '\\'" not in sql:
        raise LookupError("LIKE ? ESCAPE")
    # valid here because the benchmark's patterns hold no '%' or '_' of their own
    return sql.replace("LIKE ? ESCAPE '\\'", "LIKE ?"), p


_SNAPSHOT_OLD = """SELECT p.session_id, p.at_ms - s.started_ms + 1000, p.at_ms
           FROM pages p JOIN sessions s ON s.id = p.session_id
           WHERE p.project_id = ? AND p.url = ? AND p.at_ms >= ? AND p.at_ms < ?
           ORDER BY p.at_ms DESC LIMIT 1"""
_SNAPSHOT_NEW = """SELECT p.session_id, p.at_ms - s.started_ms + 1000, p.at_ms
           FROM (SELECT session_id, at_ms FROM pages WHERE project_id = ? AND url = ? AND at_ms >= ? AND at_ms < ?
                 ORDER BY at_ms DESC LIMIT 1) p JOIN sessions s ON s.id = p.session_id"""

_VITALS_OLD = """SELECT url, count(*) AS n,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'LCP') AS lcp,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'INP'),
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'CLS')
            FROM vitals WHERE project_id = ? AND at_ms >= ? AND at_ms < ? AND url IS NOT NULL
            GROUP BY url ORDER BY lcp DESC NULLS LAST LIMIT 10"""
_VITALS_NEW = """WITH slow AS (
                SELECT url, quantile_cont(value, 0.75) AS lcp FROM vitals
                WHERE project_id = $1 AND at_ms >= $2 AND at_ms < $3 AND url IS NOT NULL AND name = 'LCP'
                GROUP BY url ORDER BY lcp DESC LIMIT 10)
            SELECT v.url, count(*) AS n, any_value(slow.lcp) AS lcp,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'INP'),
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'CLS')
            FROM vitals v JOIN slow USING (url) WHERE v.project_id = $1 AND v.at_ms >= $2 AND v.at_ms < $3
            GROUP BY v.url ORDER BY lcp DESC NULLS LAST"""

REWRITES: list[Rewrite] = [
    Rewrite("sessions: no filter", "ORDER BY", "project_id IN (SELECT unnest(?)) -> list_contains(?, project_id)",
            _LIST_CONTAINS),
    Rewrite("sessions: device=mobile", "ORDER BY", "project_id IN (SELECT unnest(?)) -> list_contains(?, project_id)",
            _LIST_CONTAINS),
    Rewrite("sessions: deep page", "ORDER BY", "project_id IN (SELECT unnest(?)) -> list_contains(?, project_id)",
            _LIST_CONTAINS),
    Rewrite("sessions: deep page", "ORDER BY", "the same, and started_ms <= ? beside (started_ms, id) < (?, ?)",
            _both(_LIST_CONTAINS, _keyset_rewrite)),
    Rewrite("sessions: url=", "count(*)", "urls ILIKE ? ESCAPE -> contains(lower(urls), lower(?))", _url_rewrite),
    Rewrite("sessions: url=", "ORDER BY", "the same, and list_contains(?, project_id)", _both(_url_rewrite, _LIST_CONTAINS)),
    Rewrite("sessions: q=", "count(*)", "3 x ILIKE ? ESCAPE -> 3 x contains(lower(col), lower(?))", _q_rewrite),
    Rewrite("sessions: q=", "ORDER BY", "the same, and list_contains(?, project_id)", _both(_q_rewrite, _LIST_CONTAINS)),
    Rewrite("overview 30d", "count(DISTINCT visitor_id)", "count(DISTINCT visitor_id) -> approx_count_distinct",
            _replace("count(DISTINCT visitor_id)", "approx_count_distinct(visitor_id)"), exact=False),
    Rewrite("overview 30d", "FROM vitals", "p75 of LCP for every URL, INP and CLS only for the slowest 10",
            _replace(_VITALS_OLD, _VITALS_NEW)),
    Rewrite("funnel", "WITH s0", "url LIKE ? ESCAPE -> url LIKE ? (no ESCAPE clause)", _funnel_rewrite),
    Rewrite("heatmap", "JOIN sessions s", "join one session after LIMIT 1, not every view of the page",
            _replace(_SNAPSHOT_OLD, _SNAPSHOT_NEW)),
]


def _kind(rw: Rewrite) -> str:
    kinds = {"count(*)": "count", "ORDER BY": "page", "count(DISTINCT visitor_id)": "totals", "FROM vitals": "vitals",
             "WITH s0": "steps", "JOIN sessions s": "snapshot"}
    return kinds.get(rw.statement, rw.statement)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall()


def _values(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with list cells spread out, so `quantile(x, [a, b])` compares with two columns."""
    out = []
    for row in rows:
        flat: list[Any] = []
        for cell in row:
            flat += cell if isinstance(cell, list) else [cell]
        out.append(tuple(flat))
    return out


def _interleaved(a: Callable[[], object], b: Callable[[], object], reps: int) -> tuple[list[float], list[float]]:
    """Both timed in turns, so a noisy neighbour slows them alike."""
    stats.timed(a, 0)
    stats.timed(b, 0)
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(reps):
        ta += stats.timed(a, 1, warmups=0)
        tb += stats.timed(b, 1, warmups=0)
    return ta, tb


def run(data_dir: Path, info: synth.SynthInfo, reps: int = 10, markdown: bool = False) -> str:
    con = queries.read_only(synth.settings_for(data_dir).index_path)
    lines: list[list[str]] = []
    try:
        ctx = queries.prepare(con, info)
        cases = {c.name: c for c in (make(ctx) for make in queries.CASES)}
        for rw in REWRITES:
            case = next((c for name, c in cases.items() if name.startswith(rw.case)), None)
            if case is None:
                lines.append([rw.case, _kind(rw), rw.label, "—", "—", "—", "no such query"])
                continue
            recorder = queries.Recorder(con)
            case.call(recorder, ctx)
            found = [(s, p) for s, p in recorder.calls if rw.statement in s]
            if not found:
                lines.append([case.name, _kind(rw), rw.label, "—", "—", "—", "statement not found"])
                continue
            sql, params = _flat(found[0][0]), found[0][1]
            try:
                new_sql, new_params = rw.rewrite(sql, list(params))
            except LookupError:
                lines.append([case.name, _kind(rw), rw.label, "—", "—", "—", "the code changed; rewrite skipped"])
                continue
            before, after = _interleaved(lambda: _rows(con, sql, params), lambda: _rows(con, new_sql, new_params), reps)
            # sorted: a GROUP BY without ORDER BY may come back in any order
            same = sorted(_values(_rows(con, sql, params))) == sorted(_values(_rows(con, new_sql, new_params)))
            check = "same rows" if same else ("approximate" if not rw.exact else "DIFFERENT rows")
            lines.append([case.name, _kind(rw), rw.label, stats.ms(stats.p50(before)), stats.ms(stats.p50(after)),
                          f"{stats.p50(before) / stats.p50(after):.1f}×", check])
    finally:
        con.close()
    return stats.table(["query", "statement", "rewrite", "now p50", "rewrite p50", "speed-up", "result"], lines, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alternatives", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=synth.DEFAULT_SESSIONS)
    parser.add_argument("--data-root", type=Path, default=synth.DEFAULT_ROOT)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    data_dir, info = synth.ensure(args.data_root, args.sessions)
    print(run(data_dir, info, args.reps, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
