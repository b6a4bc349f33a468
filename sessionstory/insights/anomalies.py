"""Days and pages that deviate from the project's own baseline, without the model.

Robust z-scores (Iglewicz and Hoaglin): z = 0.6745 (x - median) / MAD, flagged past 3.5.
Medians and the median absolute deviation shrug off the very outliers we look for, where
a mean and a standard deviation would be dragged toward them. When more than half the
values are equal (MAD is 0: a project whose days mostly have no errors at all), the mean
absolute deviation stands in, scaled to match (1.2533), as IBM's SPSS and others do.

Days are judged against the project's other days (the 28 before the range, and the range);
pages against the project's other pages in the range. Only the bad direction counts:
more errors, more rage and dead clicks, longer sessions, slower vitals. Each anomaly
carries the ordinary session filters that show its sessions, so "anomalous" is a link,
not a filter of its own.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import duckdb
import msgspec

from sessionstory.index.anomalies import DAY_MS, DayRow, PageRow, day_rows, page_rows

THRESHOLD = 3.5
BASELINE_DAYS = 28
MIN_SESSIONS = 5  # a day or page with fewer sessions is too small to judge
MIN_POINTS = 5  # fewer days or pages than this make no baseline

# metric -> (label, the session filter that shows the sessions behind it)
METRICS: dict[str, tuple[str, dict[str, str]]] = {
    "error_rate": ("sessions with errors", {"has_errors": "true"}),
    "rage_rate": ("sessions with rage clicks", {"rage_clicks": "true"}),
    "dead_rate": ("sessions with dead clicks", {"dead_clicks": "true"}),
    "median_duration_ms": ("median duration", {"sort": "longest"}),
    "lcp_p75": ("LCP p75", {}),
    "inp_p75": ("INP p75", {}),
}


class Anomaly(msgspec.Struct):
    scope: str  # day | page
    key: str  # YYYY-MM-DD or the page's URL
    metric: str  # a key of METRICS
    label: str
    value: float
    baseline: float  # the median of the same figure over the baseline
    z: float
    sessions: int
    filters: dict[str, str]  # the session list's query parameters that show it


def robust_z(values: Sequence[float]) -> list[float]:
    """Each value's robust z-score among the values (0 for all when they do not vary)."""
    if not values:
        return []
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    if mad > 0:
        return [0.6745 * (v - median) / mad for v in values]
    mean_ad = statistics.fmean(abs(v - median) for v in values)
    if mean_ad == 0:
        return [0.0 for _ in values]
    return [(v - median) / (1.2533 * mean_ad) for v in values]


def _rates(sessions: int, errors: int, rage: int, dead: int) -> dict[str, float]:
    return {"error_rate": errors / sessions, "rage_rate": rage / sessions, "dead_rate": dead / sessions}


def day_figures(row: DayRow) -> dict[str, float | None]:
    return {**_rates(row.sessions, row.error_sessions, row.rage_sessions, row.dead_sessions),
            "median_duration_ms": row.median_duration_ms, "lcp_p75": row.lcp_p75, "inp_p75": row.inp_p75}


def page_figures(row: PageRow) -> dict[str, float | None]:
    return {**_rates(row.sessions, row.error_sessions, row.rage_sessions, row.dead_sessions),
            "lcp_p75": row.lcp_p75, "inp_p75": row.inp_p75}


def _flag(items: list[tuple[str, int, dict[str, float | None]]], judged: Callable[[str], bool], scope: str,
          filters_for: Callable[[str, str], dict[str, str]]) -> list[Anomaly]:
    """Per metric, the items whose robust z-score passes the threshold (bad direction only)."""
    found: list[Anomaly] = []
    for metric, (label, _) in METRICS.items():
        present = [(key, n, figures[metric]) for key, n, figures in items if figures.get(metric) is not None]
        if len(present) < MIN_POINTS:
            continue
        values = [float(v) for _, _, v in present]  # type: ignore[arg-type]
        baseline = statistics.median(values)
        for (key, n, _), value, z in zip(present, values, robust_z(values)):
            if z >= THRESHOLD and judged(key):
                found.append(Anomaly(scope, key, metric, label, value, baseline, round(z, 2), n,
                                     filters_for(key, metric)))
    return sorted(found, key=lambda a: -a.z)


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def find_anomalies(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int) -> list[Anomaly]:
    """The days in the range and the pages of the range that deviate from the baseline."""
    days = [(_day(r.day_ms), r.sessions, day_figures(r))
            for r in day_rows(cur, project_id, from_ms - BASELINE_DAYS * DAY_MS, to_ms) if r.sessions >= MIN_SESSIONS]
    first_day = _day(from_ms)
    since = datetime.fromtimestamp(from_ms // 1000, UTC).isoformat().replace("+00:00", "Z")

    def day_filters(day: str, metric: str) -> dict[str, str]:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000
        return {"from": day, "to": _day(int(start) + DAY_MS), **METRICS[metric][1]}

    def page_filters(url: str, metric: str) -> dict[str, str]:
        return {"url": url, "from": since, **METRICS[metric][1]}

    pages = [(r.url, r.sessions, page_figures(r)) for r in page_rows(cur, project_id, from_ms, to_ms, MIN_SESSIONS)]
    return [*_flag(days, lambda day: day >= first_day, "day", day_filters),
            *_flag(pages, lambda _: True, "page", page_filters)]
