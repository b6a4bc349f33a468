"""The DuckDB index: derived from the segment log, rebuilt from it at will."""

from sessionstory.index.database import Index

__all__ = ["Index"]
