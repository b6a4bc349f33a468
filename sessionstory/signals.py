"""Frustration signals that may span batches, judged with a little state per session.

Each threshold is a named constant, documented in docs/signals.md. `advance` takes the
session's carried state and one batch's facts, and returns what became certain plus the
new state; `settle` ends the session (or its quiet spell) and judges what was pending.
Batches are advanced in seq order: index/apply.py folds a session again from its first
batch when one arrives after a later one, so what is judged never depends on arrival.
"""

from __future__ import annotations

import math

import msgspec

from sessionstory.facts import BatchFacts, Click, PageView, Point

RAGE_CLICKS = 3  # clicks ...
RAGE_WINDOW_MS = 1000  # ... within this long ...
RAGE_RADIUS_PX = 30  # ... and this close to the first make a rage click
DEAD_CLICK_MS = 1000  # no DOM change, scroll, page or request this soon after a click: dead
ERROR_CLICK_MS = 1000  # a JS error this soon after a click: an error click
THRASH_WINDOW_MS = 2000  # within this long ...
THRASH_REVERSALS = 4  # ... this many horizontal direction changes ...
THRASH_MIN_SWING_PX = 60  # ... each after a swing at least this wide: thrashed cursor
QUICK_BACK_MS = 10_000  # left a page and came back to the one before within this long
SCROLL_WINDOW_MS = 10_000  # within this long ...
SCROLL_REVERSALS = 4  # ... this many vertical direction changes ...
SCROLL_SCREENS = 3  # ... and this many viewport heights travelled: excessive scrolling
ACTIVE_GAP_MS = 5000  # input events closer than this count as continuous activity


class Signal(msgspec.Struct):
    """A frustration signal at a moment, with the click it is about when there is one."""

    kind: str  # rage_click | dead_click | error_click | thrashed_cursor | quick_back | excessive_scroll
    at: int
    click: Click | None = None
    url: str = ""


class SessionState(msgspec.Struct):
    """What the next batch needs to know of the ones before; stored with the session row."""

    url: str = ""  # the page the visitor is on
    pages: list[PageView] = []  # the last two page views, for quick backs
    recent_clicks: list[Click] = []  # clicks of the last RAGE_WINDOW_MS
    in_rage: bool = False
    pending: list[Click] = []  # clicks whose outcome the batch ended too soon to see
    moves: list[Point] = []  # mouse positions of the last THRASH_WINDOW_MS
    thrash_checked: int = 0
    thrash_until: int = 0
    scrolls: list[Point] = []  # document scroll offsets of the last SCROLL_WINDOW_MS
    scroll_until: int = 0
    viewport_h: int = 0
    last_activity: int | None = None


class Outcome(msgspec.Struct):
    signals: list[Signal]
    active_ms: int


def advance(state: SessionState, facts: BatchFacts) -> tuple[Outcome, SessionState]:
    signals: list[Signal] = []
    _place_clicks(facts, state.url)
    if facts.viewport:
        state.viewport_h = facts.viewport[1]
    signals += _settle_pending(state, facts)
    signals += _quick_backs(state, facts.pages)
    signals += _rage(state, facts.clicks)
    signals += _thrash(state, facts.moves)
    signals += _scrolling(state, facts.doc_scrolls)
    for click in facts.clicks:
        signals += _judge_click(state, click, facts.last_ms)
    active = _active_ms(state, facts.activity)
    return Outcome(signals=signals, active_ms=active), state


def _place_clicks(facts: BatchFacts, url_before: str) -> None:
    """Name each click's page: a batch may open another page after a click, and a signal
    about the click belongs to the page it was made on."""
    pages = sorted(facts.pages, key=lambda p: p.at)
    for click in facts.clicks:
        click.url = url_before
        for page in pages:
            if page.at > click.at:
                break
            click.url = page.url


def settle(state: SessionState) -> list[Signal]:
    """The session went quiet: nothing followed the pending clicks that showed no effect yet."""
    signals = [Signal("dead_click", c.at, c, c.url or state.url) for c in state.pending if not _effect_seen(c)]
    state.pending = []
    return signals


def _effect_seen(click: Click) -> bool:
    return click.next_activity is not None and click.next_activity - click.at <= DEAD_CLICK_MS


def _error_seen(click: Click) -> bool:
    return click.next_error is not None and click.next_error - click.at <= ERROR_CLICK_MS


def _judge_click(state: SessionState, click: Click, batch_end: int) -> list[Signal]:
    out = []
    if _error_seen(click):
        out.append(Signal("error_click", click.at, click, click.url or state.url))
    if batch_end - click.at < max(DEAD_CLICK_MS, ERROR_CLICK_MS) and not (_effect_seen(click) and _error_seen(click)):
        state.pending.append(click)  # the batch ended too soon: the next one may show an effect or an error
    elif not _effect_seen(click):
        out.append(Signal("dead_click", click.at, click, click.url or state.url))
    return out


def _settle_pending(state: SessionState, facts: BatchFacts) -> list[Signal]:
    out = []
    for click in state.pending:
        if not _error_seen(click) and facts.first_error is not None and facts.first_error - click.at <= ERROR_CLICK_MS:
            out.append(Signal("error_click", click.at, click, click.url or state.url))
        later_effect = facts.first_change is not None and facts.first_change - click.at <= DEAD_CLICK_MS
        if not _effect_seen(click) and not later_effect:
            out.append(Signal("dead_click", click.at, click, click.url or state.url))
    state.pending = []
    return out


def _quick_backs(state: SessionState, pages: list[PageView]) -> list[Signal]:
    out = []
    for page in pages:
        if len(state.pages) == 2:
            before, left = state.pages
            if page.url == before.url and page.url != left.url and page.at - left.at <= QUICK_BACK_MS:
                out.append(Signal("quick_back", left.at, None, left.url))
        state.pages = [*state.pages[-1:], page]
        state.url = page.url
    return out


def _rage(state: SessionState, clicks: list[Click]) -> list[Signal]:
    out = []
    for click in clicks:
        near = [
            c for c in state.recent_clicks
            if click.at - c.at <= RAGE_WINDOW_MS and math.dist((c.x, c.y), (click.x, click.y)) <= RAGE_RADIUS_PX
        ]
        if len(near) + 1 >= RAGE_CLICKS:
            if not state.in_rage:  # one burst is one rage click, however long it lasts
                out.append(Signal("rage_click", near[0].at, near[0], near[0].url or state.url))
            state.in_rage = True
        elif not near:
            state.in_rage = False
        state.recent_clicks = [c for c in state.recent_clicks if click.at - c.at <= RAGE_WINDOW_MS] + [click]
    return out


def _reversals(points: list[Point], axis: str, min_swing: float) -> int:
    """Direction changes along one axis, counting only swings of at least `min_swing`."""
    count, direction, anchor = 0, 0, None
    for p in points:
        v = p.x if axis == "x" else p.y
        if anchor is None:
            anchor = v
            continue
        delta = v - anchor
        if abs(delta) < min_swing:
            continue
        new = 1 if delta > 0 else -1
        if direction and new != direction:
            count += 1
        direction, anchor = new, v
    return count


THRASH_CHECK_MS = 200  # how often the window is judged: per point would be quadratic


def _thrash(state: SessionState, moves: list[Point]) -> list[Signal]:
    out = []
    for i, point in enumerate(moves):
        state.moves.append(point)
        last = i == len(moves) - 1
        if point.at - state.moves[0].at <= THRASH_WINDOW_MS and not last and point.at - state.thrash_checked < THRASH_CHECK_MS:
            continue
        state.moves = [m for m in state.moves if point.at - m.at <= THRASH_WINDOW_MS]
        state.thrash_checked = point.at
        if point.at > state.thrash_until and _reversals(state.moves, "x", THRASH_MIN_SWING_PX) >= THRASH_REVERSALS:
            out.append(Signal("thrashed_cursor", state.moves[0].at, None, state.url))
            state.thrash_until = point.at + THRASH_WINDOW_MS
    return out


def _scrolling(state: SessionState, scrolls: list[Point]) -> list[Signal]:
    out = []
    screen = state.viewport_h or 800
    for point in scrolls:
        state.scrolls = [s for s in state.scrolls if point.at - s.at <= SCROLL_WINDOW_MS] + [point]
        if point.at <= state.scroll_until:
            continue
        travelled = sum(abs(b.y - a.y) for a, b in zip(state.scrolls, state.scrolls[1:]))
        if travelled >= SCROLL_SCREENS * screen and _reversals(state.scrolls, "y", screen / 4) >= SCROLL_REVERSALS:
            out.append(Signal("excessive_scroll", state.scrolls[0].at, None, state.url))
            state.scroll_until = point.at + SCROLL_WINDOW_MS
    return out


def _active_ms(state: SessionState, activity: list[int]) -> int:
    # One per mouse-move point: the index writer's busiest loop, so the state is read and written once.
    total, last = 0, state.last_activity
    for at in sorted(activity):
        if last is None:
            last = at
            continue
        if 0 <= at - last <= ACTIVE_GAP_MS:
            total += at - last
        if at > last:
            last = at
    state.last_activity = last
    return total
