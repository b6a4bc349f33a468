"""Whether a cluster node can reach what it shares: the object store and the catalog's Postgres.

`/readyz` answers on the event loop, so it must not wait on the network: a thread probes
both every PROBE_S and `checks()` reads the last answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sessionstory.cluster.periodic import Periodic
from sessionstory.store.objects import short_error

log = logging.getLogger(__name__)

PROBE_S = 5.0

Probe = Callable[[], object]


class ClusterHealth:
    def __init__(self, probes: dict[str, Probe], probe_s: float = PROBE_S) -> None:
        self._probes = probes  # name -> a call that raises when that part cannot be reached
        self._failures: dict[str, str | None] = dict.fromkeys(probes)
        self._timer = Periodic("cluster-health", probe_s, self.probe)

    def checks(self) -> dict[str, str | None]:
        """Each shared part's failure at the last probe, or None where it answered."""
        return dict(self._failures)

    def probe(self) -> None:
        for name, probe in self._probes.items():
            try:
                probe()
            except Exception as exc:  # down, refused, timed out: what /readyz reports
                failure = f"cannot reach the cluster's {name}: {short_error(exc)}"
                if self._failures[name] is None:
                    log.error("%s", failure)
                self._failures[name] = failure
            else:
                self._failures[name] = None

    def start(self) -> None:
        self.probe()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
