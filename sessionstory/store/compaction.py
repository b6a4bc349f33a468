"""Compaction's storage side: one session's batches packed into one record, read back, and
the per-project zstd dictionaries that make the packing small.

`batches(record, dictionaries)` is the one way to read events out of the log: a BATCH
record gives its one batch, a COMPACTED record all it holds, with their metas, so every
reader (replay, export, the index's catch-up, compaction itself) sees plain batches
whichever form the log keeps them in.

A dictionary is trained on a project's own batches (the same stylesheet and near-identical
full snapshots recorded by every visitor end up in it once, instead of once per session)
and kept in the log as a DICTIONARY record, so the log alone can always be read.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence

import msgspec
import zstandard

from sessionstory.store.compression import compress, decompress
from sessionstory.store.records import BatchMeta, CompactedHead, CompactedMeta, DictionaryMeta, Kind, Location, Record

log = logging.getLogger(__name__)

LEVEL = 19  # compaction runs in the background, once per session: worth the CPU
DICT_BYTES = 128 * 1024
MIN_SAMPLES = 12  # fewer batches than this, or fewer bytes than MIN_SAMPLE_BYTES: no dictionary yet
MIN_SAMPLE_BYTES = 64 * 1024
MAX_OUTPUT = 1 << 30  # a damaged size field must not make us allocate without bound
_HEAD_LEN = struct.Struct("<I")
_head = msgspec.msgpack.Decoder(CompactedHead)


class Batch(msgspec.Struct, frozen=True):
    """One batch as recorded: its meta and its events, a JSON array."""

    meta: BatchMeta
    events: bytes


class MissingDictionary(LookupError):
    """A compacted record needs a dictionary the log does not hold (a damaged log)."""


class Dictionary:
    """A trained zstd dictionary of one project, in the form compressors take."""

    def __init__(self, meta: DictionaryMeta, data: bytes) -> None:
        self.meta = meta
        self.data = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
        self._digested: set[int] = set()

    @property
    def version(self) -> int:
        return self.meta.version

    def compressor(self, level: int = LEVEL) -> zstandard.ZstdCompressor:
        if level not in self._digested:  # digesting the dictionary once per level, not per session, is 20x cheaper
            self.data.precompute_compress(level=level)
            self._digested.add(level)
        return zstandard.ZstdCompressor(level=level, dict_data=self.data, write_content_size=True)

    def decompressor(self) -> zstandard.ZstdDecompressor:
        return zstandard.ZstdDecompressor(dict_data=self.data)


Locate = Callable[[str, int], "Location | None"]


class Dictionaries:
    """The dictionaries of every project, loaded from the log when first needed.

    Where a dictionary record lives is asked of `locate` (the index knows); a dictionary it
    cannot place (a reindex meeting a dictionary moved forward past the records using it)
    is found by one pass over the log's record headers.
    """

    def __init__(self, read: Callable[[Location], Record], find: Callable[[], object]) -> None:
        self._read = read
        self._find = find  # -> iterable of (Location, Record) of every DICTIONARY record
        self._cache: dict[tuple[str, int], Dictionary] = {}
        self._lock = threading.Lock()
        self.locate: Locate = lambda project_id, version: None

    def add(self, record: Record) -> Dictionary:
        assert isinstance(record.meta, DictionaryMeta)
        dictionary = Dictionary(record.meta, decompress(record.body))
        self._cache[(record.meta.project_id, record.meta.version)] = dictionary
        return dictionary

    def get(self, project_id: str, version: int) -> Dictionary:
        key = (project_id, version)
        found = self._cache.get(key)
        if found is not None:
            return found
        with self._lock:
            location = self.locate(project_id, version)
            if location is not None:
                try:
                    return self.add(self._read(location))
                except Exception:  # moved or erased since the index saw it: look in the log
                    log.warning("dictionary %s v%d not at %s; searching the log", project_id, version, location)
            for _, record in self._find():  # type: ignore[attr-defined]
                self.add(record)
        if key not in self._cache:
            raise MissingDictionary(f"the log holds no dictionary {version} of project {project_id}")
        return self._cache[key]


def batches(record: Record | None, dictionaries: Dictionaries) -> list[Batch]:
    """The batches a record holds, as recorded (none for accounts, dictionaries, erased records)."""
    if record is None:
        return []
    meta = record.meta
    if isinstance(meta, BatchMeta):
        return [Batch(meta, decompress(record.body))]
    if isinstance(meta, CompactedMeta):
        if meta.dictionary:
            d = dictionaries.get(meta.project_id, meta.dictionary).decompressor()
            data = d.decompress(record.body, max_output_size=MAX_OUTPUT)
        else:
            data = decompress(record.body)
        (head_len,) = _HEAD_LEN.unpack_from(data)
        start = _HEAD_LEN.size + head_len
        head = _head.decode(data[_HEAD_LEN.size : start])
        out = []
        for batch_meta, size in zip(head.batches, head.sizes, strict=True):
            out.append(Batch(batch_meta, data[start : start + size]))
            start += size
        return out
    return []


def pack(items: Sequence[Batch], dictionary: Dictionary | None) -> Record:
    """One COMPACTED record holding `items` (one session's batches, in the order given)."""
    first = items[0].meta
    head = msgspec.msgpack.encode(CompactedHead([b.meta for b in items], [len(b.events) for b in items]))
    data = b"".join([_HEAD_LEN.pack(len(head)), head, *(b.events for b in items)])
    if dictionary is not None:
        body = dictionary.compressor().compress(data)
    else:
        body = zstandard.ZstdCompressor(level=LEVEL, write_content_size=True).compress(data)
    meta = CompactedMeta(project_id=first.project_id, session_id=first.session_id, seqs=[b.meta.seq for b in items],
                         raw_bytes=len(data), dictionary=dictionary.version if dictionary else 0)
    return Record(Kind.COMPACTED, meta, body)


def train(project_id: str, version: int, samples: list[bytes]) -> Record | None:
    """A DICTIONARY record trained on `samples` (batches' JSON), or None with too little data.

    Every fifth sample is held out to measure the dictionary: its `ratio` is what it
    achieves on batches it was not trained on, the yardstick `drifted` compares against.
    """
    if len(samples) < MIN_SAMPLES or sum(map(len, samples)) < MIN_SAMPLE_BYTES:
        return None
    held_out = samples[::5]
    # Typed as zstandard's stub asks: its list of a union is invariant, so a list[bytes] would not do.
    training: list[bytes | bytearray | memoryview] = [s for i, s in enumerate(samples) if i % 5]
    size = min(DICT_BYTES, max(4096, sum(map(len, training)) // 10))
    dict_id = 32768 + zlib.crc32(f"{project_id}:{version}".encode()) % (2**31 - 32768)
    try:
        # Fixed cover parameters: letting zstd search for them took 15x longer (9 s on 1.6 MB of
        # batches of the demo page) for a dictionary that compressed held-out sessions 20 % worse.
        trained = zstandard.train_dictionary(size, training, k=2000, d=8, dict_id=dict_id, level=LEVEL)
    except zstandard.ZstdError as exc:  # samples too alike or too few for the trainer
        log.info("no dictionary for project %s: %s", project_id, exc)
        return None
    meta = DictionaryMeta(project_id=project_id, version=version, created_ms=int(time.time() * 1000),
                          samples=len(training), ratio=0.0)
    dictionary = Dictionary(meta, trained.as_bytes())
    meta = msgspec.structs.replace(meta, ratio=ratio(dictionary, held_out))
    return Record(Kind.DICTIONARY, meta, compress(trained.as_bytes()))


def ratio(dictionary: Dictionary, samples: list[bytes], level: int = 3) -> float:
    """Compressed / raw bytes of `samples`, each compressed alone with the dictionary."""
    c = dictionary.compressor(level)
    raw = sum(map(len, samples))
    return sum(len(c.compress(s)) for s in samples) / raw if raw else 1.0


def drifted(dictionary: Dictionary, samples: list[bytes], tolerance: float = 1.15) -> bool:
    """Has the project's data moved away from what its dictionary was trained on?"""
    return bool(samples) and ratio(dictionary, samples) > dictionary.meta.ratio * tolerance
