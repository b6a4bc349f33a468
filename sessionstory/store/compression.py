"""zstd for event bodies. Compressors are not thread-safe, so each thread keeps its own."""

from __future__ import annotations

import threading

import zstandard

LEVEL = 3  # fast enough for the ingest path; compaction recompresses harder later

_local = threading.local()


def compress(data: bytes) -> bytes:
    c = getattr(_local, "compressor", None)
    if c is None:
        c = _local.compressor = zstandard.ZstdCompressor(level=LEVEL)
    return c.compress(data)


def decompress(data: bytes) -> bytes:
    d = getattr(_local, "decompressor", None)
    if d is None:
        d = _local.decompressor = zstandard.ZstdDecompressor()
    # Our own frames always carry their size; the cap only guards against a damaged one.
    return d.decompress(data, max_output_size=1 << 30)
