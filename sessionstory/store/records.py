"""What one record of the segment log holds, and its bytes on disk.

A record is a fixed header, a msgpack-encoded meta part and a body:

    magic "SSR1" | kind u8 | meta_len u32 | body_len u32 | crc32(meta+body) u32 | meta | body

A record erased by a delete keeps its length but gets the magic "SSR0" and zeroed
contents, so scanners step over it and the erased bytes are really gone.
"""

from __future__ import annotations

import struct
import zlib
from enum import IntEnum
from typing import Any

import msgspec

MAGIC = b"SSR1"
ERASED = b"SSR0"
HEADER = struct.Struct("<4sBIII")


class Kind(IntEnum):
    BATCH = 1  # a batch of a session's rrweb events; body is zstd-compressed JSON
    ENTITY = 2  # a change to projects, users or tokens; no body


class Location(msgspec.Struct, frozen=True, array_like=True):
    """Where a record lives: segment number, byte offset, total length."""

    segment: int
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


class BatchMeta(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True):
    project_id: str
    session_id: str
    seq: int
    received_ms: int
    visitor_id: str
    window_id: str = ""
    user_id: str = ""
    user_agent: str = ""
    country: str = ""  # from the client's IP address, which itself is not kept


class EntityChange(msgspec.Struct, frozen=True):
    """A row written to (or deleted from) an account table, kept so a reindex restores it."""

    table: str
    row: dict[str, Any]
    op: str = "upsert"


class Record(msgspec.Struct, frozen=True):
    kind: Kind
    meta: BatchMeta | EntityChange
    body: bytes = b""


_encoder = msgspec.msgpack.Encoder()
_batch_meta = msgspec.msgpack.Decoder(BatchMeta)
_entity = msgspec.msgpack.Decoder(EntityChange)


def encode(record: Record) -> bytes:
    meta = _encoder.encode(record.meta)
    crc = zlib.crc32(record.body, zlib.crc32(meta))
    return HEADER.pack(MAGIC, record.kind, len(meta), len(record.body), crc) + meta + record.body


def decode_payload(kind: int, meta: bytes, body: bytes) -> Record:
    if kind == Kind.BATCH:
        return Record(Kind.BATCH, _batch_meta.decode(meta), body)
    if kind == Kind.ENTITY:
        return Record(Kind.ENTITY, _entity.decode(meta))
    raise ValueError(f"unknown record kind {kind}")
