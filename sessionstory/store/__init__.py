"""The segment log: the durable source of truth for everything SessionStory stores."""

from sessionstory.store.compaction import Batch, batches
from sessionstory.store.records import BatchMeta, CompactedMeta, DictionaryMeta, EntityChange, Kind, Location, Record
from sessionstory.store.segments import CorruptRecord, SegmentLog

__all__ = ["Batch", "BatchMeta", "CompactedMeta", "CorruptRecord", "DictionaryMeta", "EntityChange", "Kind",
           "Location", "Record", "SegmentLog", "batches"]
