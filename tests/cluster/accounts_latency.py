"""What a dashboard request pays to learn who is signed in (`Accounts.signed_in`, on every
page): on a single node (the index's DuckDB file), in a cluster through psycopg's pool (what
`cluster/accounts.py` does), and the same query through DuckDB's `postgres` extension (the
way not taken), all in one run against one throwaway Postgres.

    python -m tests.cluster.accounts_latency [--rounds N]

Not a test: it prints the median and p90 in milliseconds of each, and the ratio to the single node.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from bench.stats import p50, percentile, timed
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.index import lake
from tests.cluster.harness import Postgres, print_table

SIGNED_IN = ("SELECT u.id, u.email, u.role, u.created_ms, w.csrf_token FROM {db}web_sessions w "
             "JOIN {db}users u ON u.id = w.user_id WHERE w.id_hash = ? AND w.expires_ms > ?")


def _signed_in_node(settings_env: dict[str, str], data_dir: Path) -> tuple[DataDir, str]:
    dd = DataDir(prepare_data_dir(load_settings(data_dir, env=settings_env)))
    user = dd.accounts.create_user(f"u{len(settings_env)}@example.com", "password-1234")
    return dd, dd.accounts.sign_in(user).sid


def measure(rounds: int) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="accounts-latency-"))
    pg = Postgres().start()
    try:
        catalog = pg.create_database("accounts")
        single, single_sid = _signed_in_node({}, work / "single")
        shared, shared_sid = _signed_in_node({"SESSIONSTORY_CATALOG_URL": catalog}, work / "shared")
        scanner = duckdb.connect()
        lake.load_extensions(scanner, work / "extensions", "postgres")
        scanner.execute(f"ATTACH '{catalog}' AS pg (TYPE postgres, SCHEMA 'sessionstory', READ_ONLY)")
        row = shared.shared_rows.read(lambda cur: cur.execute(  # type: ignore[union-attr]
            "SELECT id_hash FROM web_sessions").fetchone())
        through_duckdb = SIGNED_IN.format(db="pg.sessionstory.")
        results = {
            "single node: the index's DuckDB file": timed(lambda: single.accounts.signed_in(single_sid), rounds),
            "cluster: psycopg pool (built)": timed(lambda: shared.accounts.signed_in(shared_sid), rounds),
            "cluster: DuckDB's postgres extension": timed(
                lambda: scanner.execute(through_duckdb, [row[0], 0]).fetchone(), rounds),
        }
        assert scanner.execute(through_duckdb, [row[0], 0]).fetchone() is not None  # it found the sign-in
        for dd in (single, shared):
            dd.close()
        baseline = p50(results["single node: the index's DuckDB file"])
        return [f"| {name} | {p50(ms):.3f} | {percentile(ms, 90):.3f} | {p50(ms) / baseline:.2f}x |"
                for name, ms in results.items()]
    finally:
        pg.stop()


def main() -> None:
    print_table(__doc__.splitlines()[0], ["who is signed in", "median ms", "p90 ms", "ratio"], measure, rounds=200)


if __name__ == "__main__":
    main()
