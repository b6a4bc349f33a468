"""The scenario sessions: journeys through the tea shop in `eval/site/`, recorded with the real
SDK in Chromium by `python -m eval.record` (kept in `recordings.json.zst`), each with the facts
a good summary of it must mention: each fact a list of words, any one of which counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import zstandard

RECORDINGS = Path(__file__).parent / "recordings.json.zst"

ERROR = ["error", "broke", "crash"]
FRUSTRATION = ["again", "rage", "repeated", "frustrat", "kept clicking", "over and over"]
NOTHING = ["nothing", "dead", "did not", "didn't", "no response", "unresponsive"]
BOUGHT = ["bought", "purchase", "order"]

# What each recorded journey must bring out (the journeys themselves: eval/record.py).
MUST: dict[str, list[list[str]]] = {
    "checkout-typeerror-rage": [["typeerror", *ERROR], FRUSTRATION],
    "smooth-purchase": [BOUGHT],
    "pricing-dead-click": [NOTHING],
    "payment-fails": [["fail", "500"]],
    "bounce-from-home": [["home", "landing", "left", "one page", "bounce"]],
    "signup": [["sign"]],
    "blog-referenceerror": [["referenceerror", *ERROR]],
    "cart-abandoned": [["cart"]],
    "search-filter-dead": [NOTHING],
    "products-stock-404": [["fail", "404", "not found"]],
    "docs-reader": [["/docs-api.html", "docs", "documentation", "install", "api"]],
    "contact-submit-rage": [FRUSTRATION],
    "settings-save-error": [["typeerror", *ERROR]],
    "login-rejected": [["fail", "401", "denied", "rejected"]],
    "purchase-despite-error": [BOUGHT, ["typeerror", *ERROR]],
    "quick-back": [["back", "within seconds", "quick"]],
    "form-abandoned": [["typed", "form", "field", "filled"]],
    "slow-deals": [["slow", "took"]],
}


class Scenario(msgspec.Struct):
    id: str
    events: list[dict[str, Any]]
    must: list[list[str]]  # every inner list needs one of its words in the summary


def recordings() -> dict[str, list[dict[str, Any]]]:
    """{scenario id: its recorded events}, as `python -m eval.record` kept them."""
    data = json.loads(zstandard.ZstdDecompressor().decompress(RECORDINGS.read_bytes()))
    return {s["id"]: s["events"] for s in data}


def _load() -> list[Scenario]:
    if not RECORDINGS.exists():  # before the first `python -m eval.record`
        return []
    recorded = recordings()
    return [Scenario(name, recorded[name], must) for name, must in MUST.items() if name in recorded]


SCENARIOS = _load()
