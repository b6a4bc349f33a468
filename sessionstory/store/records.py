"""What one record of the segment log holds, and its bytes on disk.

A record is a fixed header, a msgpack-encoded meta part and a body:

    magic "SSR1" | kind u8 | meta_len u32 | body_len u32 | crc32(meta+body) u32 | meta | body

A record erased by a delete keeps its length but gets the magic "SSR0" and zeroed
contents, so scanners step over it and the erased bytes are really gone.

Compaction (store/compaction.py) adds two kinds: a COMPACTED record holds all of one
session's batches as one zstd frame (with their metas, so nothing the index derives is
lost), and a DICTIONARY record holds a project's zstd dictionary, so the log alone can
always decompress what it holds.
"""

from __future__ import annotations

import os
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
    COMPACTED = 3  # all batches of one session; body is one zstd frame of their JSON, end to end
    DICTIONARY = 4  # a project's zstd dictionary; body is the dictionary, itself zstd-compressed


class Location(msgspec.Struct, frozen=True, array_like=True, order=True):
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
    country: str = ""  # from the client's IP address, which itself is not kept...
    ip: str = ""  # ...unless the project asks for it truncated (IPv4 /24, IPv6 /48; context.truncated_ip)


class EntityChange(msgspec.Struct, frozen=True, omit_defaults=True):
    """A row written to (or deleted from) an account table, kept so a reindex restores it.

    `origin` is set on a copy carried forward out of a segment being deleted: where the
    change first stood in the log, so it still counts as older than any change after that.
    """

    table: str
    row: dict[str, Any]
    op: str = "upsert"
    origin: Location | None = None


class CompactedMeta(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True):
    """One session's batches in one record, in the order they were first appended (the
    order the index folded them in). The batches' own metas travel compressed in the body
    (`CompactedHead`): repeated in every batch, they would cost more than the events."""

    project_id: str
    session_id: str
    seqs: list[int]
    raw_bytes: int  # the body decompressed
    dictionary: int = 0  # the project's dictionary version the body needs; 0 = none


class CompactedHead(msgspec.Struct, frozen=True, array_like=True):
    """The start of a compacted body, once decompressed (after its u32 length): each
    batch's meta and the length of its events' JSON, which follow end to end."""

    batches: list[BatchMeta]
    sizes: list[int]


class DictionaryMeta(msgspec.Struct, frozen=True, array_like=True):
    project_id: str
    version: int  # 1, 2, ... per project
    created_ms: int
    samples: int  # batches it was trained on
    ratio: float  # compressed / raw on held-out batches when trained: the yardstick for drift


class Record(msgspec.Struct, frozen=True):
    kind: Kind
    meta: BatchMeta | EntityChange | CompactedMeta | DictionaryMeta
    body: bytes = b""


_encoder = msgspec.msgpack.Encoder()
_batch_meta = msgspec.msgpack.Decoder(BatchMeta)
_entity = msgspec.msgpack.Decoder(EntityChange)
_compacted = msgspec.msgpack.Decoder(CompactedMeta)
_dictionary = msgspec.msgpack.Decoder(DictionaryMeta)


# Encryption at rest (optional): a record's meta and body sealed together with AES-256-GCM.
# The kind byte carries SEALED; the header's meta length is 0 and its body is the ciphertext
# (nonce first), so scanning, CRCs, erasure and compaction work on sealed records unchanged.
SEALED = 0x80
_NONCE = 12
_META_LEN = struct.Struct("<I")


class EncryptionError(Exception):
    """Sealed records without the key, or with another key: never mistaken for a torn tail."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) != 32:
            raise ValueError("the encryption key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, kind: int, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plain, bytes([kind]))

    def open(self, kind: int, sealed: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], bytes([kind]))
        except InvalidTag:
            raise EncryptionError("the encryption key does not open the stored events (another key?)") from None


def encode(record: Record, sealer: Sealer | None = None) -> bytes:
    meta = _encoder.encode(record.meta)
    if sealer is not None:
        sealed = sealer.seal(record.kind, _META_LEN.pack(len(meta)) + meta + record.body)
        return HEADER.pack(MAGIC, record.kind | SEALED, 0, len(sealed), zlib.crc32(sealed)) + sealed
    crc = zlib.crc32(record.body, zlib.crc32(meta))
    return HEADER.pack(MAGIC, record.kind, len(meta), len(record.body), crc) + meta + record.body


def decode_payload(kind: int, meta: bytes, body: bytes, sealer: Sealer | None = None) -> Record:
    if kind & SEALED:
        if sealer is None:
            raise EncryptionError("the stored events are encrypted: set SESSIONSTORY_ENCRYPTION_KEY")
        kind &= ~SEALED
        plain = sealer.open(kind, body)
        (meta_len,) = _META_LEN.unpack_from(plain)
        meta, body = plain[_META_LEN.size : _META_LEN.size + meta_len], plain[_META_LEN.size + meta_len :]
    if kind == Kind.BATCH:
        return Record(Kind.BATCH, _batch_meta.decode(meta), body)
    if kind == Kind.ENTITY:
        return Record(Kind.ENTITY, _entity.decode(meta))
    if kind == Kind.COMPACTED:
        return Record(Kind.COMPACTED, _compacted.decode(meta), body)
    if kind == Kind.DICTIONARY:
        return Record(Kind.DICTIONARY, _dictionary.decode(meta), body)
    raise ValueError(f"unknown record kind {kind}")
