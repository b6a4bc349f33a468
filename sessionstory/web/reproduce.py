"""Steps to reproduce a session: as JSON for the player, and as a Playwright test to download."""

from __future__ import annotations

import msgspec

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery

from sessionstory.events import Event
from sessionstory.index.compaction import session_records
from sessionstory.index.sessions import session_exists
from sessionstory.replay import session_events
from sessionstory.reproduce import Reproduction, filename_for, playwright_test, reproduction
from sessionstory.store import Location
from sessionstory.store.kept import Kept
from sessionstory.web.security import api_user, datadir
from sessionstory.web.threads import blocking

FORMATS = ("json", "playwright")


class StepItem(msgspec.Struct):
    n: int
    at: int
    text: str
    kind: str


class Steps(msgspec.Struct):
    steps: list[StepItem]


# The steps of the sessions read last, by the records they were read from: the player asks for them at every
# opening, and reading a long session whole takes a while (a 60-minute one: 152 ms, quiet). A session that
# gains a batch, or whose records compaction, redaction or erasure moved, has other records: read again
# (and erased records take their steps with them). Keyed by data directory too: one process may serve
# several (tests), whose locations can coincide.
StepsKey = tuple[str, str, tuple[tuple[int, Location], ...]]
MADE_KEPT = 32
_made: Kept[StepsKey, Reproduction] = Kept(MADE_KEPT, lambda key: (location for _, location in key[2]))


def _read(request: Request, session_id: str) -> Reproduction:  # type: ignore[type-arg]
    api_user(request)
    dd = datadir(request)
    records = dd.index.read(lambda cur: session_records(cur, session_id) if session_exists(cur, session_id) else None)
    if records is None:
        raise NotFoundException(f"no session {session_id!r}")
    key = (str(dd.settings.data_dir), session_id, tuple(sorted(records.items())))
    return _made.get_or_make(key, lambda: reproduction(
        msgspec.json.decode(session_events(dd.log, dd.index, session_id), type=list[Event])))


def _test_file(request: Request, session_id: str, found: Reproduction) -> Response[str]:  # type: ignore[type-arg]
    replay_url = f"{datadir(request).settings.base_url}/sessions/{session_id}"
    return Response(playwright_test(found, session_id, replay_url), media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename_for(session_id)}"'})


@get("/api/v1/sessions/{session_id:str}/steps")
@blocking
def steps(request: Request, session_id: FromPath[str],  # type: ignore[type-arg]
          format: FromQuery[str] = "json") -> Steps | Response[str]:
    """The session as numbered steps; `?format=playwright` gives the test file instead."""
    if format not in FORMATS:
        raise ValidationException(f"format must be one of {', '.join(FORMATS)}")
    found = _read(request, session_id)
    if format == "playwright":
        return _test_file(request, session_id, found)
    return Steps(steps=[StepItem(n=s.n, at=s.at, text=s.text, kind=s.kind) for s in found.steps])


@get("/api/v1/sessions/{session_id:str}/steps.py")
@blocking
def steps_test(request: Request, session_id: FromPath[str]) -> Response[str]:  # type: ignore[type-arg]
    """The steps as a runnable Playwright test (pytest or plain python)."""
    return _test_file(request, session_id, _read(request, session_id))
