"""What several nodes share beyond the segment store: the catalog's Postgres (docs/scaling.md)."""
