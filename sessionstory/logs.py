"""The server's log lines: for people (the default) or one JSON object per line
(`SESSIONSTORY_LOG_FORMAT=json`) for a log shipper. Logs go to stderr (uvicorn's access
lines for people to stdout, as uvicorn does); the few banners meant for a person at the
console (the first admin's password) are printed to stdout.

Access lines are ours, not uvicorn's (it runs with `access_log=False`), and the same lines as
its were: `AccessLog`, an ASGI middleware around the app, notes each request's fields in a
tuple when its answer starts and puts the tuple on a `BackgroundStreamHandler`'s queue; that
handler's thread makes the LogRecord, formats and writes it. A record made, formatted and
written on the event loop for every request was the largest part of a small request's fixed
cost after the socket writes.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# Access records carry (client, method, path, HTTP version, status) as their args, as uvicorn's did.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
_ACCESS_MESSAGE = '%s - "%s %s HTTP/%s" %d'
ACCESS_LOGGER = "uvicorn.access"  # the name access records carry: log shippers filter on it
# The logger whose handlers write access lines. Not uvicorn.access: uvicorn's access_log=False
# takes that one's handlers away, and any handler it has turns uvicorn's own access log back on.
ACCESS_ROUTE = "sessionstory.access"
WRITE_EVERY_S = 0.05  # how late a line may reach its stream: one wake-up per interval, not per line

# What the event loop notes of a request: (time, client, method, path, query string, HTTP version, status).
Noted = tuple[float, tuple[str, int] | None, str, str, bytes, str, int]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) == 5:
            line.update(zip(_ACCESS_FIELDS, record.args))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def access_record(noted: Noted) -> logging.LogRecord:
    """The LogRecord uvicorn made for a request's access line, from what the event loop noted."""
    at, client, method, path, query, http_version, status = noted
    full_path = quote(path) + (f"?{query.decode('ascii', 'backslashreplace')}" if query else "")
    args = ("%s:%d" % client if client else "", method, full_path, http_version, status)
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, _ACCESS_MESSAGE, args, None)
    record.created, record.msecs = at, int((at - int(at)) * 1000) + 0.0  # when the answer started, not now
    return record


class BackgroundStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that leaves access lines to a daemon thread, which makes, formats and
    writes what has queued every WRITE_EVERY_S (so a burst of requests wakes it once). Any
    other line is rare and may be the last before the process ends (uvicorn re-raises SIGTERM,
    so no exit hook runs): it is written at once, after the access lines queued before it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._queued: queue.SimpleQueue[Noted] = queue.SimpleQueue()
        self._writing = threading.Lock()
        self._stopped = threading.Event()  # not _closed: logging.Handler.close sets that one to True
        threading.Thread(target=self._write_loop, name="log-writer", daemon=True).start()

    def queue_access(self, noted: Noted) -> None:
        self._queued.put(noted)

    def emit(self, record: logging.LogRecord) -> None:
        self._write_queued(record)

    def flush(self) -> None:
        self._write_queued()

    def close(self) -> None:
        self._stopped.set()
        self.flush()
        super().close()

    def _write_loop(self) -> None:
        while not self._stopped.wait(WRITE_EVERY_S):
            self._write_queued()

    def _write_queued(self, last: logging.LogRecord | None = None) -> None:
        with self._writing:  # the writer thread and the others: each line once, in order
            noted = []
            while True:
                try:
                    noted.append(self._queued.get_nowait())
                except queue.Empty:
                    break
            for record in [*map(access_record, noted), *([last] if last else [])]:
                try:
                    self.stream.write(self.format(record) + self.terminator)
                except Exception:
                    self.handleError(record)
            if noted or last:
                self.stream.flush()


def _access_handlers() -> list[logging.Handler]:
    """The handlers an access record reaches, as Logger.callHandlers finds them."""
    found: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(ACCESS_ROUTE)
    while logger is not None:
        found += logger.handlers
        logger = logger.parent if logger.propagate else None
    return found


def access_writer() -> Callable[[Noted], None]:
    """Where AccessLog puts a request's fields: the background handler's queue, or (no such
    handler: tests, an embedding app's own logging) a record handled at once."""
    for handler in _access_handlers():
        if isinstance(handler, BackgroundStreamHandler):
            return handler.queue_access
    logger = logging.getLogger(ACCESS_ROUTE)
    return lambda noted: logger.handle(access_record(noted))


class AccessLog:
    """ASGI middleware: one access line per HTTP request, uvicorn's line, noted when the answer
    starts (as uvicorn did) and left to the log's thread to make and write."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._write: Callable[[Noted], None] | None = None  # found at the first request: logging is set up by then

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        write = self._write or self._find_writer()
        request = (scope.get("client"), scope["method"], scope["path"], scope["query_string"], scope["http_version"])
        started = False

        async def send_noting(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                write((time.time(), *request, message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_noting)
        except Exception:
            if not started:  # the server answers 500 for it, and uvicorn logged that line too
                write((time.time(), *request, 500))
            raise

    def _find_writer(self) -> Callable[[Noted], None]:
        self._write = access_writer()
        return self._write


def write_pending() -> None:
    """Write the access lines still queued (the app's shutdown calls this: after it, no request is served)."""
    for handler in _access_handlers():
        if isinstance(handler, BackgroundStreamHandler):
            handler.flush()


def configure(log_format: str) -> dict[str, Any] | None:
    """Set up the root logger (after litestar's app has set up its own); returns the
    `log_config` to give uvicorn (None: its loggers pass their records up to the root's
    handler, so they are JSON too). Access lines go through ACCESS_ROUTE's handlers."""
    # Nothing we print names a record's thread or process: with these off, a record skips their
    # lookups. The caller's stack walk stays: litestar's format for other lines prints %(module)s.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    if log_format != "json":
        from uvicorn.config import LOGGING_CONFIG

        config = copy.deepcopy(LOGGING_CONFIG)  # people's lines, as ever, written in the background
        for handler in config["handlers"].values():
            handler["()"] = f"{__name__}.BackgroundStreamHandler"
            del handler["class"]
        config["loggers"][ACCESS_ROUTE] = config["loggers"].pop(ACCESS_LOGGER)  # stdout, uvicorn's format
        return config
    handler = BackgroundStreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return None
