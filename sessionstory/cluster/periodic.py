"""A daemon thread that calls one function every so many seconds until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    def __init__(self, name: str, every_s: float, work: Callable[[], object]) -> None:
        self._name, self._every_s, self._work = name, every_s, work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self._work()  # must not raise: a thread that dies stops the work for good
