"""create_app(settings): the one place where routes, storage and background work meet."""

from __future__ import annotations

import contextlib
import gc
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import jinja2
from litestar import Litestar, Request, get
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.exceptions import NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from sessionstory import admin, demo, logs
from sessionstory.admission import Admission
from sessionstory.config import Settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.live import LiveHub
from sessionstory.throttle import SignInLimits
from sessionstory.web import admin_pages, analytics, api, collab, collect, dashboard, errors, insight_stream, live, ops, pages, privacy_audit, reproduce, share, visitors
from sessionstory.web.digest import digest_data, digest_page, digest_summary_card
from sessionstory.web.assets import Assets
from sessionstory.web.compression import Compression
from sessionstory.web.headers import csp_nonce, security_headers
from sessionstory.web.schema import api_only, openapi_config
from sessionstory.web.security import datadir

log = logging.getLogger("sessionstory")
WEB = Path(__file__).parent / "web"
WHEN = "%Y-%m-%d %H:%M:%S UTC"


def create_app(settings: Settings, dd: DataDir | None = None) -> Litestar:
    """The whole server. Pass an opened DataDir to share it (tests); else it is opened at start."""

    assets = Assets(WEB / "static")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        opened = dd or DataDir(prepare_data_dir(settings))
        app.state.datadir = opened
        app.state.live = LiveHub()
        app.state.sign_in_limits = SignInLimits()
        app.state.admission = Admission(opened.settings.limits, opened.settings.data_dir)
        opened.log.on_commit(app.state.live.committed)
        opened.relay_live(app.state.live)  # a cluster's viewers on other nodes; nothing on a single node
        opened.start()
        bootstrap(opened)
        sock = await admin.serve(opened, opened.settings.admin_socket)
        opened.compactor.start()
        opened.erasure.start()
        if dd is None:
            # The server's own process (tests share one process among many apps): what start-up
            # made (modules, templates, routes) lives as long as it does, and the collector's full
            # passes walked all of it (4-5 % of the event loop's samples in py-spy). Frozen, they skip it.
            gc.freeze()
        try:
            yield
        finally:
            opened.erasure.stop()
            opened.compactor.stop()
            sock.close()
            await sock.wait_closed()
            opened.settings.admin_socket.unlink(missing_ok=True)
            if dd is None:
                opened.close()
            logs.write_pending()

    app = Litestar(
        route_handlers=api_only([
            api.healthz, api.projects, api.sessions, api.session, api.events, api.export, api.moments, api.search, api.insight, api.remove_session, api.erase_person, api.remove_matching, live.live_stream,
            reproduce.steps, reproduce.steps_test, *collab.ROUTES, *share.ROUTES,
            collect.sdk_script, collect.sdk_config, collect.ingest, ops.metrics, ops.readyz,
            dashboard.login_page, dashboard.login, dashboard.logout, dashboard.session_list,
            dashboard.onboarding_status, dashboard.live_now, dashboard.delete_matching, dashboard.ask, dashboard.save_filter, dashboard.delete_filter,
            dashboard.session_page, dashboard.session_neighbours, dashboard.session_insight_card, insight_stream.insight_stream, dashboard.projects_page, dashboard.create_project, dashboard.project_page, dashboard.save_privacy,
            analytics.overview_page, analytics.anomalies_card, analytics.errors_page, analytics.heatmaps_page, analytics.heatmap_data,
            analytics.funnels_page, visitors.visitors_page, visitors.visitor_page, visitors.erase_visitor,
            admin_pages.users_page, admin_pages.create_user, admin_pages.change_role, admin_pages.delete_user,
            admin_pages.audit_page, *privacy_audit.ROUTES,
            digest_page, digest_summary_card, digest_data,
            demo_page,
            *assets.routes(),
        ]),
        lifespan=[lifespan, ops.lifespan],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(_templates(assets))),
        exception_handlers={pages.SignInRequired: pages.to_login, **errors.HANDLERS},  # type: ignore[dict-item]
        before_send=[security_headers(https=settings.base_url.startswith("https://"))],
        # Requests naming another host are refused (400): DNS rebinding cannot reach the dashboard.
        allowed_hosts=AllowedHostsConfig(allowed_hosts=list(settings.allowed_hosts)) if settings.allowed_hosts else None,
        request_max_body_size=settings.limits.max_body_bytes,
        openapi_config=openapi_config(assets.url),
        debug=False,
    )
    # Around litestar's router and exception handler, not inside a route: unknown paths, refused
    # hosts and 500s get their access line too, as when uvicorn wrote them (cli.py turns its off);
    # and every answer, error pages included, goes compressed when it is worth it.
    app.asgi_handler = logs.AccessLog(Compression(app.asgi_handler))
    return app


def _templates(assets: Assets) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB / "templates"),
        autoescape=True,  # recorded content (URLs, titles, user ids) must never become markup
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # the templates ship with the code: compiled once, never stat'ed again per render
    )
    # Our own <script> tags carry this request's CSP nonce (web/headers.py); nothing else runs.
    env.globals["csp_nonce"] = jinja2.pass_context(lambda ctx: csp_nonce(ctx["request"]))
    # Our bundles by their content (/static/dist/player.js?v=…), which browsers keep for a year.
    env.globals["asset"] = assets.url
    env.filters["duration"] = format_duration
    env.filters["when"] = format_when
    env.filters["when_ms"] = format_when_ms
    env.filters["counted"] = counted
    env.filters["query_value"] = query_value
    return env


def format_duration(ms: int) -> str:
    seconds = max(0, int(ms) // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


def format_when(iso: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime(WHEN)


def format_when_ms(ms: int) -> str:
    """format_when of a millisecond timestamp, straight from the C library's gmtime: a page of error
    groups formats two per group, 1.1 µs each against 3.5 through a datetime."""
    return time.strftime(WHEN, time.gmtime(ms // 1000))


def counted(n: int, noun: str) -> str:
    """The number and its noun, plural unless one ("1 session", "3 sessions"): one template output
    where there were three (each output of an autoescaping template is escaped on its own)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# Every byte but the unreserved ones (RFC 3986) as %XX, from a table: urllib's quote (and jinja's
# urlencode) walk the bytes in Python, 6 µs for an 80-character error message against 2.7.
_QUERY_BYTES = {b: chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-._~") else f"%{b:02X}"
                for b in range(256)}


def query_value(text: str) -> str:
    """`text` percent-encoded as a URL query value."""
    return text.encode().decode("latin-1").translate(_QUERY_BYTES)


@get("/demo", sync_to_thread=False, include_in_schema=False)
def demo_page(request: Request) -> Template:  # type: ignore[type-arg]
    """A page carrying the Demo project's snippet, so a newcomer can record a session at once."""
    project = next((p for p in datadir(request).projects.all() if p.name == demo.PROJECT_NAME), None)
    if project is None:
        raise NotFoundException("there is no Demo project")
    return Template(template_name="demo.html", context={"public_key": project.public_key})


def bootstrap(dd: DataDir) -> None:
    """First start: an admin to sign in with and a Demo project to record into. In a cluster,
    one node at a time: nodes starting together would each make them."""
    if dd.cluster_lock is None:
        _bootstrap(dd)
        return
    with dd.cluster_lock.held("bootstrap") as mine:
        if mine:  # else another node is making them now
            _bootstrap(dd)


def _bootstrap(dd: DataDir) -> None:
    s = dd.settings
    if dd.accounts.user_count() == 0:
        if s.admin_email:
            dd.accounts.create_user(s.admin_email, s.admin_password, "admin")
            log.info("created admin %s from SESSIONSTORY_ADMIN_EMAIL", s.admin_email)
        else:
            password = secrets.token_urlsafe(12)
            dd.accounts.create_user("admin@localhost", password, "admin")
            _banner(
                f"Sign in at {s.base_url}/login as admin@localhost with password {password}",
                "(shown once; set SESSIONSTORY_ADMIN_EMAIL/_PASSWORD to choose your own)",
            )
    if not dd.projects.all():
        seeded = demo.seed(dd, dd.projects.create(demo.PROJECT_NAME))
        _banner(f"Created the Demo project with {seeded} recorded sessions;",
                f"browse {s.base_url}/demo to record one of your own")


def _banner(*lines: str) -> None:
    rule = "=" * max(len(line) for line in lines)
    print("\n".join([rule, *lines, rule]), flush=True)
