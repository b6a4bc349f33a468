"""Counting failures per key in a sliding window: what stops password guessing.

Kept in memory: the server is one process, and a restart forgiving a few failures
costs nothing that the argon2 hash does not already protect.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class FailureLimit:
    """At most `limit` failures per key within `window_s` seconds."""

    MAX_KEYS = 100_000  # bounds memory under a spray of distinct keys; the oldest are forgotten

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """Whole seconds until `key` may try again; 0 when it may now."""
        with self._lock:
            recent = self._recent(key)
            if recent is None or len(recent) < self.limit:
                return 0
            return max(1, math.ceil(recent[0] + self.window_s - self._clock()))

    def failed(self, key: str) -> None:
        with self._lock:
            recent = self._recent(key)
            if recent is None:
                if len(self._failures) >= self.MAX_KEYS:
                    del self._failures[next(iter(self._failures))]
                recent = self._failures[key] = deque()
            recent.append(self._clock())
            while len(recent) > self.limit:
                recent.popleft()

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        recent = self._failures.get(key)
        if recent is None:
            return None
        cutoff = self._clock() - self.window_s
        while recent and recent[0] <= cutoff:
            recent.popleft()
        if not recent:
            del self._failures[key]
            return None
        return recent


class SignInLimits:
    """Failed sign-ins: a few per account (guessing one password), more per address (spraying many)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_account = FailureLimit(5, 15 * 60, clock)
        self.per_address = FailureLimit(30, 15 * 60, clock)

    def retry_after(self, email: str, address: str) -> int:
        return max(self.per_account.retry_after(_account(email)), self.per_address.retry_after(address))

    def failed(self, email: str, address: str) -> None:
        self.per_account.failed(_account(email))
        self.per_address.failed(address)

    def succeeded(self, email: str) -> None:
        self.per_account.reset(_account(email))


def _account(email: str) -> str:
    return email.strip().lower()


class RateLimit:
    """A token bucket per key: `rate` requests a second on average, bursts of up to `burst`."""

    MAX_KEYS = 100_000

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token: 0 when allowed, else the seconds until one is there."""
        if self.rate <= 0:
            return 0.0  # unlimited
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if len(self._buckets) >= self.MAX_KEYS:
                del self._buckets[next(iter(self._buckets))]
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)  # re-inserted last: the dict stays in least-recent order
            return 0.0
