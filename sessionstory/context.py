"""Visitor context from request headers: browser, OS and device from the user agent,
country from the IP address, both offline (the data ships inside the packages).

The IP address itself is never stored whole: ingest keeps the country it maps to, and, where
a project asks for it (`PrivacySettings.truncated_ip`), the address with its host part zeroed.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import iptocc
import msgspec
import ua_parser


class Agent(msgspec.Struct, frozen=True):
    browser: str
    os: str
    device: str  # desktop | mobile | tablet | bot


_TABLETS = ("ipad", "tablet", "kindle", "silk", "playbook", "nexus 7", "nexus 9", "nexus 10", "sm-t")


@lru_cache(maxsize=4096)
def agent(user_agent: str) -> Agent:
    if not user_agent:
        return Agent("", "", "")
    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else "Other"
    os = parsed.os.family if parsed.os else "Other"
    return Agent(browser=browser, os=os, device=_device(user_agent, parsed))


def _device(user_agent: str, parsed: ua_parser.Result) -> str:
    lowered = user_agent.lower()
    family = (parsed.device.family if parsed.device else "").lower()
    if family == "spider" or "bot" in lowered or "crawler" in lowered:
        return "bot"
    if any(t in lowered for t in _TABLETS) or (family == "ipad") or ("android" in lowered and "mobile" not in lowered):
        return "tablet"
    if "mobi" in lowered or family in ("iphone", "ipod") or "phone" in lowered:
        return "mobile"
    return "desktop"


def country(ip: str | None) -> str:
    """ISO 3166 alpha-2 code, or "" for private, local and unknown addresses."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    if not address.is_global:
        return ""
    return iptocc.country_code(str(address)) or ""


# As much of an address as names a neighbourhood, not a household: Google Analytics' and
# Matomo's anonymisation (IPv4 /24: the last byte; IPv6 /48: a site's prefix, of a host's 128 bits).
TRUNCATED_PREFIX = {4: 24, 6: 48}


def truncated_ip(ip: str | None) -> str:
    """`ip` with its host part zeroed (IPv4 to its /24, IPv6 to its /48); "" when it is no address."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip.strip().split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is no part of it
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:203.0.113.7 is an IPv4 client behind a dual-stack socket
    network = ipaddress.ip_network(f"{address}/{TRUNCATED_PREFIX[address.version]}", strict=False)
    return str(network.network_address)
