"""Clicks and scroll depth on one page, and a recording of that page to draw them over."""

from __future__ import annotations

import duckdb
import msgspec
import numpy as np

from sessionstory.index.database import one_row

CLICK_BIN_PX = 8  # clicks are binned to this grid (x in viewport-width units scaled to 1280 px)
X_SCALE = 1280


class ClickSpot(msgspec.Struct):
    x: float  # pageX / viewport width: 0..1, so stretched layouts line up
    y: int  # pageY, CSS pixels from the top of the document
    count: int
    rage: int
    dead: int


class ScrollBand(msgspec.Struct):
    depth: int  # 10, 20, ... 100 (% of the page height)
    sessions: int  # sessions whose deepest scroll on this page reached it


class Snapshot(msgspec.Struct):
    session_id: str
    at_ms: int  # offset from the session's first event at which the page is fully shown
    width: int
    height: int


class Heatmap(msgspec.Struct):
    url: str
    clicks: list[ClickSpot]
    scroll: list[ScrollBand]
    snapshot: Snapshot | None
    total_clicks: int
    sessions: int


def heatmap(cur: duckdb.DuckDBPyConnection, project_id: str, url: str, from_ms: int, to_ms: int) -> Heatmap:
    span = [project_id, url, from_ms, to_ms]
    where = "project_id = ? AND url = ? AND at_ms >= ? AND at_ms < ?"
    spots, total_clicks = _click_spots(cur, where, span)
    depths = cur.execute(
        f"""WITH deepest AS (SELECT session_id, max(depth) AS d FROM scroll_depths WHERE {where} GROUP BY session_id)
            SELECT band, count(*) FILTER (WHERE d >= band)
            FROM deepest, range(10, 101, 10) AS t(band) GROUP BY band ORDER BY band""",
        span,
    ).fetchall()
    sessions = one_row(cur.execute(f"SELECT count(DISTINCT session_id) FROM pages WHERE {where}", span))[0]
    return Heatmap(
        url=url,
        clicks=spots,
        scroll=[ScrollBand(depth=int(b), sessions=n) for b, n in depths],
        snapshot=_snapshot(cur, span),
        total_clicks=total_clicks,
        sessions=sessions,
    )


def _click_spots(cur: duckdb.DuckDBPyConnection, where: str, span: list[object]) -> tuple[list[ClickSpot], int]:
    """Clicks counted per grid cell, and the plain clicks in all. A busy page has thousands of cells:
    they come out as numpy columns (DuckDB hands 5,800 rows over as arrays in 35 ms, as tuples in 45)
    and become spots column by column, each distinct x rounded once (the grid is about 160 cells
    wide): 1.5 ms of Python against 5 a row at a time."""
    cells = cur.execute(
        f"""SELECT round(x::DOUBLE / vw * {X_SCALE} / {CLICK_BIN_PX}) AS bx, round(y / {CLICK_BIN_PX}) AS b_y,
                   count(*) FILTER (WHERE kind = 'click') AS clicks, count(*) FILTER (WHERE kind = 'rage_click') AS rage,
                   count(*) FILTER (WHERE kind = 'dead_click') AS dead
            FROM interactions WHERE {where} AND kind IN ('click', 'rage_click', 'dead_click') AND vw > 0
            GROUP BY bx, b_y""",
        span,
    ).fetchnumpy()
    columns = cells["bx"].tolist()
    x_of_column = {bx: round(bx * CLICK_BIN_PX / X_SCALE, 4) for bx in set(columns)}
    xs = [x_of_column[bx] for bx in columns]
    ys = (cells["b_y"] * CLICK_BIN_PX).astype(np.int64).tolist()
    counts = (cells["clicks"] + cells["rage"] + cells["dead"]).tolist()
    spots = list(map(ClickSpot, xs, ys, counts, cells["rage"].tolist(), cells["dead"].tolist()))
    return spots, int(cells["clicks"].sum())


def _snapshot(cur: duckdb.DuckDBPyConnection, span: list[object]) -> Snapshot | None:
    """The latest view of the page, a moment after it loaded (styles and fonts in place)."""
    # The latest view first, then its one session: joining every view of the page before the
    # LIMIT cost 13x more (bench.alternatives, 1M sessions).
    row = cur.execute(
        """SELECT p.session_id, p.at_ms - s.started_ms + 1000, p.at_ms
           FROM (SELECT session_id, at_ms FROM pages
                 WHERE project_id = ? AND url = ? AND at_ms >= ? AND at_ms < ?
                 ORDER BY at_ms DESC LIMIT 1) p
           JOIN sessions s ON s.id = p.session_id""",
        span,
    ).fetchone()
    if row is None:
        return None
    width, height = _viewport(cur, row[0], row[2])
    return Snapshot(session_id=row[0], at_ms=int(row[1]), width=width, height=height)


VIEWPORT_WINDOW_MS = 3_600_000


def _viewport(cur: duckdb.DuckDBPyConnection, session_id: str, at_ms: int) -> tuple[int, int]:
    """The viewport of the session's interaction nearest in time to `at_ms`. Looked for within an
    hour first, which lets the scan skip the row groups of other times (interactions are stored in
    time order); anything nearer than the nearest found there is there too, so the answer is the same."""
    nearest = """SELECT vw, vh FROM interactions WHERE session_id = ? AND vw > 0 {window}
                 ORDER BY abs(at_ms - ?) LIMIT 1"""
    size = cur.execute(nearest.format(window="AND at_ms >= ? AND at_ms <= ?"),
                       [session_id, at_ms - VIEWPORT_WINDOW_MS, at_ms + VIEWPORT_WINDOW_MS, at_ms]).fetchone()
    if size is None:
        size = cur.execute(nearest.format(window=""), [session_id, at_ms]).fetchone()
    return size if size else (1280, 800)


def page_urls(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int, limit: int = 50) -> list[tuple[str, int]]:
    """The most visited pages, to choose a heatmap from."""
    return cur.execute(
        """SELECT url, count(*) AS n FROM pages WHERE project_id = ? AND at_ms >= ? AND at_ms < ?
           GROUP BY url ORDER BY n DESC, url LIMIT ?""",
        [project_id, from_ms, to_ms, limit],
    ).fetchall()
