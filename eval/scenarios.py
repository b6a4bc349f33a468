"""Sessions built with the SDK's event shapes (tests/events.py), and the facts a good summary
of each must mention: each fact is a list of words, any one of which counts."""

from __future__ import annotations

from typing import Any

import msgspec

from tests.events import T0, click, custom, error, meta, mutation, network, page, snapshot

SHOP = "https://shop.example"


class Scenario(msgspec.Struct):
    id: str
    events: list[dict[str, Any]]
    must: list[list[str]]  # every inner list needs one of its words in the summary


def _visit(*steps: tuple[int, str, str], end: int = 20_000) -> list[dict[str, Any]]:
    first = SHOP + steps[0][1]
    events = [meta(T0, first), snapshot(T0)]
    events += [page(T0 + at, SHOP + path, title) for at, path, title in steps]
    return events + [mutation(T0 + end)]


def _rage(at: int, text: str) -> list[dict[str, Any]]:
    return [click(T0 + at + i * 120, x=300, y=400, text=text) for i in range(4)]


def _event(at: int, name: str) -> dict[str, Any]:
    return custom(T0 + at, "track", name=name)


def _clicked(at: int, text: str) -> list[dict[str, Any]]:
    """A click the page answers (a mutation follows), so it is no dead click."""
    return [click(T0 + at, x=200, y=200, text=text), mutation(T0 + at + 50)]


SCENARIOS = [
    Scenario("checkout-typeerror-rage",
             _visit((0, "/cart", "Your cart")) + _rage(1000, "Checkout")
             + [error(T0 + 1200, "TypeError: Cannot read properties of undefined (reading 'total')")],
             [["typeerror", "error", "broke", "crash"], ["again", "rage", "repeated", "frustrat", "kept"]]),
    Scenario("smooth-purchase",
             _visit((0, "/products/sencha", "Sencha"), (8000, "/checkout", "Checkout"))
             + _clicked(3000, "Add to cart") + [_event(12_000, "purchase")],
             [["bought", "purchase", "order", "checkout"]]),
    Scenario("pricing-dead-click",
             _visit((0, "/pricing", "Pricing"), (9000, "/contact", "Contact"))
             + [click(T0 + 2000, x=500, y=300, selector="button.compare", text="Compare plans")],
             [["nothing", "dead", "did not", "didn't", "no response", "unresponsive"]]),
    Scenario("payment-request-fails",
             _visit((0, "/checkout", "Checkout")) + _clicked(2000, "Pay now")
             + [network(T0 + 2100, SHOP + "/api/pay", 500, method="POST")],
             [["fail", "500", "error"]]),
    Scenario("bounce-from-home", _visit((0, "/", "Tea shop"), end=3000), [["home", "/", "landing", "left", "one page"]]),
    Scenario("signup",
             _visit((0, "/signup", "Sign up"), (15_000, "/welcome", "Welcome")) + _clicked(12_000, "Create account")
             + [_event(14_000, "signup")],
             [["sign"]]),
    Scenario("blog-referenceerror",
             _visit((0, "/blog/how-to-brew", "How to brew")) + [error(T0 + 800, "ReferenceError: gtag is not defined")],
             [["referenceerror", "error"]]),
    Scenario("cart-abandoned",
             _visit((0, "/products/oolong", "Oolong"), (6000, "/cart", "Your cart")) + _clicked(3000, "Add to cart")
             + [_event(3100, "add_to_cart")],
             [["cart"]]),
    Scenario("search-filter-dead",
             _visit((0, "/search", "Search"))
             + [click(T0 + 1500, x=80, y=200, selector="button.filter", text="Filter"),
                click(T0 + 4500, x=80, y=200, selector="button.filter", text="Filter")],
             [["nothing", "dead", "did not", "didn't", "no response", "unresponsive"]]),
    Scenario("products-404",
             _visit((0, "/products", "Teas")) + [network(T0 + 500, SHOP + "/api/products", 404)],
             [["fail", "404", "error", "not found"]]),
    Scenario("docs-reader",
             _visit((0, "/docs", "Docs"), (20_000, "/docs/install", "Install"), (60_000, "/docs/api", "API"),
                    end=90_000),
             [["doc", "install", "api"]]),
    Scenario("contact-submit-rage",
             _visit((0, "/contact", "Contact")) + _rage(5000, "Submit"),
             [["again", "rage", "repeated", "frustrat", "kept"]]),
    Scenario("settings-save-error-click",
             _visit((0, "/settings", "Settings")) + [click(T0 + 2000, x=100, y=500, text="Save"),
                                                      error(T0 + 2100, "TypeError: prefs is null")],
             [["typeerror", "error", "broke", "crash"]]),
    Scenario("login-rejected",
             _visit((0, "/login", "Sign in")) + _clicked(4000, "Sign in")
             + [network(T0 + 4100, SHOP + "/api/login", 401, method="POST")],
             [["fail", "401", "error", "denied", "rejected"]]),
    Scenario("purchase-despite-error",
             _visit((0, "/products/matcha", "Matcha"), (7000, "/checkout", "Checkout"))
             + [error(T0 + 1000, "TypeError: zoom is not a function"), _event(9000, "purchase")],
             [["bought", "purchase", "order"], ["error", "typeerror"]]),
]
