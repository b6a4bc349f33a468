"""A session's summary streamed to its page as the model writes it (Server-Sent Events, read by
htmx's sse extension).

Events, in order: `piece` (the model's next words, HTML-escaped: htmx swaps them in as HTML),
then `card` (the finished `_insight.html`, as `GET /sessions/{id}/insight` renders it), then
`done`. A cached summary, or a model that cannot load, sends the card at once. A viewer who
leaves cancels the model's job: dropped if it is still queued, stopped at its next token if it
is running; nothing is cached then.
"""

from __future__ import annotations

import asyncio
import html
import logging
import threading
from collections.abc import AsyncIterator, Callable

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from sessionstory.auth import SignIn
from sessionstory.datadir import DataDir
from sessionstory.handoff import HANDS
from sessionstory.index.sessions import session_exists
from sessionstory.insights.llm import Cancelled, Job, ModelUnavailable
from sessionstory.insights.summary import Insight, session_insight
from sessionstory.web.live import HEARTBEAT_S
from sessionstory.web.pages import render, require_sign_in
from sessionstory.web.security import datadir

log = logging.getLogger(__name__)
_FINISHED = None  # what the queue holds once the job has returned or failed


@get("/sessions/{session_id:str}/insight/stream")
async def insight_stream(request: Request, session_id: FromPath[str]) -> ServerSentEvent:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    dd = datadir(request)
    # Checked before the stream opens, so an unknown session is a plain 404 and not an event.
    if not await dd.index.read_async(lambda cur: session_exists(cur, session_id)):
        raise NotFoundException(f"no session {session_id!r}")
    return ServerSentEvent(
        _events(request, sign_in, dd, session_id),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, sign_in: SignIn, dd: DataDir,  # type: ignore[type-arg]
                  session_id: str) -> AsyncIterator[ServerSentEventMessage]:
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[str | None] = asyncio.Queue()
    left = threading.Event()
    jobs: list[Job] = []

    def on_text(piece: str) -> None:  # in the model's worker thread
        loop.call_soon_threadsafe(pieces.put_nowait, piece)

    def on_job(model_job: Job) -> None:  # in the thread below, once the job is queued
        jobs.append(model_job)
        if left.is_set():  # the viewer left before it was queued: the `finally` below missed it
            model_job.cancel()

    job = asyncio.ensure_future(HANDS.run(_make, dd, session_id, on_text, on_job))
    # Put after every piece: the thread scheduled those before it returned.
    job.add_done_callback(lambda _: pieces.put_nowait(_FINISHED))
    try:
        async for text in _written(pieces):
            if text is None:
                yield ServerSentEventMessage(comment="writing")
            else:
                yield ServerSentEventMessage(event="piece", data=html.escape(text))
        insight, problem = await job
        yield ServerSentEventMessage(event="card", data=_card(request, sign_in, insight, problem))
        yield ServerSentEventMessage(event="done", data="")
    finally:
        left.set()
        for model_job in list(jobs):
            if not model_job.future.done():
                log.info("stopped the summary of %s: its viewer left", session_id)
                model_job.cancel()


async def _written(pieces: asyncio.Queue[str | None]) -> AsyncIterator[str | None]:
    """The model's text in the chunks it is there (None: a heartbeat) until the job finishes."""
    while True:
        try:
            piece = await asyncio.wait_for(pieces.get(), HEARTBEAT_S)
        except TimeoutError:
            yield None  # a model loading or busy with another job: keep proxies from closing the stream
            continue
        chunk = [piece]
        while chunk[-1] is not _FINISHED and not pieces.empty():
            chunk.append(pieces.get_nowait())  # the loop fell behind the model: one message, one swap
        text = "".join(p for p in chunk if p is not None)
        if text:
            yield text
        if chunk[-1] is _FINISHED:
            return


def _make(dd: DataDir, session_id: str, on_text: Callable[[str], None],
          on_job: Callable[[Job], None]) -> tuple[Insight | None, str | None]:
    try:
        made = session_insight(dd.index, dd.model, session_id, on_text=on_text, on_job=on_job)
    except ModelUnavailable as exc:
        return None, str(exc)
    except Cancelled:
        return None, "stopped: no one was watching"  # never sent: the stream has ended
    except Exception:
        # Said in the card: a stream that broke instead would be reopened by the browser, and fail again.
        log.exception("the summary of %s failed", session_id)
        return None, "the summary could not be made (the server's log says why)"
    # Deleted since the stream opened: said in the card rather than as a broken stream.
    return (made, None) if made is not None else (None, "this session no longer exists")


def _card(request: Request, sign_in: SignIn, insight: Insight | None, problem: str | None) -> str:  # type: ignore[type-arg]
    """`_insight.html` with the very context the card route gives it."""
    page = render("_insight.html", request, sign_in, insight=insight, problem=problem)
    template = request.app.template_engine.get_template(page.template_name)  # type: ignore[union-attr]
    return template.render(**page.context, request=request)  # type: ignore[no-any-return]
