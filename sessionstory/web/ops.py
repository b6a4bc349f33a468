"""What operators' tools call: `GET /metrics` (Prometheus) and `GET /readyz`.

`/healthz` (web/api.py) says the process answers; `/readyz` says it can take writes now
(log committer and index writer running, disk above the reserve, queues within their
bounds), so a load balancer can send visitors' batches elsewhere meanwhile.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions import NotAuthorizedException

from sessionstory.metrics import CONTENT_TYPE, Metrics, Readiness
from sessionstory.web.security import datadir
from sessionstory.web.threads import blocking

READY_RETRY_S = 5


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """After the app's own lifespan has opened the data directory: start counting."""
    app.state.metrics = Metrics(app.state.datadir, app.state.live, app.state.admission)
    yield


@get("/metrics", include_in_schema=False)
@blocking
def metrics(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    token = datadir(request).settings.metrics_token
    if token:  # Prometheus sends it with `authorization: {credentials: …}` in its scrape config
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise NotAuthorizedException("metrics need Authorization: Bearer SESSIONSTORY_METRICS_TOKEN",
                                         headers={"WWW-Authenticate": "Bearer"})
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


@get("/readyz", sync_to_thread=False, include_in_schema=False)
def readyz(request: Request) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    checks = Readiness(datadir(request), request.app.state.admission).checks()
    failing = [reason for reason in checks.values() if reason is not None]
    body: dict[str, Any] = {"status": "unavailable" if failing else "ready",
                            "checks": {name: reason or "ok" for name, reason in checks.items()}}
    cluster = datadir(request).cluster_checks()
    if cluster:  # reported, not judged: a node whose store or catalog is down still takes batches
        body["cluster"] = {name: reason or "ok" for name, reason in cluster.items()}
    if not failing:
        return Response(body, headers={"Cache-Control": "no-store"})
    body["error"] = "; ".join(failing)
    return Response(body, status_code=503, headers={"Retry-After": str(READY_RETRY_S), "Cache-Control": "no-store"})
