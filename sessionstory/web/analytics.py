"""The pages that tell a team where to look: overview, errors, heatmaps, funnels."""

from __future__ import annotations

import json
import os

from litestar import Request, get
from litestar.exceptions import ValidationException
from litestar.params import FromQuery
from litestar.response import Template

from sessionstory.index.errors import error_groups
from sessionstory.index.funnels import MAX_STEPS, funnel
from sessionstory.index.heatmaps import Heatmap, heatmap, page_urls
from sessionstory.index.overview import KeptDays, KeptOfIndex, overview
from sessionstory.insights.anomalies import find_anomalies
from sessionstory.web.headers import allow_media_from
from sessionstory.web.pages import chosen_project, render, require_sign_in, time_range
from sessionstory.web.security import api_user, datadir
from sessionstory.web.threads import Encoded, blocking


@get("/overview")
@blocking
def overview_page(request: Request, project: FromQuery[str | None] = None,  # type: ignore[type-arg]
                  range: FromQuery[str | None] = None) -> Template:
    sign_in = require_sign_in(request)
    projects, current = chosen_project(request, project)
    span = time_range(range)
    data = None
    if current is not None:
        days = _kept_days(request)
        data = datadir(request).index.read(lambda cur: overview(cur, current.id, span.from_ms, span.to_ms, days=days))
    chart = None
    if data is not None:
        chart = json.dumps({"kind": "bars", "x": [d.day for d in data.per_day], "height": 220, "series": [
            {"label": "Sessions", "values": [d.sessions for d in data.per_day]},
            {"label": "With errors", "values": [d.with_errors for d in data.per_day]},
            {"label": "Frustrated", "values": [d.frustrated for d in data.per_day]},
        ]})
    return render("overview.html", request, sign_in, projects=projects, project=current, span=span, data=data,
                  chart=chart)


def _kept_days(request: Request) -> KeptOfIndex:  # type: ignore[type-arg]
    """What the overview keeps of whole days, for the app's life and the index file in place (its inode
    changes when a rebuild or a redaction swaps in another file)."""
    days: KeptDays = request.app.state.setdefault("overview_days", KeptDays())
    index_file = os.stat(datadir(request).index.path)
    return days.of_index((index_file.st_dev, index_file.st_ino))


@get("/overview/anomalies")
@blocking
def anomalies_card(request: Request, project: FromQuery[str | None] = None,  # type: ignore[type-arg]
                   range: FromQuery[str | None] = None) -> Template:
    """Loaded by htmx once the overview is on screen: scoring every page and day takes a while."""
    sign_in = require_sign_in(request)
    _, current = chosen_project(request, project)
    span = time_range(range)
    anomalies = [] if current is None else datadir(request).index.read(
        lambda cur: find_anomalies(cur, current.id, span.from_ms, span.to_ms))
    return render("_anomalies.html", request, sign_in, project=current, anomalies=anomalies)


@get("/errors")
@blocking
def errors_page(request: Request, project: FromQuery[str | None] = None,  # type: ignore[type-arg]
                range: FromQuery[str | None] = None) -> Template:
    sign_in = require_sign_in(request)
    projects, current = chosen_project(request, project)
    span = time_range(range)
    groups = []
    if current is not None:
        groups = datadir(request).index.read(lambda cur: error_groups(cur, current.id, span.from_ms, span.to_ms))
    return render("errors.html", request, sign_in, projects=projects, project=current, span=span, groups=groups)


@get("/heatmaps")
@blocking
def heatmaps_page(request: Request, project: FromQuery[str | None] = None,  # type: ignore[type-arg]
                  range: FromQuery[str | None] = None, url: FromQuery[str | None] = None) -> Template:
    sign_in = require_sign_in(request)
    projects, current = chosen_project(request, project)
    span = time_range(range)
    urls: list[tuple[str, int]] = []
    snapshot = None
    if current is not None:
        index = datadir(request).index
        urls = index.read(lambda cur: page_urls(cur, current.id, span.from_ms, span.to_ms))
        url = url or (urls[0][0] if urls else None)
        if url:
            snapshot = index.read(lambda cur: heatmap(cur, current.id, url, span.from_ms, span.to_ms)).snapshot
            allow_media_from(request, [url, *current.origins])
    return render("heatmaps.html", request, sign_in, projects=projects, project=current, span=span, urls=urls,
                  url=url, snapshot=snapshot)


@get("/api/v1/heatmap")
@blocking
def heatmap_data(request: Request, project: FromQuery[str], url: FromQuery[str],  # type: ignore[type-arg]
                 range: FromQuery[str | None] = None) -> Encoded[Heatmap]:
    api_user(request)
    _, current = chosen_project(request, project)
    assert current is not None
    span = time_range(range)
    return Encoded(datadir(request).index.read(lambda cur: heatmap(cur, current.id, url, span.from_ms, span.to_ms)))


@get("/funnels")
@blocking
def funnels_page(request: Request, project: FromQuery[str | None] = None,  # type: ignore[type-arg]
                 range: FromQuery[str | None] = None, steps: FromQuery[str | None] = None) -> Template:
    sign_in = require_sign_in(request)
    projects, current = chosen_project(request, project)
    span = time_range(range)
    patterns = [s.strip() for s in (steps or "").splitlines() if s.strip()]
    if len(patterns) > MAX_STEPS:
        raise ValidationException(f"a funnel has at most {MAX_STEPS} steps")
    result = []
    if current is not None and patterns:
        result = datadir(request).index.read(lambda cur: funnel(cur, current.id, patterns, span.from_ms, span.to_ms))
    return render("funnels.html", request, sign_in, projects=projects, project=current, span=span,
                  steps="\n".join(patterns), result=result, funnel_param="|".join(patterns))
