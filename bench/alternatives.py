"""The dashboard routes' statements beside alternatives that return the same rows, timed
on the same data in alternating runs: the evidence behind docs/performance.md.

Two kinds of alternative:
- **former**: the statement a change replaced. Timing it beside the current one shows what
  the change gained, measured in the same run (alternative ÷ current > 1: the change won).
- **candidate**: a rewrite not taken (yet). It is listed only while it says something the
  docs rely on; one that loses is deleted.

Each alternative is made from the statement the route really runs (captured as in
`queries.py`), so it stays tied to the current code; when the code has changed and the
text is no longer there, the line says so and is skipped. Results are compared row for
row. Nothing here changes the app.

    python -m bench.alternatives [--sessions N] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bench import queries, stats, synth
from sessionstory.index.sessions import TOTAL_CAP

Rewriter = Callable[[str, list[Any]], tuple[str, list[Any]]]


@dataclass
class Rewrite:
    case: str  # a query of queries.CASES (prefix of its name)
    statement: str | tuple[str, ...]  # a piece of the captured SQL that picks the statement (any of several)
    kind: str  # "former" | "candidate"
    label: str
    rewrite: Rewriter
    every: bool = False  # the current side is every statement picked, in turn (time windows tried one by one);
    # the alternative is made from the last of them
    agree: Callable[[list[Any], list[Any]], bool] | None = None  # current rows, alternative rows; None: the same rows


def _picks(rw: Rewrite, sql: str) -> bool:
    pieces = (rw.statement,) if isinstance(rw.statement, str) else rw.statement
    return any(piece in sql for piece in pieces)


def _flat(sql: str) -> str:
    return " ".join(sql.split())


def _replace(old: str, new: str, params: Callable[[list[Any]], list[Any]] = lambda p: p) -> Rewriter:
    old, new = _flat(old), _flat(new)

    def apply(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
        if old not in sql:
            raise LookupError(old)
        return sql.replace(old, new), params(p)
    return apply


def _whole(new: str) -> Rewriter:
    """The whole statement replaced, with the same parameters."""
    return lambda sql, p: (_flat(new), p)


def _both(*steps: Rewriter) -> Rewriter:
    def apply(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
        for step in steps:
            sql, p = step(sql, p)
        return sql, p
    return apply


def _like(text: str) -> str:
    """The ILIKE pattern the former filters bound: the text, escaped, between two %."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_param(p: list[Any], new: Callable[[str], list[Any]]) -> list[Any]:
    """Replace the filter's text parameter (the first plain string after the project ids), wherever
    the statement binds it (the capped count binds it once per range)."""
    text = next(v for v in p if isinstance(v, str))
    return [x for v in p for x in (new(v) if v == text else [v])]


def _one_capped_count(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
    """The capped count's two ranges side by side -> the former plain `LIMIT cap + 1` over the table."""
    match = re.search(r"SELECT 0 AS part (FROM sessions WHERE .*?) AND rowid >= \? AND rowid < \? LIMIT \?", sql)
    if match is None:
        raise LookupError("the capped count's ranges")
    own = len(p) // 2 - 3  # each range binds the filter's parameters, then its bounds and its half
    return f"SELECT count(*) FROM (SELECT 1 {match.group(1)} LIMIT ?)", [*p[:own], TOTAL_CAP + 1]


def _same_verdict(current: list[Any], former: list[Any]) -> bool:
    """Both find the cap's next match; or the ranges found fewer (the route then counts on after them),
    and the former count found at least as many."""
    found, counted = sum(n for _, n in current), former[0][0]
    return counted == TOTAL_CAP + 1 if found >= TOTAL_CAP + 1 else counted >= found


_FORMER_PROJECT = _replace("list_contains(?::VARCHAR[], project_id)", "project_id IN (SELECT unnest(?::VARCHAR[]))")
_FORMER_URL = _replace("contains(lower(urls), lower(?))", "urls ILIKE ? ESCAPE '\\'",
                       lambda p: _text_param(p, lambda t: [_like(t)]))
_FORMER_Q = _replace("contains(search_lower, ?)",
                     "(urls ILIKE ? ESCAPE '\\' OR search_text ILIKE ? ESCAPE '\\' OR user_id ILIKE ? ESCAPE '\\')",
                     lambda p: _text_param(p, lambda t: [_like(t)] * 3))
_Q_ON_THE_FLY = _replace("contains(search_lower, ?)",
                         "(contains(lower(urls), ?) OR contains(lower(search_text), ?) OR contains(lower(user_id), ?))",
                         lambda p: _text_param(p, lambda t: [t] * 3))
# keyset values are the last three parameters before LIMIT's: the bare bound's, then the row comparison's
_FORMER_KEYSET = _replace("started_ms <= ? AND (started_ms, id) < (?, ?)", "(started_ms, id) < (?, ?)",
                          lambda p: p[:-4] + p[-3:])

# the newest-first list looks in growing time windows: the window's bound is the last condition
# (when every window fell short, the route's last statement has none already: the alternative is then
# that statement alone, and the comparison shows what the windows tried in vain cost)


def _without_window(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
    if "AND started_ms >= ? ORDER BY" not in sql:
        return sql, p
    return sql.replace("AND started_ms >= ? ORDER BY", "ORDER BY"), p[:-2] + p[-1:]


_FORMER_VITALS = """SELECT url, count(*) AS n,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'LCP') AS lcp,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'INP'),
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'CLS')
            FROM vitals WHERE project_id = ? AND at_ms >= ? AND at_ms < ? AND url IS NOT NULL
            GROUP BY url ORDER BY lcp DESC NULLS LAST, url LIMIT 10"""
# The kept days' last statement computes p75s only for the pages that may be slowest; before it come
# the reads of the range's partial days at its edges (each page's values around its p75).
_KEPT_VITALS = ("list(value ORDER BY value) AS v", "list_contains(?::VARCHAR[], url)")


def _former_vitals(sql: str, p: list[Any]) -> tuple[str, list[Any]]:
    """The candidates' statement -> the former one over every URL, on the same span (its first three parameters)."""
    if _KEPT_VITALS[1] not in sql:
        raise LookupError(_KEPT_VITALS[1])
    return _flat(_FORMER_VITALS), p[:3]


_FORMER_SNAPSHOT = """SELECT p.session_id, p.at_ms - s.started_ms + 1000, p.at_ms
           FROM pages p JOIN sessions s ON s.id = p.session_id
           WHERE p.project_id = ? AND p.url = ? AND p.at_ms >= ? AND p.at_ms < ?
           ORDER BY p.at_ms DESC LIMIT 1"""
_FORMER_VIEWPORT = _replace("AND vw > 0 AND at_ms >= ? AND at_ms <= ?", "AND vw > 0", lambda p: [p[0], p[3]])

_FORMER_FUNNEL = _replace("WHERE p.at_ms >= ? AND p.url", "WHERE p.url", lambda p: p[:4] + p[5::2])

REWRITES: list[Rewrite] = [
    Rewrite("sessions: no filter", "ORDER BY", "former",
            "list_contains(?, project_id) -> project_id IN (SELECT unnest(?)) (last hour)", _FORMER_PROJECT),
    Rewrite("sessions: device=mobile", "ORDER BY", "former",
            "list_contains(?, project_id) -> project_id IN (SELECT unnest(?)), the whole table",
            _both(_FORMER_PROJECT, _without_window), every=True),
    Rewrite("sessions: no filter", "ORDER BY", "former", "the whole table, not the last hour first", _without_window,
            every=True),
    Rewrite("sessions: deep page", "ORDER BY", "former", "without the bare started_ms <= ? beside (started_ms, id) < (?, ?)",
            _both(_without_window, _FORMER_KEYSET), every=True),
    Rewrite("sessions: q=reading 'price', page 2", "ORDER BY", "former",
            "the whole table, not the last 1 h, 12 h, 6 days in turn", _without_window, every=True),
    Rewrite("sessions: url=", "count(*)", "former", "contains(lower(urls), lower(?)) -> urls ILIKE ? ESCAPE", _FORMER_URL),
    Rewrite("sessions: url=", "ORDER BY", "former", "the same, project_id IN (SELECT unnest(?)), the whole table",
            _both(_FORMER_URL, _FORMER_PROJECT, _without_window), every=True),
    Rewrite("sessions: q=", "count(*)", "former", "capped count: two ranges of rowids side by side -> one LIMIT 1,001",
            _one_capped_count, agree=_same_verdict),
    Rewrite("sessions: url=", "count(*)", "former", "capped count: two ranges of rowids side by side -> one LIMIT 1,001",
            _one_capped_count, agree=_same_verdict),
    Rewrite("sessions: q=", "count(*)", "former", "contains(search_lower, ?) -> 3 x ILIKE ? ESCAPE", _FORMER_Q),
    Rewrite("sessions: q=", "count(*)", "former", "contains(search_lower, ?) -> 3 x contains(lower(col), ?)",
            _Q_ON_THE_FLY),
    Rewrite("sessions: q=", "ORDER BY", "former", "3 x ILIKE ? ESCAPE, project_id IN (SELECT unnest(?)), the whole table",
            _both(_FORMER_Q, _FORMER_PROJECT, _without_window), every=True),
    Rewrite("overview 30d", _KEPT_VITALS, "former",
            "slowest pages: three p75s for every URL (now: kept days and the edges bound each p75; SQL only)",
            _former_vitals, every=True),
    Rewrite("funnel", "WITH s0", "former", "later steps without the bare p.at_ms >= ? (from the range's start)",
            _FORMER_FUNNEL),
    Rewrite("heatmap", "JOIN sessions s", "former", "snapshot: join every view of the page, then LIMIT 1",
            _whole(_FORMER_SNAPSHOT)),
    Rewrite("heatmap", "FROM interactions WHERE session_id", "former", "viewport: no time window around the view",
            _FORMER_VIEWPORT),
]


def _kind(rw: Rewrite) -> str:
    kinds = {"count(*)": "count", "ORDER BY": "page", "count(DISTINCT visitor_id)": "totals", _KEPT_VITALS: "vitals",
             "GROUP BY d)": "per day", "JOIN sessions s": "snapshot", "WITH s0": "steps", "FROM interactions WHERE session_id": "viewport"}
    return kinds.get(rw.statement, str(rw.statement))


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
                lines.append([rw.case, _kind(rw), rw.kind, rw.label, "—", "—", "—", "no such query"])
                continue
            recorder = queries.Recorder(con)
            case.call(recorder, ctx)
            found = [(s, p) for s, p, _ in recorder.calls if _picks(rw, s)]
            if not found:
                lines.append([case.name, _kind(rw), rw.kind, rw.label, "—", "—", "—", "statement not found"])
                continue
            current = [(_flat(s), p) for s, p in (found if rw.every else found[:1])]
            sql, params = current[-1]
            try:
                new_sql, new_params = rw.rewrite(sql, list(params))
            except LookupError:
                lines.append([case.name, _kind(rw), rw.kind, rw.label, "—", "—", "—", "the code changed; skipped"])
                continue

            def run_current(current: list[tuple[str, Any]] = current) -> list[tuple[Any, ...]]:
                """Every picked statement in turn, as the route runs them; the last one's rows."""
                rows: list[tuple[Any, ...]] = []
                for s, p in current:
                    rows = _rows(con, s, p)
                return rows

            now, alt = _interleaved(run_current, lambda: _rows(con, new_sql, new_params), reps)
            # sorted: a GROUP BY without ORDER BY may come back in any order
            current_rows, alternative_rows = run_current(), _rows(con, new_sql, new_params)
            if rw.agree is not None:
                check = "same total" if rw.agree(current_rows, alternative_rows) else "DIFFERENT total"
            else:
                same = sorted(_values(current_rows)) == sorted(_values(alternative_rows))
                check = "same rows" if same else "DIFFERENT rows"
            lines.append([case.name, _kind(rw), rw.kind, rw.label, stats.ms(stats.p50(now)), stats.ms(stats.p50(alt)),
                          f"{stats.p50(alt) / stats.p50(now):.2f}", check])
    finally:
        con.close()
    return stats.table(["query", "statement", "kind", "alternative", "current p50", "alternative p50",
                        "alternative ÷ current", "result"], lines, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alternatives", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=synth.DEFAULT_SESSIONS)
    parser.add_argument("--data-root", type=Path, default=synth.DEFAULT_ROOT)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    data_dir, info = synth.ensure(args.data_root, args.sessions)
    load = os.getloadavg()[0]
    table = run(data_dir, info, args.reps, args.markdown)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {info.sessions:,} sessions; {args.reps} runs of each, in turns; "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
