"""A smoke of the eval set (`make eval` runs all of it, with the model): the labelled set is
well formed, covers every filter, and the word parser alone keeps its measured score."""

from __future__ import annotations

from eval.__main__ import deterministic, mentions, score_search
from eval.questions import QUESTIONS
from eval.scenarios import SCENARIOS
from sessionstory.index.filters import parse_filters

CONTRACT_FILTERS = {"from", "to", "url", "min_duration_ms", "max_duration_ms", "has_errors", "rage_clicks",
                    "dead_clicks", "browser", "os", "device", "country", "user", "event", "q", "live", "sort"}
FLOOR = 0.85  # measured 87.0 % (40 of 46); the misses are the questions left to the model (docs/ai.md)


def test_the_set_is_well_formed_and_covers_every_filter() -> None:
    assert len(QUESTIONS) >= 40 and len(SCENARIOS) >= 15
    assert {name for _, spec in QUESTIONS for name in spec} == CONTRACT_FILTERS
    for _, spec in QUESTIONS:
        parse_filters(spec, 0)  # every label is a spec the session list accepts
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS) and all(s.must for s in SCENARIOS)
    assert mentions("It broke with a TypeError; they clicked again.", SCENARIOS[0])


def test_the_word_parser_keeps_its_score() -> None:
    scores = score_search(deterministic)
    assert scores["exact"] >= FLOOR and scores["precision"] >= 0.95
