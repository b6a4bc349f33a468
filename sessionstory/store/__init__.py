"""The segment log: the durable source of truth for everything SessionStory stores."""

from sessionstory.store.records import BatchMeta, EntityChange, Location, Record
from sessionstory.store.segments import CorruptRecord, SegmentLog

__all__ = ["BatchMeta", "CorruptRecord", "EntityChange", "Location", "Record", "SegmentLog"]
