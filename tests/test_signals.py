"""Facts and frustration signals from scripted journeys, batch boundaries included."""

from __future__ import annotations

from typing import Any

import msgspec

from sessionstory.events import event_decoder
from sessionstory.facts import batch_facts, fingerprint
from sessionstory.signals import SessionState, Signal, advance, settle
from tests.events import (
    T0, click, custom, error, meta, mouse_moves, mutation, network, page, scroll, snapshot,
)


def run(*batches: list[dict[str, Any]], quiet: bool = True) -> tuple[list[Signal], SessionState, int]:
    """Feed batches through facts and signals as the indexer does; returns every signal."""
    state, found, active = SessionState(), [], 0
    for events in batches:
        facts = batch_facts([event_decoder.decode(msgspec.json.encode(e)) for e in events])
        outcome, state = advance(state, facts)
        found += outcome.signals
        active += outcome.active_ms
    if quiet:
        found += settle(state)
    return found, state, active


def kinds(signals: list[Signal]) -> list[str]:
    return sorted(s.kind for s in signals)


def test_a_click_that_changes_the_page_is_fine() -> None:
    signals, *_ = run([page(T0, "https://shop.example/"), click(T0 + 100), mutation(T0 + 300)])
    assert kinds(signals) == []


def test_a_click_that_changes_nothing_is_dead() -> None:
    signals, *_ = run([page(T0, "https://shop.example/"), click(T0 + 100), mutation(T0 + 5000)])
    assert kinds(signals) == ["dead_click"]
    assert signals[0].click is not None and signals[0].click.selector == "button#buy"


def test_a_click_whose_effect_lands_in_the_next_batch_is_not_dead() -> None:
    signals, *_ = run([page(T0, "/a"), click(T0 + 900)], [mutation(T0 + 1500)])
    assert kinds(signals) == []


def test_a_click_at_the_end_of_a_quiet_session_is_dead() -> None:
    signals, *_ = run([page(T0, "/a"), click(T0 + 900)])
    assert kinds(signals) == ["dead_click"]


def test_a_request_or_navigation_counts_as_an_effect() -> None:
    signals, *_ = run([click(T0), network(T0 + 400, "https://api.example/cart", 200, duration=100)])
    assert kinds(signals) == []
    signals, *_ = run([click(T0), page(T0 + 300, "/next", kind="push")])
    assert kinds(signals) == []


def test_a_signal_names_the_page_its_click_was_on_not_the_batchs_last() -> None:
    dead, *_ = run([page(T0, "/pricing"), click(T0 + 100), page(T0 + 5000, "/contact")])
    assert [(s.kind, s.url) for s in dead] == [("dead_click", "/pricing")]
    rage, *_ = run([page(T0, "/pricing")],
                   [click(T0 + 100), click(T0 + 300), click(T0 + 500), page(T0 + 600, "/contact")])
    assert ("rage_click", "/pricing") in [(s.kind, s.url) for s in rage]


def test_rage_click_is_one_signal_per_burst_even_across_batches() -> None:
    burst = [click(T0 + i * 150, x=200 + i, y=300) for i in range(3)]
    more = [click(T0 + 450 + i * 150, x=203, y=301) for i in range(3)]
    signals, *_ = run([mutation(T0 - 10), *burst], [*more, mutation(T0 + 1500)])
    assert kinds(signals).count("rage_click") == 1


def test_clicks_far_apart_are_not_rage() -> None:
    clicks = [click(T0 + i * 150, x=100 + i * 200, y=300) for i in range(4)]
    signals, *_ = run([*clicks, *[mutation(T0 + i * 150 + 50) for i in range(4)]])
    assert "rage_click" not in kinds(signals)


def test_error_click() -> None:
    signals, *_ = run([click(T0), mutation(T0 + 100), error(T0 + 400)])
    assert kinds(signals) == ["error_click"]
    signals, *_ = run([click(T0 + 900), mutation(T0 + 950)], [error(T0 + 1300)])
    assert kinds(signals) == ["error_click"], "the error arrived in the next batch"


def test_thrashed_cursor() -> None:
    swings = [100, 400, 100, 400, 100, 400, 100]
    signals, *_ = run([mouse_moves(T0 + 1000, swings, step=100)])
    assert kinds(signals) == ["thrashed_cursor"]
    signals, *_ = run([mouse_moves(T0 + 1000, [100, 150, 200, 250, 300, 350], step=100)])
    assert kinds(signals) == []


def test_quick_back() -> None:
    signals, *_ = run([page(T0, "/list"), page(T0 + 2000, "/item/1", kind="push")], [page(T0 + 5000, "/list", kind="pop")])
    assert kinds(signals) == ["quick_back"]
    assert signals[0].url == "/item/1"
    signals, *_ = run([page(T0, "/list"), page(T0 + 2000, "/item/1"), page(T0 + 30_000, "/list")])
    assert kinds(signals) == []


def test_excessive_scrolling() -> None:
    ys = [0, 1500, 200, 1800, 100, 1600, 0]
    signals, *_ = run([meta(T0, height=800), snapshot(T0), *[scroll(T0 + 100 + i * 400, y) for i, y in enumerate(ys)]])
    assert kinds(signals) == ["excessive_scroll"]
    calm = [0, 400, 800, 1200, 1600]
    signals, *_ = run([meta(T0, height=800), snapshot(T0), *[scroll(T0 + 100 + i * 400, y) for i, y in enumerate(calm)]])
    assert kinds(signals) == []


def test_active_time_skips_idle_gaps() -> None:
    moves = [mouse_moves(T0 + 1000, [1, 2, 3], step=500), mouse_moves(T0 + 60_000, [5, 6], step=1000)]
    _, _, active = run(moves[:1], moves[1:])
    assert active == 2000, "1 s + 1 s of movement; the 59 s between is idle"


def test_facts_of_a_batch() -> None:
    events = [
        meta(T0, "https://shop.example/"), snapshot(T0 + 1),
        page(T0 + 2, "https://shop.example/", title="Shop", referrer="https://search.example/"),
        custom(T0 + 10, "input", selector="#email", type="email", name="email"),
        custom(T0 + 20, "scroll", depth=55, height=3000),
        custom(T0 + 30, "console", level="error", message="boom"),
        network(T0 + 500, "https://api.example/pay?card=*", 502, duration=300, method="post"),
        custom(T0 + 600, "vitals", name="LCP", value=1234.0, rating="good"),
        custom(T0 + 700, "track", name="checkout", props={"total": 12}),
        custom(T0 + 800, "identify", user_id="u-42", traits={"plan": "pro"}),
        error(T0 + 900),
    ]
    f = batch_facts([event_decoder.decode(msgspec.json.encode(e)) for e in events])
    assert [p.url for p in f.pages] == ["https://shop.example/"], "our page event wins over Meta"
    assert f.pages[0].referrer == "https://search.example/"
    assert f.inputs[0].selector == "#email"
    assert f.scrolls[0].depth == 55
    assert f.console[0].message == "boom"
    assert (f.network[0].method, f.network[0].status, f.network[0].at) == ("POST", 502, T0 + 200)
    assert f.vitals[0].name == "LCP" and f.vitals[0].value == 1234.0
    assert f.customs[0].name == "checkout" and '"total":12' in f.customs[0].props
    assert f.identifies[0].user_id == "u-42"
    assert f.errors[0].fingerprint


def test_hostile_payloads_are_bounded_and_never_crash() -> None:
    events = [
        custom(T0, "click", selector="x" * 10_000, text=None, x="NaN", y=1e30),
        custom(T0, "vitals", name="LCP", value="fast"),
        custom(T0, "error", message=["not", "a", "string"]),
        custom(T0, "identify", user_id=""),
        {"type": 5, "timestamp": T0, "data": {"tag": "page", "payload": "not an object"}},
        {"type": 3, "timestamp": T0, "data": {"source": 1, "positions": "nope"}},
        {"type": 3, "timestamp": T0, "data": "garbage"},
    ]
    f = batch_facts([event_decoder.decode(msgspec.json.encode(e)) for e in events])
    assert len(f.clicks[0].selector) <= 300 and f.clicks[0].x == 0 and f.clicks[0].y == 2**31 - 1
    assert f.vitals == [] and f.identifies == [] and f.pages == []


def test_fingerprints_group_errors_that_differ_only_in_values() -> None:
    a = fingerprint("Cannot read id 123 of 'cart-9f8e7d6c'", "at pay (https://x/app.js?v=1:10:5)")
    b = fingerprint("Cannot read id 456 of 'cart-0a1b2c3d'", "at pay (https://x/app.js?v=2:11:7)")
    c = fingerprint("Cannot read id 456 of 'cart-0a1b2c3d'", "at refund (https://x/app.js:11:7)")
    assert a == b != c
