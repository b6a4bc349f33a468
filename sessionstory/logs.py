"""The server's log lines: for people (the default) or one JSON object per line
(`SESSIONSTORY_LOG_FORMAT=json`) for a log shipper. Logs go to stderr (uvicorn's access
lines for people to stdout, as uvicorn does); the few banners meant for a person at the
console (the first admin's password) are printed to stdout.

Access lines are formatted and written by a background thread (`BackgroundStreamHandler`):
one per request, formatted and written on the event loop, was the largest part of a small
request's fixed cost after the socket writes.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

# uvicorn's access records carry (client, method, path, HTTP version, status) as their args.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
ACCESS_LOGGER = "uvicorn.access"
WRITE_EVERY_S = 0.05  # how late a line may reach its stream: one wake-up per interval, not per line


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


class BackgroundStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that leaves access lines to a daemon thread, which formats and writes
    what has queued every WRITE_EVERY_S (so a burst of requests wakes it once). Any other
    line is rare and may be the last before the process ends (uvicorn re-raises SIGTERM,
    so no exit hook runs): it is written at once, after the access lines queued before it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._queued: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._writing = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._write_loop, name="log-writer", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == ACCESS_LOGGER:
            self._queued.put(record)  # its arguments are strings and numbers: formatting later is safe
        else:
            self._write_queued(record)

    def flush(self) -> None:
        self._write_queued()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()

    def _write_loop(self) -> None:
        while not self._closed.wait(WRITE_EVERY_S):
            self._write_queued()

    def _write_queued(self, last: logging.LogRecord | None = None) -> None:
        with self._writing:  # the writer thread and the others: each line once, in order
            records = []
            while True:
                try:
                    records.append(self._queued.get_nowait())
                except queue.Empty:
                    break
            for record in [*records, *([last] if last else [])]:
                try:
                    self.stream.write(self.format(record) + self.terminator)
                except Exception:
                    self.handleError(record)
            if records or last:
                self.stream.flush()


def write_pending() -> None:
    """Write the access lines still queued (the app's shutdown calls this: after it, no request is served)."""
    for logger in (logging.getLogger(ACCESS_LOGGER), logging.getLogger()):
        for handler in logger.handlers:
            if isinstance(handler, BackgroundStreamHandler):
                handler.flush()


def configure(log_format: str) -> dict[str, Any] | None:
    """Set up the root logger (after litestar's app has set up its own); returns the
    `log_config` to give uvicorn (None: its loggers pass their records up to the root's
    handler, so they are JSON too)."""
    if log_format != "json":
        from uvicorn.config import LOGGING_CONFIG

        config = copy.deepcopy(LOGGING_CONFIG)  # people's lines, as ever, written in the background
        for handler in config["handlers"].values():
            handler["()"] = f"{__name__}.BackgroundStreamHandler"
            del handler["class"]
        return config
    handler = BackgroundStreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return None
