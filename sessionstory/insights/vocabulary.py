"""Words people use for the things sessions are filtered by, mapped to filter values."""

from __future__ import annotations

DEVICES = {
    "mobile": "mobile", "mobiles": "mobile", "phone": "mobile", "phones": "mobile", "smartphone": "mobile",
    "smartphones": "mobile", "iphone": "mobile", "iphones": "mobile", "cellphone": "mobile",
    "tablet": "tablet", "tablets": "tablet", "ipad": "tablet", "ipads": "tablet",
    "desktop": "desktop", "desktops": "desktop", "computer": "desktop", "computers": "desktop", "laptop": "desktop",
    "laptops": "desktop", "pc": "desktop",
}

# ua-parser's family names; "safari" on a phone is "Mobile Safari", chosen with the device.
BROWSERS = {
    "chrome": "Chrome", "chromium": "Chromium", "firefox": "Firefox", "safari": "Safari", "edge": "Edge",
    "opera": "Opera", "samsung internet": "Samsung Internet", "brave": "Brave", "vivaldi": "Vivaldi",
}
MOBILE_BROWSERS = {"Chrome": "Chrome Mobile", "Safari": "Mobile Safari", "Firefox": "Firefox Mobile"}

OPERATING_SYSTEMS = {
    "windows": "Windows", "mac": "Mac OS X", "macos": "Mac OS X", "macbook": "Mac OS X", "os x": "Mac OS X",
    "linux": "Linux", "ubuntu": "Ubuntu", "android": "Android", "ios": "iOS", "iphone": "iOS", "ipad": "iOS",
    "chrome os": "Chrome OS", "chromebook": "Chrome OS",
}

COUNTRIES = {
    "united states": "US", "usa": "US", "america": "US", "american": "US", "the us": "US",
    "united kingdom": "GB", "uk": "GB", "britain": "GB", "england": "GB", "british": "GB",
    "germany": "DE", "german": "DE", "france": "FR", "french": "FR", "spain": "ES", "spanish": "ES",
    "italy": "IT", "italian": "IT", "netherlands": "NL", "holland": "NL", "dutch": "NL", "belgium": "BE",
    "switzerland": "CH", "swiss": "CH", "austria": "AT", "poland": "PL", "polish": "PL", "sweden": "SE",
    "norway": "NO", "denmark": "DK", "finland": "FI", "ireland": "IE", "portugal": "PT", "greece": "GR",
    "czechia": "CZ", "czech republic": "CZ", "hungary": "HU", "romania": "RO", "ukraine": "UA", "turkey": "TR",
    "russia": "RU", "canada": "CA", "canadian": "CA", "mexico": "MX", "brazil": "BR", "brazilian": "BR",
    "argentina": "AR", "chile": "CL", "colombia": "CO", "peru": "PE", "india": "IN", "indian": "IN",
    "china": "CN", "chinese": "CN", "japan": "JP", "japanese": "JP", "korea": "KR", "south korea": "KR",
    "australia": "AU", "australian": "AU", "new zealand": "NZ", "singapore": "SG", "indonesia": "ID",
    "vietnam": "VN", "thailand": "TH", "philippines": "PH", "malaysia": "MY", "israel": "IL",
    "south africa": "ZA", "nigeria": "NG", "egypt": "EG", "kenya": "KE", "saudi arabia": "SA",
    "united arab emirates": "AE", "uae": "AE", "pakistan": "PK", "bangladesh": "BD", "taiwan": "TW",
}

TIME_UNITS_MS = {
    "second": 1000, "seconds": 1000, "sec": 1000, "secs": 1000, "s": 1000,
    "minute": 60_000, "minutes": 60_000, "min": 60_000, "mins": 60_000, "m": 60_000,
    "hour": 3_600_000, "hours": 3_600_000, "hr": 3_600_000, "hrs": 3_600_000, "h": 3_600_000,
}

RANGE_UNITS = {"hour": "h", "hours": "h", "day": "d", "days": "d", "week": "w", "weeks": "w", "month": "d",
               "months": "d"}

NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "sixty": 60}
