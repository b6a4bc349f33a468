"""A seeded generator of a data directory holding N synthetic sessions of a web shop.

The data directory is made the way the app makes it (`DataDir`: schema, log, one
project, one user with an API token); then the index's session tables are filled in
bulk with DuckDB SQL. Every random draw is `hash(row, purpose, seed)`, so the same N and
seed give the same visitors, paths, clicks and errors whatever the thread count; only
the times are laid out back from the moment of generation (the last 30 days, on a UTC
daily cycle), so a few sessions near the edges differ from one generation to the next.

What the numbers rest on:
- per-event shapes from the real rrweb recordings of the /demo page
  (`sessionstory.demo.recordings()` through `sessionstory.facts.batch_facts`): events
  per page load, mouse-interaction events per click, other incremental events per
  active second, clicks per page (see `calibrate()`);
- the site, its visitors and their failures from `shop.py` (a 200-path shop, a
  browser/OS/device mix parsed by the real user-agent parser, 50 error kinds with real
  fingerprints drawn Zipf-like);
- session times over the last 30 days (denser towards today, with a daily cycle), log-normal
  durations (median 75 s), ~4 pages a session, ~20 % of visitors identified.

The rows only exist in the index: the segment log holds the project, the user and the
token, not these sessions, so they cannot be replayed and `sessionstory reindex` on such
a directory drops them. Rows are inserted in time order, as ingest would append them.

    python -m bench.synth --sessions 1000000 --out /tmp/bench-1m
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import msgspec

from bench import shop
from sessionstory.config import Settings, load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.demo import recordings
from sessionstory.events import EventType, IncrementalSource, event_decoder
from sessionstory.facts import batch_facts
from sessionstory.index.schema import SCHEMA_VERSION

DEFAULT_SESSIONS = 1_000_000
# generated data directories are kept here, one per (sessions, seed, version), and reused
DEFAULT_ROOT = Path(os.environ.get("SESSIONSTORY_BENCH_DIR") or "/tmp/sessionstory-bench")
SEED = 20_260_126
VERSION = 3  # bump when the generator changes: cached data directories of another version are rebuilt
DAY_MS = 86_400_000
SPAN_DAYS = 30
DAILY_PHASE_UTC = 14  # phase of the daily cycle: traffic peaks ~2 h later, 16-18 h UTC (Europe and America awake)
DAILY_AMPLITUDE = 0.6
EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"
INFO_FILE = "bench.json"  # written last: a directory without it is an unfinished one

Say = Callable[[str], None]


class SynthInfo(msgspec.Struct):
    """What a generated data directory holds; kept in bench.json beside the index."""

    version: int
    sessions: int
    seed: int
    anchor_ms: int  # "now" at generation: sessions lie in the 30 days before it
    project_id: str
    email: str
    password: str
    token: str
    seconds: float
    index_bytes: int
    rows: dict[str, int]
    calibration: dict[str, float]
    schema: int = 0  # the index's SCHEMA_VERSION: the server sets an index of another version aside


# -- shapes from the real recordings ------------------------------------------------


def calibrate() -> dict[str, float]:
    """Per-event shapes measured on the bundled real recordings of the /demo page."""
    pages = clicks = mouse = other = total = 0
    seconds = 0.0
    sessions = recordings()
    for events in sessions:
        total += len(events)
        decoded = [event_decoder.decode(msgspec.json.encode(e)) for e in events]
        facts = batch_facts(decoded)
        pages += len(facts.pages)
        clicks += len(facts.clicks)
        seconds += (facts.last_ms - facts.first_ms) / 1000
        for e in events:
            if e["type"] != EventType.INCREMENTAL_SNAPSHOT:
                continue
            if e["data"].get("source") == IncrementalSource.MOUSE_INTERACTION:
                mouse += 1
            else:
                other += 1
    incremental = mouse + other
    return {
        "events_per_page": round((total - incremental) / pages, 2),  # Meta + FullSnapshot
        "events_per_click": round(mouse / max(clicks, 1), 2),  # mousedown, mouseup, click, focus...
        "events_per_active_s": round(other / max(seconds, 1e-3), 2),  # moves, scrolls, mutations
        "clicks_per_page": round(clicks / max(pages, 1), 2),
        "recordings": len(sessions),
    }


# -- the generator ------------------------------------------------------------------

# Uniform draws in [0, 1): 53 bits of hash(row, purpose, seed). `nrm` is a standard normal (Box-Muller).
# Purposes are written as names ('dur') and turned into numbers by `_purposes`: hashing
# integers is several times cheaper than hashing a string per row.
_MACROS = """
CREATE OR REPLACE TEMP MACRO u(i, k) AS ((hash(i, k, {seed}) >> 11)::DOUBLE / 9007199254740992.0);
CREATE OR REPLACE TEMP MACRO u2(i, j, k) AS ((hash(i, j, k, {seed}) >> 11)::DOUBLE / 9007199254740992.0);
CREATE OR REPLACE TEMP MACRO h2(i, j, k) AS hash(i, j, k, {seed});
CREATE OR REPLACE TEMP MACRO nrm(i, j, k) AS
    (sqrt(-2 * ln(1 - u2(i, j, 2 * k))) * cos(2 * pi() * u2(i, j, 2 * k + 1)));
CREATE OR REPLACE TEMP MACRO geo(x, mean) AS floor(-ln(1 - x) * mean);
-- a version-4 UUID made of hashes, as the SDK's ids look (printf is cheaper than md5 here)
CREATE OR REPLACE TEMP MACRO hid(i, k) AS printf('%08x-%04x-4%03x-%x%03x-%012x',
    hash(i, k, {seed}) >> 32, (hash(i, k, {seed}) >> 16) & 65535, hash(i, k + 1, {seed}) & 4095,
    8 + ((hash(i, k + 1, {seed}) >> 12) & 3), (hash(i, k + 1, {seed}) >> 14) & 4095, hash(i, k + 2, {seed}) >> 16);
"""


_PURPOSE = re.compile(r"(\b(?:u|u2|h2|nrm)\([^()']*?,\s*)'([a-z][a-z0-9_.]*)'\)")


def _purposes(sql: str) -> str:
    return _PURPOSE.sub(lambda m: f"{m.group(1)}{zlib.crc32(m.group(2).encode()) % 1_000_000})", sql)


def _session_sql(n: int, anchor_ms: int) -> str:
    visitors = max(1, round(n * 0.7))
    span = SPAN_DAYS * DAY_MS
    phase = DAILY_PHASE_UTC / 24
    return f"""
CREATE OR REPLACE TEMP TABLE gs AS
WITH base AS (
    SELECT i,
           -- 0 = 30 days ago, 1 = now; 45 % uniform, 55 % growing linearly: more recent = denser
           {anchor_ms - span} + (CASE WHEN u(i, 'when') < 0.45 THEN u(i, 'when2') ELSE sqrt(u(i, 'when2')) END
               * {span})::BIGINT AS even_ms,
           least(4 * 3600 * 1000, greatest(1500, exp(ln(75000) + 1.25 * nrm(i, 0, 'dur'))))::BIGINT AS full_dur,
           floor({visitors} * power(u(i, 'visitor'), 1.3))::BIGINT AS v,
           u(i, 'funnel') AS fu
    FROM range({n}) t(i)
), timed AS (
    -- a daily cycle: within each UTC day, x -> x - A (sin 2pi(x - phi) + sin 2pi phi) / 2pi keeps
    -- midnight in place and gives a density 1 / (1 - A cos 2pi(x - phi)): busiest a little after {DAILY_PHASE_UTC}:00 UTC
    SELECT *, (even_ms // {DAY_MS}) * {DAY_MS} + ((x - {DAILY_AMPLITUDE} * (sin(2 * pi() * (x - {phase}))
               + sin(2 * pi() * {phase})) / (2 * pi())) * {DAY_MS})::BIGINT AS warped_ms
    FROM (SELECT *, (even_ms % {DAY_MS}) / {DAY_MS}.0 AS x FROM base)
), shaped AS (
    SELECT *, least(full_dur, {anchor_ms} - started_ms) AS dur,
           CASE WHEN fu < 0.86 THEN 0 WHEN fu < 0.92 THEN 1 WHEN fu < 0.96 THEN 2 WHEN fu < 0.975 THEN 3 ELSE 4 END
               AS tail
    FROM (SELECT *, CASE WHEN warped_ms < {anchor_ms} - 5000 THEN warped_ms ELSE even_ms END AS started_ms FROM timed)
), s AS (
    SELECT *,
           -- pages: 1 + geometric, more for longer sessions; room for the funnel tail and a product before it
           least(40, greatest(CASE WHEN tail > 0 THEN tail + 1 ELSE 1 END,
               1 + geo(u(i, 'pages'), 3.0 * power(dur / 75000.0, 0.35))))::INTEGER AS n_pages
    FROM shaped
)
SELECT s.i, hid(s.i, 11) AS sid, s.v, hid(s.v, 21) AS visitor_id,
       s.started_ms, s.started_ms + s.dur AS ended_ms, s.dur, s.n_pages, s.tail,
       CASE WHEN u(s.v, 'identified') < 0.2 THEN
           CASE WHEN u(s.v, 'idkind') < 0.6 THEN printf('usr_%010x', h2(s.v, 0, 'user') >> 24)
                ELSE 'customer' || s.v || '@mail.example.com' END END AS user_id,
       a.ua, a.browser, a.os, a.device, c.country, r.referrer,
       vp.vw, vp.vh,
       u(s.i, 'utm') < 0.18 AS utm,
       (CASE WHEN u(s.i, 'err') < 0.08 THEN 1 + geo(u(s.i, 'nerr'), 0.55) ELSE 0 END)::INTEGER AS n_err,
       (CASE WHEN u(s.i, 'err') < 0.08 AND u(s.i, 'errclick') < 0.3 THEN 1 ELSE 0 END)::INTEGER AS n_errclick,
       (CASE WHEN u(s.i, 'rage') < 0.03 THEN 1 + geo(u(s.i, 'nrage'), 0.6) ELSE 0 END)::INTEGER AS n_rage,
       (CASE WHEN u(s.i, 'dead') < 0.05 THEN 1 + geo(u(s.i, 'ndead'), 0.5) ELSE 0 END)::INTEGER AS n_dead,
       (CASE WHEN u(s.i, 'thrash') < 0.015 THEN 1 ELSE 0 END)::INTEGER AS n_thrash,
       (CASE WHEN s.n_pages > 1 AND u(s.i, 'qback') < 0.04 THEN 1 ELSE 0 END)::INTEGER AS n_qback,
       (CASE WHEN u(s.i, 'xscroll') < 0.01 THEN 1 ELSE 0 END)::INTEGER AS n_xscroll,
       (CASE WHEN u(s.i, 'cwarn') < 0.12 THEN 1 + geo(u(s.i, 'ncwarn'), 0.8) ELSE 0 END)::INTEGER AS n_cwarn,
       (CASE WHEN u(s.i, 'cerr') < 0.05 THEN 1 + geo(u(s.i, 'ncerr'), 0.4) ELSE 0 END)::INTEGER AS n_cerr,
       (CASE WHEN u(s.i, 'net') < 0.04 THEN 1 + geo(u(s.i, 'nnet'), 0.4) ELSE 0 END)::INTEGER AS n_net,
       (s.dur * (0.15 + 0.7 * u(s.i, 'active')))::BIGINT AS active_ms
FROM s
JOIN w_agent a ON a.slot = h2(s.v, 0, 'ua') % {shop.SLOTS}
JOIN w_country c ON c.slot = h2(s.v, 0, 'cc') % {shop.SLOTS}
JOIN w_referrer r ON r.slot = h2(s.i, 0, 'ref') % {shop.SLOTS}
JOIN viewports vp ON vp.device = a.device
     AND vp.slot = h2(s.v, 0, 'vp') % {shop.VIEWPORT_SLOTS}
"""


_PAGES_SQL = f"""
CREATE OR REPLACE TEMP TABLE gp AS
WITH expanded AS (
    SELECT i, sid, started_ms, ended_ms, dur, n_pages, tail, device, vw, vh, utm, referrer AS first_referrer,
           unnest(range(n_pages)) AS j
    FROM gs
), chosen AS (
    SELECT *,
           u2(i, j, 'kind') AS uk, u2(i, j, 'which') AS uw, u2(i, j, 'idx') AS ui,
           {shop.PRODUCTS[0]} + floor({shop.PRODUCTS[1]} * power(u2(i, j, 'idx'), 1.6))::INTEGER AS product,
           CASE WHEN j = 0 THEN started_ms
                ELSE started_ms + floor(dur * (j - 0.5 + u2(i, j, 'at')) / n_pages)::BIGINT END AS at_ms
    FROM expanded
), routed AS (
    SELECT *,
           CASE
               WHEN j >= n_pages - tail THEN {shop.FUNNEL_FIRST} + (j - (n_pages - tail))
               WHEN tail > 0 AND j = n_pages - tail - 1 THEN product
               WHEN j = 0 THEN CASE
                   WHEN uw < 0.35 THEN 0
                   WHEN uw < 0.60 THEN product
                   WHEN uw < 0.75 THEN {shop.CATEGORY_IDS[0]} + floor(15 * power(ui, 1.5))::INTEGER
                   WHEN uw < 0.90 THEN {shop.BLOG_IDS[0]} + floor(40 * power(ui, 2))::INTEGER
                   WHEN uw < 0.93 THEN {shop.SEARCH_ID}
                   ELSE {shop.STATIC_IDS[0]} + floor(19 * power(ui, 1.3))::INTEGER END
               ELSE CASE
                   WHEN uw < 0.08 THEN 0
                   WHEN uw < 0.53 THEN product
                   WHEN uw < 0.73 THEN {shop.CATEGORY_IDS[0]} + floor(15 * power(ui, 1.5))::INTEGER
                   WHEN uw < 0.81 THEN {shop.SEARCH_ID}
                   WHEN uw < 0.91 THEN {shop.BLOG_IDS[0]} + floor(40 * power(ui, 2))::INTEGER
                   ELSE {shop.STATIC_IDS[0]} + floor(19 * power(ui, 1.3))::INTEGER END
           END AS path_id
    FROM chosen
), located AS (
    SELECT r.*, s.path, s.ptype, s.title,
           (SELECT items FROM lists WHERE name = 'search')[1 + (h2(r.i, r.j, 'term') % {len(shop.SEARCH_TERMS)})::BIGINT] AS term,
           list_filter([
               CASE WHEN s.ptype = 'product' AND u2(r.i, r.j, 'variant') < 0.12
                    THEN 'variant=' || (1 + h2(r.i, r.j, 'variant') % 6) END,
               CASE WHEN s.ptype = 'category' AND u2(r.i, r.j, 'cpage') < 0.25
                    THEN 'page=' || (2 + h2(r.i, r.j, 'cpage') % 3) END,
               CASE WHEN s.ptype = 'category' AND u2(r.i, r.j, 'sort') < 0.10 THEN 'sort=price_asc' END,
               CASE WHEN r.j = 0 AND r.utm
                    THEN (SELECT items FROM lists WHERE name = 'utm')[1 + (h2(r.i, 0, 'utm') % {len(shop.UTM)})::BIGINT] END
           ], x -> x IS NOT NULL) AS query
    FROM routed r JOIN site s USING (path_id)
)
SELECT i, sid, j, at_ms, path_id, ptype, title, device, vw, vh,
       '{shop.ORIGIN}' || path
           || CASE WHEN ptype = 'search' THEN '?q=' || replace(term, ' ', '+')
                   || CASE WHEN len(query) > 0 THEN '&' || array_to_string(query, '&') ELSE '' END
                   WHEN len(query) > 0 THEN '?' || array_to_string(query, '&') ELSE '' END AS url,
       CASE WHEN j = 0 THEN 'load' WHEN uk < 0.20 THEN 'load' WHEN uk < 0.95 THEN 'push' ELSE 'pop' END AS kind,
       -- until the next page (its time drawn the same way as at_ms), or the session's end
       CASE WHEN j + 1 < n_pages THEN started_ms + floor(dur * (j + 0.5 + u2(i, j + 1, 'at')) / n_pages)::BIGINT
            ELSE ended_ms END - at_ms AS dwell,
       first_referrer
FROM located
"""

_PAGES_FINISH = """
CREATE OR REPLACE TEMP TABLE gp2 AS
SELECT gp.*, CASE WHEN j = 0 THEN first_referrer ELSE lag(url) OVER (PARTITION BY sid ORDER BY j) END AS referrer,
       pt.click_mean, pt.nhot, CASE WHEN device = 'desktop' THEN pt.h_desktop ELSE pt.h_mobile END AS height
FROM gp JOIN ptypes pt USING (ptype);
DROP TABLE gp;
ALTER TABLE gp2 RENAME TO gp;
"""

# A click at hotspot k of the page: x from the hotspot's place (phones lay out one
# column), y from its place (further down on a phone), both with a little scatter.
_SPOT_X = ("least(vw - 1, greatest(0, round(vw * (CASE WHEN device = 'desktop' THEN hs.fx "
           "ELSE 0.5 + 0.6 * (hs.fx - 0.5) END + 0.04 * nrm(p.i, {r}, 'x')))))::INTEGER")
_SPOT_Y = ("greatest(0, round(hs.y * CASE WHEN device = 'desktop' THEN 1 ELSE 2.1 END "
           "+ 18 * nrm(p.i, {r}, 'y')))::INTEGER")


def _clicks_sql(project_id: str) -> str:
    r = "p.j * 64 + c"
    return f"""
INSERT INTO interactions
SELECT '{project_id}', p.sid, p.at_ms + floor(p.dwell * (c + u2(p.i, {r}, 'cat')) / (p.n_c + 1))::BIGINT,
       'click', p.url, hs.selector, hs.text,
       {_SPOT_X.format(r=r)}, {_SPOT_Y.format(r=r)}, p.vw, p.vh
FROM (SELECT *, least(30, geo(u2(i, j, 'clicks'), click_mean))::INTEGER AS n_c,
             unnest(range(least(30, geo(u2(i, j, 'clicks'), click_mean))::INTEGER)) AS c FROM gp) p
JOIN hotspots hs ON hs.ptype = p.ptype AND hs.k = h2(p.i, {r}, 'spot') % p.nhot
ORDER BY 3
"""


def _signals_sql(project_id: str) -> str:
    """Frustration signals: a row each, as signals.py writes them (rage/dead/error clicks carry the click)."""
    kinds = [("rage_click", "n_rage", True), ("dead_click", "n_dead", True), ("error_click", "n_errclick", True),
             ("thrashed_cursor", "n_thrash", False), ("quick_back", "n_qback", False),
             ("excessive_scroll", "n_xscroll", False)]
    parts = []
    for kind, column, clicked in kinds:
        r = "1000 + s.k"
        spot = (f"hs.selector, hs.text, {_SPOT_X.format(r=r)}, {_SPOT_Y.format(r=r)}, p.vw, p.vh" if clicked
                else "NULL, NULL, NULL, NULL, NULL, NULL")
        join = "JOIN hotspots hs ON hs.ptype = p.ptype AND hs.k = h2(p.i, 1000 + s.k, 'spot') % p.nhot" if clicked else ""
        parts.append(f"""
SELECT '{project_id}', s.sid, p.at_ms + floor(p.dwell * u2(p.i, 1000 + s.k, 'sat'))::BIGINT, '{kind}', p.url, {spot}
FROM (SELECT sid, i, n_pages, unnest(range({column})) AS k FROM gs WHERE {column} > 0) s
JOIN gp p ON p.sid = s.sid AND p.j = h2(s.i, s.k, '{kind}') % s.n_pages
{join}""")
    return f"INSERT INTO interactions SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 3"


def _inputs_sql(project_id: str) -> str:
    return f"""
INSERT INTO interactions
SELECT '{project_id}', p.sid, p.at_ms + floor(p.dwell * (f.k + 1) / 6)::BIGINT, 'input', p.url, f.selector, f.name,
       NULL, NULL, NULL, NULL
FROM gp p JOIN form_inputs f ON f.ptype = p.ptype
WHERE u2(p.i, p.j * 16 + f.k, 'typed') < 0.85
ORDER BY 3
"""


def _errors_sql(project_id: str) -> str:
    return f"""
CREATE OR REPLACE TEMP TABLE ge AS
SELECT '{project_id}' AS project_id, s.sid AS session_id, s.visitor_id,
       p.at_ms + floor(p.dwell * u2(s.i, e, 'eat'))::BIGINT AS at_ms, p.url, k.kind,
       replace(k.message, '{{n}}', (h2(s.i, e, 'num') % 9000 + 100)::VARCHAR) AS message,
       replace(k.stack, '{{n}}', (h2(s.i, e, 'col') % 90000 + 1000)::VARCHAR) AS stack,
       replace(k.source, '{{n}}', (h2(s.i, e, 'num') % 9000 + 100)::VARCHAR) AS source, k.fingerprint
FROM (SELECT i, sid, visitor_id, n_pages, unnest(range(n_err)) AS e FROM gs WHERE n_err > 0) s
JOIN gp p ON p.sid = s.sid AND p.j = h2(s.i, s.e, 'epage') % s.n_pages
-- Zipf-like ranks: floor(51^u) gives rank r with probability ln((r+1)/r) / ln 51
JOIN error_kinds k ON k.rank = least(50, floor(power(51, u2(s.i, s.e, 'rank'))))::INTEGER
"""


def _console_sql(project_id: str) -> str:
    parts = []
    for level, column, kinds in (("warn", "n_cwarn", len(shop.CONSOLE_WARNINGS)),
                                 ("error", "n_cerr", len(shop.CONSOLE_ERRORS))):
        parts.append(f"""
SELECT '{project_id}' AS project_id, s.sid AS session_id,
       p.at_ms + floor(p.dwell * u2(s.i, s.k, '{level}at'))::BIGINT AS at_ms, p.url, '{level}' AS level,
       replace(ck.message, '{{n}}', (h2(s.i, s.k, '{level}n') % 4000 + 50)::VARCHAR) AS message
FROM (SELECT i, sid, n_pages, unnest(range({column})) AS k FROM gs WHERE {column} > 0) s
JOIN gp p ON p.sid = s.sid AND p.j = h2(s.i, s.k, '{level}page') % s.n_pages
JOIN console_kinds ck ON ck.level = '{level}' AND ck.k = h2(s.i, s.k, '{level}kind') % {kinds}""")
    return f"CREATE OR REPLACE TEMP TABLE gc AS {' UNION ALL '.join(parts)}"


def _network_sql(project_id: str) -> str:
    return f"""
INSERT INTO network
SELECT '{project_id}', s.sid, p.at_ms + floor(p.dwell * u2(s.i, s.k, 'nat'))::BIGINT, p.url, nk.method,
       '{shop.ORIGIN}' || replace(nk.path, '{{n}}', (h2(s.i, s.k, 'nn') % 900 + 1)::VARCHAR), nk.status,
       (CASE WHEN nk.status IN (0, 504) THEN 10000 ELSE 40 + geo(u2(s.i, s.k, 'ndur'), 300) END)::INTEGER,
       CASE WHEN u2(s.i, s.k, 'ntype') < 0.8 THEN 'fetch' ELSE 'xhr' END, nk.error
FROM (SELECT i, sid, n_pages, unnest(range(n_net)) AS k FROM gs WHERE n_net > 0) s
JOIN gp p ON p.sid = s.sid AND p.j = h2(s.i, s.k, 'npage') % s.n_pages
JOIN network_kinds nk ON nk.k = h2(s.i, s.k, 'nkind') % {len(shop.NETWORK_FAILURES)}
ORDER BY 3
"""


# Web vitals of each full page load, reported when the page is hidden. Medians and
# spreads after the public CrUX distributions: phones slower, heavy pages slower.
_VITALS_SQL = """
CREATE OR REPLACE TEMP TABLE gv AS
WITH loads AS (
    SELECT p.*, CASE ptype WHEN 'home' THEN 1.3 WHEN 'product' THEN 1.2 WHEN 'blog' THEN 1.1
                           WHEN 'category' THEN 1.15 ELSE 0.9 END
                * CASE WHEN device = 'desktop' THEN 1 ELSE 1.45 END AS slow
    FROM gp p WHERE kind = 'load'
), measured AS (
    SELECT sid, i, j, at_ms + greatest(0, dwell - 50) AS at_ms, url, m.name,
           CASE m.name
               WHEN 'LCP' THEN round(exp(ln(1600 * slow) + 0.55 * nrm(i, j, 'lcp')))
               WHEN 'FCP' THEN round(exp(ln(1600 * slow) + 0.55 * nrm(i, j, 'lcp')) * (0.45 + 0.35 * u2(i, j, 'fcp')))
               WHEN 'TTFB' THEN round(exp(ln(CASE WHEN device = 'desktop' THEN 320 ELSE 520 END) + 0.6 * nrm(i, j, 'ttfb')))
               WHEN 'CLS' THEN round(exp(ln(0.03) + 1.3 * nrm(i, j, 'cls')), 4)
               ELSE round(exp(ln(110 * slow) + 0.7 * nrm(i, j, 'inp')))
           END AS value
    FROM loads, (VALUES ('LCP'), ('FCP'), ('TTFB'), ('CLS'), ('INP')) m(name)
    WHERE m.name <> 'INP' OR u2(i, j, 'hasinp') < 0.7
)
SELECT *, CASE
    WHEN value <= CASE name WHEN 'LCP' THEN 2500 WHEN 'FCP' THEN 1800 WHEN 'TTFB' THEN 800 WHEN 'CLS' THEN 0.1 ELSE 200 END
        THEN 'good'
    WHEN value <= CASE name WHEN 'LCP' THEN 4000 WHEN 'FCP' THEN 3000 WHEN 'TTFB' THEN 1800 WHEN 'CLS' THEN 0.25 ELSE 500 END
        THEN 'needs-improvement'
    ELSE 'poor' END AS rating
FROM measured
"""


def _customs_sql(project_id: str) -> str:
    return f"""
CREATE OR REPLACE TEMP TABLE gx AS
SELECT '{project_id}' AS project_id, p.sid AS session_id, p.at_ms + floor(p.dwell * 0.6)::BIGINT AS at_ms, p.url,
       ck.name,
       replace(replace(replace(ck.props, '{{p}}', (1 + h2(p.i, p.j, 'xp') % 120)::VARCHAR),
                       '{{v}}', (19 + h2(p.i, p.j, 'xv') % 380)::VARCHAR),
               '{{q}}', (1 + h2(p.i, p.j, 'xq') % 4)::VARCHAR) AS props
FROM gp p JOIN custom_kinds ck ON ck.ptype = p.ptype
WHERE u2(p.i, p.j, 'x' || ck.name) < ck.p
"""


def _sessions_sql(project_id: str, cal: dict[str, float]) -> str:
    """The summary rows, from the fact rows, as apply.py would have folded them."""
    return f"""
INSERT INTO sessions
WITH page_facts AS (
    SELECT sid,
           arg_min(url, j) AS entry_url, arg_max(url, j) AS exit_url, min(at_ms) AS entry_ms, max(at_ms) AS exit_ms,
           string_agg(url, chr(10) ORDER BY j) FILTER (WHERE first_url) AS urls
    FROM (SELECT sid, j, url, at_ms, row_number() OVER (PARTITION BY sid, url ORDER BY j) = 1 AS first_url FROM gp)
    GROUP BY sid
), texts AS (
    -- search_text: page titles, then error messages, then console messages, each once, at most 4000 characters
    SELECT sid, string_agg(text, chr(10) ORDER BY grp, t_at) FILTER (WHERE keep) AS search_text
    FROM (
        SELECT *, sum(length(text) + 1) OVER (PARTITION BY sid ORDER BY grp, t_at
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) <= 4001 AS keep
        FROM (
            SELECT *, row_number() OVER (PARTITION BY sid, text ORDER BY grp, t_at) AS nth
            FROM (SELECT sid, 0 AS grp, at_ms AS t_at, title AS text FROM gp
                  UNION ALL SELECT session_id, 1, at_ms, replace(message, chr(10), ' ') FROM ge
                  UNION ALL SELECT session_id, 2, at_ms, replace(message, chr(10), ' ') FROM gc)
        ) WHERE nth = 1
    ) GROUP BY sid
), click_facts AS (
    SELECT session_id AS sid, count(*) FILTER (WHERE kind = 'click') AS clicks,
           count(*) FILTER (WHERE kind = 'rage_click') AS rage, count(*) FILTER (WHERE kind = 'dead_click') AS dead,
           count(*) FILTER (WHERE kind = 'error_click') AS errclick,
           count(*) FILTER (WHERE kind = 'thrashed_cursor') AS thrash,
           count(*) FILTER (WHERE kind = 'quick_back') AS qback,
           count(*) FILTER (WHERE kind = 'excessive_scroll') AS xscroll
    FROM interactions GROUP BY session_id
), error_facts AS (SELECT session_id AS sid, count(*) AS n FROM ge GROUP BY session_id),
console_facts AS (
    SELECT session_id AS sid, count(*) FILTER (WHERE level = 'error') AS errors,
           count(*) FILTER (WHERE level = 'warn') AS warnings
    FROM gc GROUP BY session_id
), network_facts AS (SELECT session_id AS sid, count(*) AS n FROM network GROUP BY session_id),
vital_facts AS (
    SELECT sid, max(value) FILTER (WHERE name = 'LCP') AS lcp, max(value) FILTER (WHERE name = 'INP') AS inp,
           max(value) FILTER (WHERE name = 'CLS') AS cls, max(value) FILTER (WHERE name = 'FCP') AS fcp,
           max(value) FILTER (WHERE name = 'TTFB') AS ttfb
    FROM gv GROUP BY sid
), custom_facts AS (SELECT session_id AS sid, list_sort(list_distinct(list(name))) AS names FROM gx GROUP BY session_id)
SELECT s.sid, '{project_id}', s.visitor_id, s.user_id, s.started_ms, s.ended_ms, s.active_ms,
       -- events: Meta + FullSnapshot per page, mouse events per click, moves/scrolls/mutations per active second
       (round(s.n_pages * {cal['events_per_page']}) + round(coalesce(cf.clicks, 0) * {cal['events_per_click']})
        + round(s.active_ms / 1000.0 * {cal['events_per_active_s']} * (0.3 + 0.7 * u(s.i, 'evrate'))))::BIGINT,
       s.n_pages, pf.entry_url, pf.exit_url, nullif(s.referrer, ''),
       coalesce(cf.clicks, 0), coalesce(cf.rage, 0), coalesce(cf.dead, 0), coalesce(cf.errclick, 0),
       coalesce(cf.thrash, 0), coalesce(cf.qback, 0), coalesce(cf.xscroll, 0),
       coalesce(ef.n, 0), coalesce(cof.errors, 0), coalesce(cof.warnings, 0), coalesce(nf.n, 0),
       s.browser, s.os, s.device, s.country, NULL, s.ua,  -- ip: none kept, as by default
       vf.lcp, vf.inp, vf.cls, vf.fcp, vf.ttfb,
       coalesce(xf.names, []::VARCHAR[]), pf.urls, coalesce(t.search_text, ''),
       -- search_lower, as apply.search_lower makes it: the non-empty parts, newline-joined, lower-cased
       lower(concat_ws(chr(10), nullif(pf.urls, ''), nullif(t.search_text, ''), nullif(s.user_id, ''))),
       s.ended_ms + 200 + (h2(s.i, 0, 'recv') % 4000)::BIGINT,
       pf.entry_ms, pf.exit_ms, CASE WHEN s.user_id IS NOT NULL THEN s.started_ms END,  -- user_ms: named at the start
       NULL
FROM gs s
JOIN page_facts pf ON pf.sid = s.sid
LEFT JOIN texts t ON t.sid = s.sid
LEFT JOIN click_facts cf ON cf.sid = s.sid
LEFT JOIN error_facts ef ON ef.sid = s.sid
LEFT JOIN console_facts cof ON cof.sid = s.sid
LEFT JOIN network_facts nf ON nf.sid = s.sid
LEFT JOIN vital_facts vf ON vf.sid = s.sid
LEFT JOIN custom_facts xf ON xf.sid = s.sid
ORDER BY s.started_ms
"""


def _visitors_sql(project_id: str) -> str:
    return f"""
INSERT INTO visitors
SELECT '{project_id}', visitor_id, max(user_id),
       CASE WHEN max(user_id) IS NOT NULL
            THEN '{{"plan": "' || (['free', 'member', 'vip'])[1 + (hash(visitor_id) % 3)::BIGINT] || '"}}' END,
       min(started_ms), max(ended_ms), count(*)::INTEGER,
       arg_max(country, started_ms), arg_max(device, started_ms), arg_max(browser, started_ms), arg_max(os, started_ms),
       max(user_ms), CASE WHEN max(user_id) IS NOT NULL THEN max(user_ms) END  -- user_ms, traits_ms
FROM sessions WHERE project_id = '{project_id}'
GROUP BY visitor_id
ORDER BY max(ended_ms)
"""


def _fill(con: duckdb.DuckDBPyConnection, n: int, anchor_ms: int, project_id: str, cal: dict[str, float],
          say: Say) -> None:
    def step(what: str, *sqls: str) -> None:
        t0 = time.perf_counter()
        for sql in sqls:
            con.execute(_purposes(sql))
        say(f"  {what:<28} {time.perf_counter() - t0:6.1f} s")

    con.execute(_MACROS.format(seed=SEED))
    shop.load(con)
    step("sessions (base draws)", _session_sql(n, anchor_ms))
    step("page views", _PAGES_SQL, _PAGES_FINISH)
    con.execute("BEGIN")
    step("pages", f"""INSERT INTO pages SELECT '{project_id}', sid, at_ms, url, title,
                      referrer, kind FROM gp ORDER BY at_ms""")
    step("interactions: clicks", _clicks_sql(project_id))
    step("interactions: signals", _signals_sql(project_id))
    step("interactions: inputs", _inputs_sql(project_id))
    step("scroll depths", f"""INSERT INTO scroll_depths
         SELECT '{project_id}', sid, at_ms + floor(dwell * 0.7)::BIGINT, url,
                least(100, 10 * (1 + floor(10 * power(u2(i, j, 'depth'), 1.3))))::INTEGER, height
         FROM gp WHERE u2(i, j, 'scrolled') < 0.9 ORDER BY 3""")
    step("errors", _errors_sql(project_id), "INSERT INTO errors SELECT * FROM ge ORDER BY at_ms")
    step("console", _console_sql(project_id), "INSERT INTO console SELECT * FROM gc ORDER BY at_ms")
    step("network (failures)", _network_sql(project_id))
    step("vitals", _VITALS_SQL, f"""INSERT INTO vitals
         SELECT '{project_id}', sid, at_ms, url, name, value, rating FROM gv ORDER BY at_ms""")
    step("custom events", _customs_sql(project_id), "INSERT INTO custom_events SELECT * FROM gx ORDER BY at_ms")
    step("sessions", _sessions_sql(project_id, cal))
    step("visitors", _visitors_sql(project_id))
    con.execute("COMMIT")
    for t in ("gs", "gp", "ge", "gc", "gv", "gx"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    step("checkpoint", "CHECKPOINT")


TABLES = ("sessions", "pages", "interactions", "scroll_depths", "errors", "console", "network", "vitals",
          "custom_events", "visitors")


def generate(dest: Path, sessions: int = DEFAULT_SESSIONS, say: Say = print) -> SynthInfo:
    """Make a fresh data directory at `dest` (removed first if present) with `sessions` sessions."""
    if dest.exists():
        shutil.rmtree(dest)
    t0 = time.perf_counter()
    anchor_ms = int(time.time() * 1000)
    settings = prepare_data_dir(load_settings(dest, env={}))
    cal = calibrate()
    say(f"synth: {sessions:,} sessions (seed {SEED}) into {dest}")
    say(f"  calibration from {cal['recordings']:.0f} real demo recordings: {cal['events_per_page']} events/page, "
        f"{cal['events_per_click']} events/click, {cal['events_per_active_s']} events/active s")
    dd = DataDir(settings)
    try:
        project = dd.projects.create("Bench shop", [shop.ORIGIN])
        dd.accounts.create_user(EMAIL, PASSWORD, "admin")
        token = dd.accounts.create_token(EMAIL, "bench")
    finally:
        dd.close()
    con = duckdb.connect(str(settings.index_path))
    try:
        _fill(con, sessions, anchor_ms, project.id, cal, say)
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]
        schema = int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()
    seconds = time.perf_counter() - t0
    size = settings.index_path.stat().st_size
    info = SynthInfo(version=VERSION, sessions=sessions, seed=SEED, anchor_ms=anchor_ms, project_id=project.id,
                     email=EMAIL, password=PASSWORD, token=token, seconds=round(seconds, 1), index_bytes=size,
                     rows=rows, calibration=cal, schema=schema)
    (dest / INFO_FILE).write_bytes(msgspec.json.format(msgspec.json.encode(info)))
    say("  rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    say(f"synth: done in {seconds:.1f} s; index {size / 2**20:,.0f} MiB ({settings.index_path})")
    return info


def read_info(dest: Path) -> SynthInfo | None:
    try:
        info = msgspec.json.decode((dest / INFO_FILE).read_bytes(), type=SynthInfo)
    except (OSError, msgspec.DecodeError):
        return None
    return info if info.version == VERSION and info.schema == SCHEMA_VERSION else None


def cache_dir(root: Path, sessions: int) -> Path:
    return root / f"sessions-{sessions}-seed-{SEED}-v{VERSION}"


def ensure(root: Path, sessions: int, fresh: bool = False, say: Say = print) -> tuple[Path, SynthInfo]:
    """The cached data directory for `sessions`, generated when missing, unfinished or `fresh`."""
    dest = cache_dir(root, sessions)
    info = None if fresh else read_info(dest)
    if info is None:
        info = generate(dest, sessions, say)
    else:
        age_h = (time.time() * 1000 - info.anchor_ms) / 3_600_000
        say(f"synth: reusing {dest} (made {age_h:.1f} h ago in {info.seconds:.0f} s; "
            f"index {info.index_bytes / 2**20:,.0f} MiB)")
        if age_h > 24:
            say("synth: note: the data is over a day old, so 'last 7 days' holds fewer sessions than when it was "
                "made; pass --fresh to regenerate")
    return dest, info


def settings_for(dest: Path) -> Settings:
    return prepare_data_dir(load_settings(dest, env={}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    parser.add_argument("--out", type=Path, required=True, help="data directory to create (replaced if present)")
    args = parser.parse_args(argv)
    generate(args.out, args.sessions)
    return 0


if __name__ == "__main__":
    sys.exit(main())

