"""Benchmarks of SessionStory. `python -m bench` (or `make bench`) runs them.

Each one prints its figure beside a baseline measured in the same run, as a ratio
(TESTING.md): the dashboard queries are timed through the real server and beside the
raw DuckDB time of the very SQL the route executed.

- `synth.py`: a seeded generator of a data directory with N synthetic sessions.
- `shop.py`: the synthetic site those sessions visit (paths, user agents, errors...).
- `queries.py`: the dashboard-query benchmark over such a data directory.
- `alternatives.py`: the slow statements beside rewrites that return the same rows.
- `extraction.py`: fact extraction's share of the CPU that ingest costs.
- `stats.py`: percentiles and the result tables.
"""
