"""Compressed copies of our files: which one a browser gets.

The build writes a brotli and a gzip copy beside each text bundle (`player.js.br`, `player.js.gz`:
scripts/build.mjs), so the SDK that every visitor of a customer's site loads, and the player, travel
at a third to a fifth of their size without the server compressing anything at run time. A browser
says what it takes in Accept-Encoding (brotli, in most, only over HTTPS and on localhost), and gets the smallest of
those; a copy older than its file (a file rebuilt without its copies) is never sent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from litestar.response.file import create_etag_for_file

# Smallest first: the build compresses brotli at its best, which beats gzip's best on our bundles.
COPIES = (("br", ".br"), ("gzip", ".gz"))


class Choice(NamedTuple):
    path: Path  # the file to send: the original, or one of its compressed copies
    encoding: str | None  # its Content-Encoding (None: the original)
    stat: os.stat_result

    @property
    def etag(self) -> str:
        """The ETag of these bytes: each encoding of a file has its own."""
        return create_etag_for_file(path=self.path, modified_time=self.stat.st_mtime, file_size=self.stat.st_size)


def qualities(accept_encoding: str) -> dict[str, float]:
    """Each content coding an Accept-Encoding header names, with its weight (`q=0`: not wanted)."""
    weights = {}
    for item in accept_encoding.lower().split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        q = next((param[2:] for param in params if param.startswith("q=")), "1")
        try:
            weights[coding] = float(q)
        except ValueError:
            weights[coding] = 0.0
    return weights


def takes(weights: dict[str, float], coding: str) -> bool:
    """Whether a browser with these `qualities` takes `coding` (named, or by `*`)."""
    return weights.get(coding, weights.get("*", 0.0)) > 0


def choose(path: Path, accept_encoding: str) -> Choice:
    """The smallest form of `path` the browser accepts. Raises FileNotFoundError if `path` is not there."""
    original = os.stat(path)
    weights = qualities(accept_encoding)
    for encoding, suffix in COPIES:
        if not takes(weights, encoding):
            continue
        copy = path.with_name(path.name + suffix)
        try:
            made = os.stat(copy)
        except FileNotFoundError:
            continue
        if made.st_mtime >= original.st_mtime:
            return Choice(copy, encoding, made)
    return Choice(path, None, original)


def has_copies(path: Path) -> bool:
    """Whether the build compressed this file: its answers then vary with Accept-Encoding."""
    return any(path.with_name(path.name + suffix).exists() for _, suffix in COPIES)
