"""The synthetic site the benchmark's sessions visit: a web shop of 200 paths.

Plain data, loaded into DuckDB temporary tables by `load()`, so the generator in
`synth.py` can draw from it with joins. Browser, OS and device come from the real
user-agent parser (`sessionstory.context.agent`) and error fingerprints from the real
`sessionstory.facts.fingerprint`, so the rows look exactly as ingest would make them.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from sessionstory.context import agent
from sessionstory.facts import fingerprint

ORIGIN = "https://shop.example.com"
SITE = "Northwind"
SLOTS = 10_000  # weighted choices are spread over this many slots: hash % SLOTS picks one
VIEWPORT_SLOTS = 12

# -- who visits ---------------------------------------------------------------------

# (weight %, user agent): a 2025-ish mix, about half desktop, 45 % phones, 5 % tablets.
USER_AGENTS: list[tuple[float, str]] = [
    (24, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (4, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"),
    (5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
    (3, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (1, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0"),
    (7, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (5, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"),
    (1, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (1.5, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (0.5, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (16, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (4, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"),
    (2, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"),
    (17, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"),
    (3, "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    (0.5, "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"),
    (3, "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (1.5, "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
]

# (weight %, ISO 3166 code or None for an address that maps to no country)
COUNTRIES: list[tuple[float, str | None]] = [
    (28, "US"), (9, "DE"), (8, "GB"), (5, "FR"), (5, "IN"), (4, "CA"), (4, "BR"), (3, "NL"), (3, "ES"), (3, "IT"),
    (2.5, "JP"), (2.5, "AU"), (2, "PL"), (2, "MX"), (1.5, "SE"), (1.5, "CH"), (1.2, "AT"), (1.2, "BE"), (1, "IE"),
    (1, "DK"), (1, "NO"), (1, "PT"), (1, "TR"), (1, "KR"), (1, "ID"), (0.8, "FI"), (0.8, "ZA"), (0.8, "SG"),
    (0.8, "PH"), (0.8, "AR"), (1.6, None),
]

# (weight %, document.referrer of the first page; "" = typed in, bookmark, app)
REFERRERS: list[tuple[float, str]] = [
    (38, ""), (32, "https://www.google.com/"), (4, "https://www.bing.com/"), (3, "https://duckduckgo.com/"),
    (4, "https://www.facebook.com/"), (3, "https://l.instagram.com/"), (2, "https://t.co/"),
    (2, "https://www.reddit.com/"), (1, "https://news.ycombinator.com/"), (2, "https://www.pinterest.com/"),
    (2, "https://mail.google.com/"), (2, "https://www.youtube.com/"), (2, "https://chatgpt.com/"),
    (1, "https://www.linkedin.com/"),
]

VIEWPORTS: dict[str, list[tuple[int, int]]] = {
    "desktop": [(1920, 945), (1536, 730), (1366, 641), (1440, 789), (1280, 665), (2560, 1305)],
    "mobile": [(390, 664), (393, 660), (412, 783), (375, 553), (430, 739), (360, 640)],
    "tablet": [(768, 954), (810, 1010), (820, 1106), (1024, 1238)],
}

UTM = ["utm_source=google&utm_medium=cpc&utm_campaign=winter_sale",
       "utm_source=newsletter&utm_medium=email&utm_campaign=weekly_picks",
       "utm_source=facebook&utm_medium=paid_social&utm_campaign=retargeting",
       "utm_source=instagram&utm_medium=social&utm_campaign=new_in",
       "gclid=Cj0KCQiA"]

# -- what they visit ----------------------------------------------------------------

_COLOURS = ["Black", "Navy", "Olive", "Sand", "Rust", "Grey", "Ivory", "Forest", "Indigo", "Burgundy"]
_ITEMS = ["Linen Shirt", "Wool Sweater", "Rain Jacket", "Chino Trousers", "Canvas Sneakers", "Leather Belt",
          "Denim Jacket", "Merino Beanie", "Cotton Tee", "Puffer Vest", "Trail Shorts", "Weekend Bag"]
CATEGORIES = ["women", "men", "kids", "shoes", "bags", "accessories", "outerwear", "knitwear", "shirts", "trousers",
              "dresses", "sportswear", "home", "sale", "new-in"]
BLOG = ["how-to-wash-merino", "linen-care-guide", "capsule-wardrobe-basics", "spring-lookbook", "autumn-lookbook",
        "packing-for-a-weekend", "our-cotton-sourcing", "repair-dont-replace", "size-guide-explained",
        "meet-the-makers", "rain-gear-tested", "sneaker-cleaning-101", "gift-guide-for-him", "gift-guide-for-her",
        "behind-the-seams", "layering-for-winter", "the-perfect-white-tee", "denim-fits-explained",
        "travel-light", "hiking-essentials", "sustainable-dyes", "store-opening-berlin", "store-opening-lyon",
        "five-ways-to-style-a-scarf", "care-for-leather", "what-is-tencel", "from-sheep-to-sweater",
        "our-returns-promise", "workwear-edit", "festival-checklist", "minimalist-shoes", "kids-back-to-school",
        "holiday-party-outfits", "cold-weather-running", "bag-organisation-tips", "the-weekend-edit",
        "colour-of-the-season", "recycled-polyester-faq", "interview-with-our-designer", "year-in-review"]
STATIC = [("account", "/account", "Your account"), ("account", "/account/orders", "Your orders"),
          ("login", "/login", "Sign in"), ("signup", "/signup", "Create an account"),
          ("static", "/about", "About us"), ("static", "/contact", "Contact"), ("static", "/faq", "FAQ"),
          ("static", "/shipping", "Shipping"), ("static", "/returns", "Returns"),
          ("account", "/wishlist", "Your wishlist"), ("static", "/gift-cards", "Gift cards"),
          ("static", "/stores", "Our stores"), ("static", "/careers", "Careers"), ("static", "/press", "Press"),
          ("static", "/privacy", "Privacy"), ("static", "/terms", "Terms"), ("static", "/sitemap", "Sitemap"),
          ("static", "/size-guide", "Size guide"), ("account", "/account/addresses", "Your addresses")]
SEARCH_TERMS = ["linen shirt", "rain jacket", "sneakers", "gift card", "wool socks", "size guide", "black jeans",
                "merino", "weekend bag", "sale", "kids jacket", "belt", "white tee", "beanie", "returns",
                "puffer", "chinos", "hoodie", "scarf", "running"]

# Path ids: 0 home, 1-120 products, 121-135 categories, 136-175 blog, 176-179 the
# checkout funnel (cart, checkout, payment, thank you), 180 search, 181-199 the rest.
PRODUCTS = (1, 120)
CATEGORY_IDS = (121, 135)
BLOG_IDS = (136, 175)
FUNNEL_FIRST = 176
SEARCH_ID = 180
STATIC_IDS = (181, 199)
FUNNEL = [("cart", "/cart", "Your cart"), ("checkout", "/checkout", "Checkout"),
          ("payment", "/checkout/payment", "Payment"), ("thankyou", "/checkout/thank-you", "Thank you for your order")]


def paths() -> list[tuple[int, str, str, str]]:
    """(path id, path, page type, title) for the 200 paths of the shop."""
    rows = [(0, "/", "home", f"{SITE} – Clothing that lasts")]
    for n in range(PRODUCTS[0], PRODUCTS[1] + 1):
        name = f"{_COLOURS[n % len(_COLOURS)]} {_ITEMS[n % len(_ITEMS)]}"
        rows.append((n, f"/products/{n}", "product", f"{name} – {SITE}"))
    rows += [(CATEGORY_IDS[0] + k, f"/category/{c}", "category", f"{c.replace('-', ' ').title()} – {SITE}")
             for k, c in enumerate(CATEGORIES)]
    rows += [(BLOG_IDS[0] + k, f"/blog/{b}", "blog", f"{b.replace('-', ' ').capitalize()} – {SITE} Journal")
             for k, b in enumerate(BLOG)]
    rows += [(FUNNEL_FIRST + k, p, t, f"{title} – {SITE}") for k, (t, p, title) in enumerate(FUNNEL)]
    rows.append((SEARCH_ID, "/search", "search", f"Search – {SITE}"))
    rows += [(STATIC_IDS[0] + k, p, t, f"{title} – {SITE}") for k, (t, p, title) in enumerate(STATIC)]
    assert len(rows) == 200 and [r[0] for r in rows] == list(range(200))
    return rows


# Per page type: mean clicks per view, document height on desktop and on a phone.
PAGE_TYPES: dict[str, tuple[float, int, int]] = {
    "home": (1.6, 4200, 9800), "product": (2.4, 3200, 6900), "category": (2.0, 3600, 8800),
    "blog": (0.8, 5200, 11000), "cart": (2.2, 1600, 2600), "checkout": (3.0, 1800, 3000),
    "payment": (2.0, 1400, 2400), "thankyou": (0.6, 1200, 2000), "search": (1.8, 3000, 7200),
    "account": (1.4, 1800, 3200), "login": (1.5, 900, 1100), "signup": (1.8, 1100, 1500),
    "static": (0.9, 2200, 4600),
}

# Where people click, per page type: (selector as the SDK names it, visible text, tag,
# x as a fraction of the viewport width, y in CSS px on desktop).
HOTSPOTS: dict[str, list[tuple[str, str, str, float, int]]] = {
    "_nav": [("a.nav-link", "Women", "a", 0.30, 40), ("a.nav-link", "Men", "a", 0.36, 40),
             ('button[aria-label="Search"]', "", "button", 0.85, 40), ('a[aria-label="Cart"]', "", "a", 0.93, 40)],
    "home": [("#hero > a.btn.btn-primary", "Shop the sale", "a", 0.50, 520),
             ("div.product-grid > a.product-card", "Linen Shirt €59", "a", 0.25, 1250),
             ("div.product-grid > a.product-card", "Rain Jacket €129", "a", 0.75, 1250),
             ('form[aria-label="Newsletter"] > button', "Subscribe", "button", 0.60, 3800)],
    "product": [("#add-to-cart", "Add to cart", "button", 0.72, 620), ('select[name="size"]', "", "select", 0.72, 520),
                ("div.gallery > img", "", "img", 0.30, 450), ("button.wishlist", "Save", "button", 0.86, 620),
                ('button[data-testid="reviews-tab"]', "Reviews", "button", 0.50, 1400),
                ("nav.breadcrumbs > a", "Shop", "a", 0.10, 110), ("span.price", "", "span", 0.70, 410)],
    "category": [("a.product-card", "Olive Chino Trousers €79", "a", 0.20, 700),
                 ("a.product-card", "Navy Wool Sweater €99", "a", 0.50, 700),
                 ('button[data-testid="filter-size"]', "Size", "button", 0.12, 300),
                 ('select[name="sort"]', "", "select", 0.85, 300), ("a.pagination-next", "Next", "a", 0.50, 3400)],
    "blog": [("article a.related-product", "Shop the look", "a", 0.50, 2200), ("button.share", "Share", "button", 0.80, 300),
             ("a.read-more", "Read next", "a", 0.50, 4600)],
    "cart": [("#checkout-button", "Checkout", "button", 0.75, 700), ('input[name="quantity"]', "", "input", 0.55, 380),
             ("button.remove-item", "Remove", "button", 0.65, 380), ('input[name="coupon"]', "Coupon code", "input", 0.70, 560),
             ("a.continue-shopping", "Continue shopping", "a", 0.30, 760)],
    "checkout": [('input[name="email"]', "Email", "input", 0.40, 300), ('input[name="address"]', "Street and number", "input", 0.40, 480),
                 ("label.shipping-option", "Express (1–2 days)", "label", 0.40, 700),
                 ('button[data-testid="continue-to-payment"]', "Continue to payment", "button", 0.40, 900)],
    "payment": [("#pay-button", "Pay now", "button", 0.40, 820), ("iframe.card-field", "", "iframe", 0.40, 420),
                ("label.terms", "I accept the terms", "label", 0.40, 700)],
    "thankyou": [("a.btn.track-order", "Track your order", "a", 0.50, 500), ("a.continue-shopping", "Continue shopping", "a", 0.50, 600)],
    "search": [("a.product-card", "Black Leather Belt €45", "a", 0.30, 600), ('input[name="q"]', "Search", "input", 0.50, 200),
               ('button[data-testid="search-submit"]', "Search", "button", 0.70, 200)],
    "account": [("a.order-row", "Order #", "a", 0.50, 420), ("button.btn-primary", "Save", "button", 0.50, 800)],
    "login": [('input[name="email"]', "Email", "input", 0.50, 340), ('input[name="password"]', "Password", "input", 0.50, 420),
              ("button.btn-primary", "Sign in", "button", 0.50, 520)],
    "signup": [('input[name="email"]', "Email", "input", 0.50, 340), ('input[name="password"]', "Password", "input", 0.50, 420),
               ("button.btn-primary", "Create account", "button", 0.50, 600)],
    "static": [("main a", "Contact us", "a", 0.30, 500), ("details > summary", "How long does delivery take?", "summary", 0.40, 700)],
}

# Form fields typed into, per page type (the SDK records that, never the value).
INPUTS: dict[str, list[tuple[str, str, str]]] = {
    "checkout": [('input[name="email"]', "email", "email"), ('input[name="name"]', "text", "name"),
                 ('input[name="address"]', "text", "address"), ('input[name="zip"]', "text", "zip")],
    "payment": [('input[name="cardholder"]', "text", "cardholder")],
    "search": [('input[name="q"]', "search", "q")],
    "login": [('input[name="email"]', "email", "email"), ('input[name="password"]', "password", "password")],
    "signup": [('input[name="email"]', "email", "email"), ('input[name="password"]', "password", "password"),
               ('input[name="name"]', "text", "name")],
    "cart": [('input[name="coupon"]', "text", "coupon")],
}

# Custom events (`sessionstory.track`) per page type: (name, probability, props template).
CUSTOM_EVENTS: list[tuple[str, str, float, str]] = [
    ("cart", "add_to_cart", 0.95, '{"product_id": {p}, "price": {v}, "quantity": 1}'),
    ("checkout", "begin_checkout", 1.0, '{"items": {q}}'),
    ("payment", "add_payment_info", 0.9, '{"method": "card"}'),
    ("thankyou", "purchase", 1.0, '{"value": {v}, "currency": "EUR", "items": {q}}'),
    ("search", "search", 0.9, '{"results": {q}}'),
    ("product", "add_to_wishlist", 0.04, '{"product_id": {p}}'),
    ("blog", "newsletter_signup", 0.03, "{}"),
    ("signup", "sign_up", 0.6, '{"method": "email"}'),
    ("login", "login", 0.7, '{"method": "email"}'),
    ("home", "video_play", 0.04, '{"video": "winter-campaign"}'),
]

# -- what goes wrong ----------------------------------------------------------------

_APP = f"{ORIGIN}/assets/app.4f2c9e1b.js"
_VENDOR = f"{ORIGIN}/assets/vendor.9a7d3c20.js"
_CDN = "https://cdn.shop.example.com"

# 50 error kinds (rank 1 is the most frequent; ranks are drawn Zipf-like). `{n}` is
# replaced by a number per occurrence: the fingerprint ignores numbers, so every
# occurrence of a kind groups together, as real ones do.
_ERRORS: list[tuple[str, str, str]] = [
    ("unhandledrejection", "TypeError: Failed to fetch", "fetchJSON"),
    ("error", "TypeError: Cannot read properties of undefined (reading 'price')", "renderPrice"),
    ("error", "ResizeObserver loop completed with undelivered notifications.", ""),
    ("resource", "failed to load img " + _CDN + "/img/p/{n}-800.webp", ""),
    ("unhandledrejection", "Error: Request failed with status code 503", "apiClient.request"),
    ("error", "TypeError: Cannot read properties of null (reading 'addEventListener')", "initCarousel"),
    ("error", "ChunkLoadError: Loading chunk {n} failed.", "__webpack_require__.f.j"),
    ("error", "ReferenceError: gtag is not defined", "trackPageview"),
    ("unhandledrejection", "AbortError: The user aborted a request.", "searchSuggest"),
    ("error", "TypeError: undefined is not an object (evaluating 'cart.items.length')", "CartBadge.render"),
    ("error", "Script error.", ""),
    ("error", "TypeError: e.map is not a function", "ProductGrid"),
    ("resource", "failed to load script https://widget.reviews.example/v2/loader.js", ""),
    ("unhandledrejection", "Error: Stripe.js not available", "mountCardField"),
    ("error", "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON", "loadRecommendations"),
    ("error", "TypeError: Cannot set properties of undefined (setting 'quantity')", "updateLineItem"),
    ("error", "RangeError: Maximum call stack size exceeded", "deepMerge"),
    ("unhandledrejection", "Error: Network Error", "submitNewsletter"),
    ("error", "TypeError: null is not an object (evaluating 'document.querySelector(\"#size-chart\").dataset')", "openSizeChart"),
    ("error", "Error: Minified React error #{n}; visit https://react.dev/errors/{n} for the full message", "commitRoot"),
    ("resource", "failed to load link " + _CDN + "/fonts/inter-var.woff2", ""),
    ("error", "TypeError: Failed to execute 'observe' on 'IntersectionObserver': parameter 1 is not of type 'Element'.", "lazyLoadImages"),
    ("unhandledrejection", "QuotaExceededError: The quota has been exceeded.", "persistCart"),
    ("error", "TypeError: Cannot read properties of undefined (reading 'variants')", "VariantPicker"),
    ("error", "Uncaught Error: Invalid coupon response", "applyCoupon"),
    ("error", "TypeError: Load failed", "prefetchRoute"),
    ("error", "NotAllowedError: play() failed because the user didn't interact with the document first.", "HeroVideo.play"),
    ("unhandledrejection", "Error: Timeout of 10000ms exceeded", "loadShippingRates"),
    ("error", "TypeError: Cannot destructure property 'id' of 'item' as it is undefined.", "WishlistButton"),
    ("error", "SecurityError: Failed to read the 'localStorage' property from 'Window': Access is denied for this document.", "readConsent"),
    ("error", "TypeError: window.klaviyo.push is not a function", "identifyVisitor"),
    ("resource", "failed to load img " + _CDN + "/img/banner/winter-{n}.jpg", ""),
    ("error", "Error: Hydration failed because the initial UI does not match what was rendered on the server.", "throwOnHydrationMismatch"),
    ("error", "TypeError: Cannot read properties of undefined (reading 'toFixed')", "formatCurrency"),
    ("unhandledrejection", "Error: Payment intent {n} could not be confirmed", "confirmPayment"),
    ("error", "InvalidStateError: Failed to execute 'transaction' on 'IDBDatabase': The database connection is closing.", "cacheProducts"),
    ("error", "TypeError: Object.hasOwn is not a function", "parseFilters"),
    ("error", "ReferenceError: structuredClone is not defined", "cloneCart"),
    ("error", "TypeError: Cannot read properties of undefined (reading 'src')", "ImageZoom.open"),
    ("unhandledrejection", "Error: Address lookup failed for postcode", "lookupAddress"),
    ("error", "TypeError: Assignment to constant variable.", "applyDiscount"),
    ("error", "Error: Map container is already initialized.", "StoreLocator.init"),
    ("error", "TypeError: Cannot read properties of null (reading 'scrollIntoView')", "focusFirstError"),
    ("error", "DOMException: Failed to execute 'querySelector' on 'Document': '#{n}' is not a valid selector.", "scrollToAnchor"),
    ("unhandledrejection", "Error: Gift card balance unavailable", "checkGiftCard"),
    ("error", "TypeError: this.swiper is undefined", "Gallery.destroy"),
    ("error", "Error: Unknown shipping zone", "estimateDelivery"),
    ("error", "TypeError: Cannot read properties of undefined (reading 'reviewCount')", "ReviewStars"),
    ("resource", "failed to load script https://maps.example.com/api/js?v=weekly", ""),
    ("error", "TypeError: Converting circular structure to JSON", "logAnalytics"),
]

CONSOLE_WARNINGS = ["[Deprecation] Listener added for a synchronous 'DOMNodeInserted' DOM Mutation Event.",
                    "Third-party cookie will be blocked. Learn more in the Issues tab.",
                    "The resource " + _CDN + "/fonts/inter-var.woff2 was preloaded using link preload but not used within a few seconds.",
                    "[Violation] 'setTimeout' handler took {n}ms",
                    "Warning: Each child in a list should have a unique \"key\" prop."]
CONSOLE_ERRORS = ["Failed to load resource: the server responded with a status of 404 ()",
                  "Failed to load resource: the server responded with a status of 500 ()",
                  "[checkout] shipping rates request failed, retrying in {n} ms",
                  "Access to fetch at 'https://api.reviews.example/v2/products/{n}' has been blocked by CORS policy"]
NETWORK_FAILURES: list[tuple[str, str, int, str]] = [
    ("GET", "/api/recommendations?product={n}", 503, ""), ("GET", "/api/cart", 500, ""),
    ("POST", "/api/cart/items", 409, ""), ("GET", "/api/shipping/rates?zip={n}", 504, ""),
    ("POST", "/api/checkout/payment-intent", 402, ""), ("GET", "/api/search/suggest?q=", 0, "Failed to fetch"),
    ("GET", "/api/products/{n}/reviews", 404, ""), ("POST", "/api/newsletter", 429, ""),
]


def errors() -> list[tuple[int, str, str, str, str, str]]:
    """(rank, kind, message template, stack template, source, fingerprint); 50 distinct fingerprints."""
    rows = []
    for rank, (kind, message, function) in enumerate(_ERRORS, start=1):
        script = _VENDOR if rank % 3 == 0 else _APP
        if kind == "resource":
            stack, source = "", message.rsplit(" ", 1)[1]
        elif function:
            name = message.split(":", 1)[0] if ":" in message else "Error"
            stack = (f"{name}: {message.split(': ', 1)[-1]}\n    at {function} ({script}:1:{{n}})\n"
                     f"    at HTMLDocument.<anonymous> ({_APP}:1:{{n}})\n    at invokeTask ({_VENDOR}:2:{{n}})")
            source = script
        else:
            stack, source = "", ""
        fp = fingerprint(message.replace("{n}", "4711"), stack.replace("{n}", "4711"))
        rows.append((rank, kind, message, stack, source, fp))
    assert len({r[5] for r in rows}) == len(rows), "two error kinds share a fingerprint"
    return rows


# -- loading it into DuckDB ---------------------------------------------------------


def _ranges(weighted: list[tuple[float, Any]]) -> list[tuple[int, int, Any]]:
    """Spread weighted values over SLOTS slots as [lo, hi) ranges, so `hash % SLOTS` draws one by weight."""
    total = sum(w for w, _ in weighted)
    out, edge, acc = [], 0, 0.0
    for w, value in weighted:
        acc += w
        upto = round(acc / total * SLOTS)
        out.append((edge, upto, value))
        edge = upto
    assert edge == SLOTS
    return out


def load(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lookup tables (TEMP: they never reach the index file)."""
    def table(name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
        con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)

    agents = []
    for lo, hi, ua in _ranges(USER_AGENTS):
        a = agent(ua)
        agents.append((lo, hi, ua, a.browser, a.os, a.device))
    table("r_agent", "lo INTEGER, hi INTEGER, ua VARCHAR, browser VARCHAR, os VARCHAR, device VARCHAR", agents)
    table("r_country", "lo INTEGER, hi INTEGER, country VARCHAR", _ranges(COUNTRIES))
    table("r_referrer", "lo INTEGER, hi INTEGER, referrer VARCHAR", _ranges(REFERRERS))
    for name in ("agent", "country", "referrer"):  # one row per slot: draws become equi-joins
        con.execute(f"CREATE OR REPLACE TEMP TABLE w_{name} AS "
                    f"SELECT t.slot, r.* EXCLUDE (lo, hi) FROM r_{name} r, range(r.lo, r.hi) t(slot)")
    # VIEWPORT_SLOTS slots per device, each size repeated evenly: `hash % VIEWPORT_SLOTS` picks one
    table("viewports", "device VARCHAR, slot INTEGER, vw INTEGER, vh INTEGER",
          [(d, k, *sizes[k % len(sizes)]) for d, sizes in VIEWPORTS.items() for k in range(VIEWPORT_SLOTS)])
    table("site", "path_id INTEGER, path VARCHAR, ptype VARCHAR, title VARCHAR", paths())
    hot = [(t, k, *spot) for t, spots in HOTSPOTS.items() if t != "_nav"
           for k, spot in enumerate(HOTSPOTS["_nav"] + spots)]
    table("hotspots", "ptype VARCHAR, k INTEGER, selector VARCHAR, text VARCHAR, tag VARCHAR, fx DOUBLE, y INTEGER", hot)
    table("ptypes", "ptype VARCHAR, click_mean DOUBLE, h_desktop INTEGER, h_mobile INTEGER, nhot INTEGER",
          [(t, m, hd, hm, len(HOTSPOTS["_nav"]) + len(HOTSPOTS[t])) for t, (m, hd, hm) in PAGE_TYPES.items()])
    table("form_inputs", "ptype VARCHAR, k INTEGER, selector VARCHAR, type VARCHAR, name VARCHAR",
          [(t, k, *f) for t, fields in INPUTS.items() for k, f in enumerate(fields)])
    table("custom_kinds", "ptype VARCHAR, name VARCHAR, p DOUBLE, props VARCHAR", CUSTOM_EVENTS)
    table("error_kinds", "rank INTEGER, kind VARCHAR, message VARCHAR, stack VARCHAR, source VARCHAR, fingerprint VARCHAR",
          errors())
    table("console_kinds", "level VARCHAR, k INTEGER, message VARCHAR",
          [("warn", k, m) for k, m in enumerate(CONSOLE_WARNINGS)] + [("error", k, m) for k, m in enumerate(CONSOLE_ERRORS)])
    table("network_kinds", "k INTEGER, method VARCHAR, path VARCHAR, status INTEGER, error VARCHAR",
          [(k, *n) for k, n in enumerate(NETWORK_FAILURES)])
    table("lists", "name VARCHAR, items VARCHAR[]",
          [("search", SEARCH_TERMS), ("utm", UTM)])


def describe() -> dict[str, Any]:
    """The mixes as data, for the report."""
    return {"paths": len(paths()), "user_agents": len(USER_AGENTS), "error_kinds": len(_ERRORS),
            "countries": len(COUNTRIES), "custom_events": sorted({c[1] for c in CUSTOM_EVENTS})}


if __name__ == "__main__":
    print(json.dumps(describe(), indent=2))
