"""HTTP: the ingest endpoint, the JSON API and the htmx dashboard."""
