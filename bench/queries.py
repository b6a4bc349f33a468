"""Dashboard queries: each route timed through a real `sessionstory serve` over HTTP,
beside the raw DuckDB time of the exact SQL that route executes.

How the baseline is made: the index function a route calls (`list_sessions`,
`overview`, `error_groups`, `funnel`, `heatmap`) is called once with a recording
cursor, which notes every `execute(sql, params)` and passes it on. Those statements are
then run again and again on a read-only DuckDB connection, each fetched in full as the
route fetches it (tuples, numpy arrays or one row): that is "raw". "fn" is the index
function itself on that connection (raw + building its Python result). "web" is the HTTP
request to the real server, over one keep-alive connection, until the last byte of the
answer: token or cookie check, the same SQL, JSON encoding or template rendering,
uvicorn, loopback TCP. The bench speaks HTTP over a plain socket (`Client`), so that its
own parsing is not counted as the server's.

DuckDB lets one process open a file read-write, and the server holds the index. So the
raw connection opens a byte-for-byte copy of the index file, taken while the server is
stopped; that way raw and web runs can alternate, one of each in turn, and a noisy
neighbour on this shared machine slows both alike instead of whichever phase it hits.

    python -m bench --only queries [--sessions N]
    python -m bench.queries --case sessions: --case errors   # only the cases whose name holds one of these
"""

from __future__ import annotations

import argparse
import copy
import http.client
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

import duckdb

from bench import stats
from bench.synth import DEFAULT_ROOT, DEFAULT_SESSIONS, SynthInfo, ensure, settings_for
from sessionstory.index.errors import error_groups
from sessionstory.index.filters import parse_filters
from sessionstory.index.funnels import funnel
from sessionstory.index.heatmaps import heatmap, page_urls
from sessionstory.index.overview import KeptDays, overview
from sessionstory.index.sessions import encode_cursor, list_sessions, neighbour_sessions, session_project
from sessionstory.insights.anomalies import find_anomalies
from sessionstory.web.pages import time_range

LIST_GOAL_MS = 100  # p95 of a session-list request
OVERVIEW_GOAL_MS = 500  # p95 of the overview page
WEB_OVERHEAD_GOAL = 1.20  # web p50 / raw p50
FN_REPS = 5  # the "fn" column is a diagnostic (raw + Python result building): a few runs suffice
Q_TEXT = "reading 'price'"  # part of the second most frequent error message
FUNNEL_STEPS = ["/products/*", "/cart", "/checkout", "/checkout/thank-you"]


# -- capturing the SQL a route runs -------------------------------------------------


class Statement(NamedTuple):
    sql: str
    params: Any
    fetch: str  # how the route took its rows ("fetchall", "fetchnumpy", "fetchone"): raw takes them alike


class Recorder:
    """A cursor that notes each statement, and how its rows were fetched, and runs it on the real
    connection. The fetch matters: DuckDB hands 5,800 grouped rows over as numpy arrays in 35 ms
    and as tuples in 45 (the heatmap's clicks), so raw fetches as the route does."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.calls: list[Statement] = []

    def execute(self, sql: str, params: Any = None) -> _Noted:
        # a copy: list_sessions extends its parameter list in place after the count query
        self.calls.append(Statement(sql, copy.deepcopy(params), "fetchall"))
        return _Noted(self.con.execute(sql, params), self.calls, len(self.calls) - 1)


class _Noted:
    """A statement's result that notes the fetch method the caller used on it."""

    def __init__(self, result: duckdb.DuckDBPyConnection, calls: list[Statement], at: int) -> None:
        self._result, self._calls, self._at = result, calls, at

    def __getattr__(self, name: str) -> Any:
        if name.startswith("fetch"):
            self._calls[self._at] = self._calls[self._at]._replace(fetch=name)
        return getattr(self._result, name)


# -- the cases ----------------------------------------------------------------------


@dataclass
class Context:
    project_id: str
    top_url: str = ""
    deep_cursor: str = ""
    deep_offset: int = 0
    middle_id: str = ""  # the session half-way down the list, whose neighbours the session page asks for
    q_cursor: str = ""  # the `q` list's second page, as "load more" asks for it
    days: KeptDays = field(default_factory=KeptDays)  # what the overview keeps of whole days, as the server does


IndexCall = Callable[[Any, Context], Any]


@dataclass
class Case:
    name: str
    path: str  # the HTTP request: path and query
    auth: str  # "token" | "cookie"
    call: IndexCall  # what the route calls, with the same arguments
    goal_ms: float | None = None  # on web p95

    @property
    def goal(self) -> str:
        return f"p95 ≤ {self.goal_ms:.0f} ms" if self.goal_ms else "—"


def _list_case(name: str, params: dict[str, str], cursor: Callable[[Context], str | None] = lambda c: None,
               limit: int = 50) -> Callable[[Context], Case]:
    def make(ctx: Context) -> Case:
        c = cursor(ctx)
        query = {"project": ctx.project_id, "limit": str(limit), **params, **({"cursor": c} if c else {})}

        def call(cur: Any, ctx: Context) -> Any:
            now = int(time.time() * 1000)
            return list_sessions(cur, [ctx.project_id], parse_filters(query, now), limit, c, now)

        return Case(name, "/api/v1/sessions?" + urlencode(query), "token", call, LIST_GOAL_MS)

    return make


def _neighbours_case(name: str, params: dict[str, str]) -> Callable[[Context], Case]:
    """The previous and next sessions of the session half-way down a list, as its session page asks for them."""
    def make(ctx: Context) -> Case:
        listed = urlencode({"project": ctx.project_id, **params})

        def call(cur: Any, ctx: Context) -> Any:
            now = int(time.time() * 1000)
            session_project(cur, ctx.middle_id)  # the route's own lookup of the session's project
            return neighbour_sessions(cur, [ctx.project_id], parse_filters(params, now), ctx.middle_id, now)

        return Case(name, f"/sessions/{ctx.middle_id}/neighbours?" + urlencode({"list": listed}), "cookie", call,
                    LIST_GOAL_MS)

    return make

def _span_case(name: str, route: str, range_key: str, extra: Callable[[Context], dict[str, str]],
               call: Callable[[Any, Context, int, int], Any], auth: str = "cookie",
               goal_ms: float | None = None) -> Callable[[Context], Case]:
    def make(ctx: Context) -> Case:
        query = {"project": ctx.project_id, "range": range_key, **extra(ctx)}

        def run(cur: Any, ctx: Context) -> Any:
            span = time_range(range_key)  # what the route does: now - N days .. now + 1 min
            return call(cur, ctx, span.from_ms, span.to_ms)

        return Case(name, f"{route}?{urlencode(query)}", auth, run, goal_ms)

    return make


def _overview_page(cur: Any, c: Context, a: int, b: int) -> Any:
    """What GET /overview reads once it has kept the whole days (its anomalies card loads after it:
    _anomalies_card)."""
    return overview(cur, c.project_id, a, b, days=c.days)


def _anomalies_card(cur: Any, c: Context, a: int, b: int) -> Any:
    """What GET /overview/anomalies reads, once the overview is on screen."""
    return find_anomalies(cur, c.project_id, a, b)


CASES: list[Callable[[Context], Case]] = [
    _list_case("sessions: no filter", {}),
    _list_case("sessions: device=mobile", {"device": "mobile"}),
    _list_case("sessions: from=7d has_errors browser", {"from": "7d", "has_errors": "true", "browser": "Chrome"}),
    _list_case("sessions: deep page (cursor)", {}, cursor=lambda c: c.deep_cursor),
    _list_case("sessions: url=/checkout", {"url": "/checkout"}),
    _list_case(f"sessions: q={Q_TEXT}", {"q": Q_TEXT}),
    _list_case(f"sessions: q={Q_TEXT}, page 2", {"q": Q_TEXT}, cursor=lambda c: c.q_cursor),
    _neighbours_case("session page: previous/next in the list", {}),
    _neighbours_case("session page: previous/next, device=mobile", {"device": "mobile"}),
    _span_case("overview 7d (page)", "/overview", "7d", lambda c: {}, _overview_page, goal_ms=OVERVIEW_GOAL_MS),
    _span_case("overview anomalies 7d (card)", "/overview/anomalies", "7d", lambda c: {}, _anomalies_card),
    _span_case("overview 30d (page)", "/overview", "30d", lambda c: {}, _overview_page, goal_ms=OVERVIEW_GOAL_MS),
    _span_case("errors 7d (page)", "/errors", "7d", lambda c: {},
               lambda cur, c, a, b: error_groups(cur, c.project_id, a, b)),
    _span_case("funnel 4 steps 30d (page)", "/funnels", "30d", lambda c: {"steps": "\n".join(FUNNEL_STEPS)},
               lambda cur, c, a, b: funnel(cur, c.project_id, FUNNEL_STEPS, a, b)),
    _span_case("heatmap top page 7d (API)", "/api/v1/heatmap", "7d", lambda c: {"url": c.top_url},
               lambda cur, c, a, b: heatmap(cur, c.project_id, c.top_url, a, b), auth="token"),
]


@dataclass
class Result:
    case: Case
    statements: list[Statement]
    per_statement: list[list[float]] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    fn: list[float] = field(default_factory=list)
    web: list[float] = field(default_factory=list)
    check: str = ""  # what the raw run returned, to compare with the web answer

    def verdicts(self) -> tuple[str, str]:
        latency = "—"
        if self.case.goal_ms is not None and self.web:
            latency = "PASS" if stats.p95(self.web) <= self.case.goal_ms else "MISS"
        overhead = "—"
        if self.web and self.raw:
            overhead = "PASS" if self.ratio() <= WEB_OVERHEAD_GOAL else "MISS"
        return latency, overhead

    def ratio(self) -> float:
        return stats.p50(self.web) / stats.p50(self.raw)


# -- measuring ----------------------------------------------------------------------


def prepare(con: duckdb.DuckDBPyConnection, info: SynthInfo) -> Context:
    """The top page of the last 7 days (heatmap) and a cursor half-way down the list."""
    span = time_range("7d")
    top = page_urls(con, info.project_id, span.from_ms, span.to_ms, limit=1)
    offset = max(0, info.sessions // 2 - 1)
    row = con.execute(
        "SELECT started_ms, id FROM sessions WHERE project_id = ? ORDER BY started_ms DESC, id DESC LIMIT 1 OFFSET ?",
        [info.project_id, offset],
    ).fetchone()
    cursor = encode_cursor("newest", row[0], row[1]) if row else ""
    now = int(time.time() * 1000)
    first = list_sessions(con, [info.project_id], parse_filters({"q": Q_TEXT}, now), 50, None, now)
    return Context(project_id=info.project_id, top_url=top[0][0] if top else "/", deep_cursor=cursor,
                   deep_offset=offset + 1, q_cursor=first.next_cursor or "", middle_id=row[1] if row else "")


def _summary(value: Any) -> str:
    total = getattr(value, "total", None)
    if total is not None:
        return f"total={total} items={len(value.items)}"
    return ""


def _raw_once(con: duckdb.DuckDBPyConnection, r: Result) -> list[float]:
    """Each statement of the case, fetched as the route fetches it: milliseconds per statement."""
    times = []
    for sql, params, fetch in r.statements:
        t0 = time.perf_counter()
        getattr(con.execute(sql, params), fetch)()
        times.append((time.perf_counter() - t0) * 1000)
    return times


# -- web: a real server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m sessionstory serve` on a free loopback port, as users run it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.log_path = data_dir / "bench-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORY_")}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sessionstory", "serve", "--data-dir", str(self.data_dir),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer /healthz within 120 s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # a clean shutdown closes (and checkpoints) the index
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Client:
    """One keep-alive HTTP/1.1 connection, as a browser tab or an API script keeps, spoken over a
    plain socket: http.client parses each answer's headers with the email package, 100 µs of
    the bench's own CPU a request on /healthz and 400 on a 41 KB list page (against 34 and 160
    here), time that would have been counted as the web layer's."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
        """The status, the headers (name lowercased, in order) and the body of the answer."""
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                assert self.sock is not None
                self.sock.sendall(message)
                return self._answer()
            except (ConnectionError, OSError):
                # uvicorn closes an idle keep-alive connection after 5 s; open another and retry once
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def _answer(self) -> tuple[int, list[tuple[str, str]], bytes]:
        head = self._until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = [(name.strip().lower(), value.strip())
                   for name, _, value in (line.partition(":") for line in header_lines)]
        fields = dict(headers)
        if fields.get("transfer-encoding") == "chunked":
            body = b"".join(iter(self._chunk, b""))
        else:
            body = self._exactly(int(fields.get("content-length", "0")))
        return int(status_line.split(" ", 2)[1]), headers, body

    def _chunk(self) -> bytes:
        size = int(self._until(b"\r\n").split(b";")[0], 16)
        data = self._exactly(size)
        self._exactly(2)  # the CRLF after each chunk, the last (empty) one included
        return data

    def _until(self, end: bytes) -> bytes:
        while (at := self.buffer.find(end)) < 0:
            self._receive()
        got, self.buffer = self.buffer[:at], self.buffer[at + len(end):]
        return got

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._receive()
        got, self.buffer = self.buffer[:n], self.buffer[n:]
        return got

    def _receive(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def sign_in(self, email: str, password: str) -> str:
        """The dashboard's form sign-in, as a browser does it: the sign-in cookie's value."""
        status, msg, _ = self.request("GET", "/login")
        login = _cookies(msg).get("ss_login")
        if status != 200 or not login:
            raise RuntimeError(f"GET /login answered {status} without the ss_login cookie")
        form = urlencode({"email": email, "password": password, "_csrf": login, "next": "/"}).encode()
        status, msg, _ = self.request("POST", "/login", {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"ss_login={login}"}, form)
        session = _cookies(msg).get("ss_session")
        if status != 303 or not session:
            raise RuntimeError(f"POST /login answered {status} without a sign-in cookie")
        return session

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in headers:
        if name == "set-cookie":
            jar.load(value)
    return {k: m.value for k, m in jar.items()}


def _web_once(client: Client, r: Result, headers: dict[str, str]) -> None:
    status, _, body = client.request("GET", r.case.path, headers)
    if status != 200:
        raise RuntimeError(f"{r.case.name}: GET {r.case.path} answered {status}: {body[:300]!r}")


# -- the whole benchmark ------------------------------------------------------------


@dataclass
class Report:
    info: SynthInfo
    ctx: Context
    results: list[Result]
    bare_http: list[float]
    authed_http: list[float]  # GET /api/v1/projects with the token: the fixed cost of an API route
    reps: int
    seconds: float

    def rows(self) -> list[list[str]]:
        out = []
        for r in self.results:
            latency, overhead = r.verdicts()
            out.append([
                r.case.name, stats.ms(stats.p50(r.raw)), stats.ms(stats.p95(r.raw)), stats.ms(stats.p50(r.fn)),
                stats.ms(stats.p50(r.web)), stats.ms(stats.p95(r.web)), f"{r.ratio():.2f}",
                f"{stats.p50(r.web) - stats.p50(r.raw):+.1f}", r.case.goal, latency, overhead,
            ])
        return out

    HEADER = ["query", "raw p50", "raw p95", "fn p50", "web p50", "web p95", "web/raw", "web-raw ms", "goal",
              "latency", "web ≤ 1.2×raw"]

    def text(self, markdown: bool = False) -> str:
        return stats.table(self.HEADER, self.rows(), markdown)

    def breakdown(self) -> str:
        """Where the raw time goes: each statement's p50, for the cases with more than one."""
        lines = []
        for r in self.results:
            if len(r.statements) < 2:
                continue
            lines.append(f"{r.case.name}:")
            for (sql, _, _), timings in zip(r.statements, r.per_statement):
                lines.append(f"  {stats.ms(stats.p50(timings)):>7} ms  {' '.join(sql.split())[:110]}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "sessions": self.info.sessions, "seed": self.info.seed, "index_bytes": self.info.index_bytes,
            "reps": self.reps, "warmups": stats.WARMUPS,
            "bare_http_p50_ms": stats.p50(self.bare_http), "authed_http_p50_ms": stats.p50(self.authed_http),
            "seconds": round(self.seconds, 1),
            "deep_offset": self.ctx.deep_offset, "top_url": self.ctx.top_url,
            "results": [
                {"query": r.case.name, "request": r.case.path.replace(self.ctx.project_id, "P"),
                 "raw_p50": stats.p50(r.raw), "raw_p95": stats.p95(r.raw), "fn_p50": stats.p50(r.fn),
                 "web_p50": stats.p50(r.web), "web_p95": stats.p95(r.web), "ratio": r.ratio(),
                 "goal": r.case.goal, "verdicts": list(r.verdicts()),
                 "statements_p50": [stats.p50(t) for t in r.per_statement]}
                for r in self.results
            ],
        }


def explain(data_dir: Path, results: list[Result], names: set[str] | None) -> str:
    """EXPLAIN ANALYZE of every statement of the chosen cases (all that missed a goal when names is None)."""
    con = read_only(settings_for(data_dir).index_path)
    out = []
    try:
        for r in results:
            missed = "MISS" in r.verdicts()[0]
            if (names is None and not missed) or (names is not None and r.case.name not in names and "all" not in names):
                continue
            for sql, params, _ in r.statements:
                plan = con.execute("EXPLAIN ANALYZE " + sql, params).fetchall()
                out.append(f"== {r.case.name}\n{' '.join(sql.split())}\nparams: {params}\n{plan[0][1]}")
    finally:
        con.close()
    return "\n\n".join(out)


def read_only(index_path: Path) -> duckdb.DuckDBPyConnection:
    """The baseline's connection: same file, same defaults as the server's (threads = cores)."""
    # As the server does (index/database.py): DuckDB's client tries `import pandas` for each
    # bound parameter, and without pandas each failing import searches sys.path again
    # (~0.2 ms a parameter). The server records the absence once; so does the baseline.
    if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]
    con = duckdb.connect(str(index_path), read_only=True)
    con.execute("SET enable_progress_bar = false")  # a terminal progress bar on long statements
    return con


def run(data_dir: Path, info: SynthInfo, reps: int = stats.REPS, say: Callable[[str], None] = print,
        only: Sequence[str] = ()) -> Report:
    """Every case, or those whose name contains one of `only`."""
    t0 = time.perf_counter()
    index_path = settings_for(data_dir).index_path
    copy_path = data_dir / "bench-raw-copy.duckdb"
    say(f"queries: copying the index for the raw connection ({index_path.stat().st_size / 2**20:,.0f} MiB)")
    for stale in (copy_path, Path(f"{copy_path}.wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(index_path, copy_path)
    wal = Path(f"{index_path}.wal")
    if wal.exists():
        shutil.copyfile(wal, f"{copy_path}.wal")
    con = read_only(copy_path)
    server: Server | None = None
    try:
        ctx = prepare(con, info)
        results = []
        for make in CASES:
            case = make(ctx)
            if only and not any(part in case.name for part in only):
                continue
            case.call(con, ctx)  # what a route keeps between requests (the overview's days) is kept, as after warm-ups
            recorder = Recorder(con)
            value = case.call(recorder, ctx)
            results.append(Result(case, recorder.calls, [[] for _ in recorder.calls], check=_summary(value)))
        say("queries: starting `sessionstory serve` on 127.0.0.1 and signing in through /login")
        server = Server(data_dir).start()
        client = Client(server.port)
        cookie = client.sign_in(info.email, info.password)
        headers = {"token": {"Authorization": f"Bearer {info.token}"}, "cookie": {"Cookie": f"ss_session={cookie}"}}
        bare = stats.timed(lambda: client.request("GET", "/healthz"), reps)
        authed = stats.timed(lambda: client.request("GET", "/api/v1/projects", headers["token"]), reps)
        say(f"queries: {stats.WARMUPS} warm-ups, then {reps} runs of raw and web in turns, per query")
        for r in results:
            h = headers[r.case.auth]
            _check(client, r, h, say)
            for _ in range(stats.WARMUPS):
                _raw_once(con, r)
                _web_once(client, r, h)
            for _ in range(reps):
                times = _raw_once(con, r)
                for timings, t in zip(r.per_statement, times):
                    timings.append(t)
                r.raw.append(sum(times))
                r.web += stats.timed(lambda r=r, h=h: _web_once(client, r, h), 1, warmups=0)
            r.fn += stats.timed(lambda r=r: r.case.call(con, ctx), min(reps, FN_REPS))
            say(f"  {r.case.name:<40} raw p50 {stats.ms(stats.p50(r.raw)):>6}   web p50 {stats.ms(stats.p50(r.web)):>6}"
                f"   web p95 {stats.ms(stats.p95(r.web)):>6} ms")
        client.close()
    finally:
        if server is not None:
            server.stop()
        con.close()
        for leftover in (copy_path, Path(f"{copy_path}.wal")):
            leftover.unlink(missing_ok=True)
    return Report(info, ctx, results, bare, authed, reps, time.perf_counter() - t0)


def _check(client: Client, r: Result, headers: dict[str, str], say: Callable[[str], None]) -> None:
    """The server's answer to a list query should match the raw run's (bar a moving `from=7d`)."""
    status, _, body = client.request("GET", r.case.path, headers)
    if status != 200:
        raise RuntimeError(f"{r.case.name}: GET {r.case.path} answered {status}: {body[:300]!r}")
    if r.check and "from=" not in r.case.path:
        answer = json.loads(body)
        got = f"total={answer['total']} items={len(answer['items'])}"
        if not answer["items"] and not r.check.endswith("items=0"):
            raise RuntimeError(f"{r.case.name}: the server answered {got}, the raw run {r.check}: it does not see "
                               f"the generated sessions (an index of another schema version, set aside?)")
        if got != r.check:
            say(f"  note: {r.case.name}: the server answered {got}, the raw run {r.check}")


def machine() -> str:
    mem = ""
    try:
        kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}")


def main(argv: list[str] | None = None) -> int:
    """Some of the cases, on the cached data (`python -m bench --only queries` runs them all)."""
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=main.__doc__)
    parser.add_argument("--case", action="append", default=[], help="run the cases whose name contains this (repeatable)")
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    parser.add_argument("--data-root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--reps", type=int, default=stats.REPS)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    data_dir, info = ensure(args.data_root, args.sessions)
    load_before = os.getloadavg()[0]
    report = run(data_dir, info, reps=args.reps, only=args.case)
    print(f"\n{machine()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"GET /healthz p50 {stats.ms(stats.p50(report.bare_http))} ms, GET /api/v1/projects p50 "
          f"{stats.ms(stats.p50(report.authed_http))} ms\n")
    print(report.text(markdown=args.markdown))
    print("\nWhere the raw time goes (p50 per statement):\n" + report.breakdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
