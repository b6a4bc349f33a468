"""`sessionstory migrate-to-cluster`: a single node's data dir becomes node 0 of a cluster.

Two steps, accounts first because only they can conflict:

0. The data dir claims its node in the object store (node 0 for a data dir with segments):
   a store that does not answer, or whose node 0 is another data dir's, stops it here.
1. The accounts (users with their password hashes, projects with their keys, tokens,
   privacy settings, saved filters, comments, share links and the dashboard's sign-ins)
   are read from the node's index and upserted by id into the catalog's tables
   (cluster/accounts.py) in ONE Postgres transaction: a catalog whose rows clash with
   them (another cluster's user with the same email, a project with the same key) gets
   none of them, and the store is not touched yet.
2. The data dir opens as the cluster node it claimed: node 0 keeps its segment numbers
   (store/shipping.py), so every location its index and records hold still names its
   segment. Every sealed segment the store lacks is shipped, then the open tail is sealed
   and shipped too.

Both steps are idempotent: the accounts are copied once (a file in the data dir says so
after the transaction commits; the catalog's rows are the live ones from then on), and the
shipper only ships what the store lacks, so a second run (after an interruption, or by
mistake) finishes the first or changes nothing.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from sessionstory.cluster.accounts import KEYS, SCHEMA, open_pool
from sessionstory.config import Settings
from sessionstory.datadir import DataDir

Say = Callable[[str], None]
COPIED_MARKER = "cluster-accounts-copied"  # in the data dir, once the catalog has its accounts
SHIP_TIMEOUT_S = 3600.0  # a data dir of many GiB over a slow link; progress is printed meanwhile


class MigrationError(Exception):
    """Why the data dir was not (wholly) migrated, in one line."""


def migrate(settings: Settings, say: Say) -> str:
    """Move the data dir of `settings` (a cluster's store and catalog URLs set) into that cluster."""
    assert settings.store_url and settings.catalog_url, "the CLI checks both are set"
    node = _claim_node(settings)  # before anything is written to the catalog
    say(f"segment store: this data dir is node {node}")
    accounts = _migrate_accounts(settings, say)
    shipped = _ship_segments(settings, say)
    return (f"migrated {settings.data_dir} as node {node}: {shipped} segments shipped, {accounts}; "
            "start it with the same variables as `serve`")


def _migrate_accounts(settings: Settings, say: Say) -> str:
    """Copy the accounts once. Once copied, the catalog's rows are the live ones (a cluster
    writes none to the node's index), so a later run copying the index's again would undo
    what the cluster changed since: a deleted token back, an old password hash."""
    marker = settings.data_dir / COPIED_MARKER
    if marker.exists():
        say(f"accounts: copied already ({marker.read_text().strip()}); the catalog's are kept")
        return "accounts copied before"
    rows = _account_rows(settings)
    say(f"accounts: {_counts(rows)}")
    _copy_accounts(settings.catalog_url, rows)
    _write_durably(marker, f"{_counts(rows)} at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}\n")
    say("accounts copied into the catalog")
    return f"{_counts(rows)} in the catalog"


def _write_durably(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    temporary.replace(path)


def _claim_node(settings: Settings) -> int:
    """The data dir's node in the store, claimed now if it has none: a store that does not
    answer, or whose node 0 another data dir holds, stops the migration before the catalog."""
    from obstore.exceptions import BaseError as ObstoreError

    from sessionstory.store.objects import ObjectStore, StoreUrlError, short_error
    from sessionstory.store.shipping import claim_node

    try:
        return claim_node(ObjectStore(settings.store_url, settings.aws_env), settings.data_dir, settings.segments_dir)
    except (StoreUrlError, ObstoreError) as exc:
        raise MigrationError(f"segment store {settings.store_url}: {short_error(exc)}") from None


def _account_rows(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Every account row of the single node, read from its index (brought up to date with its log)."""
    single = DataDir(msgspec.structs.replace(settings, store_url="", catalog_url=""))
    try:
        return {table: single.index.read(functools.partial(_rows_of, table=table)) for table in KEYS}
    finally:
        single.close()


def _rows_of(cur: Any, *, table: str) -> list[dict[str, Any]]:
    cur.execute(f"SELECT * FROM {table}")
    names = [column[0] for column in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _copy_accounts(catalog_url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    open_pool(catalog_url).close()  # makes the tables if this catalog is new (and says so if unreachable)
    try:
        with psycopg.connect(catalog_url, autocommit=False) as conn, conn.transaction():
            for table, table_rows in rows.items():
                for row in table_rows:
                    conn.execute(_upsert(table, list(row)), list(row.values()))
    except psycopg.errors.UniqueViolation as exc:
        detail = (exc.diag.message_detail or str(exc)).strip()
        raise MigrationError(f"the catalog holds other accounts that clash with this data dir's ({detail}); "
                             "nothing was copied") from None
    except psycopg.Error as exc:
        raise MigrationError(f"catalog database: {str(exc).strip().splitlines()[0]}") from None


def _upsert(table: str, columns: list[str]) -> str:
    key = KEYS[table]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (f"INSERT INTO {SCHEMA}.{table} ({', '.join(columns)}) VALUES ({', '.join('%s' for _ in columns)}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}")


def _ship_segments(settings: Settings, say: Say) -> int:
    """Open the data dir as the cluster node it claimed and ship every segment, the open tail
    included; returns how many were uploaded."""
    dd = DataDir(settings)
    shipper = dd.shipper
    assert shipper is not None  # settings.store_url is set
    try:
        shipper.start(dd.log)
        dd.log.roll()  # the open tail: sealing queues it behind the sealed ones
        waited = 0.0
        while not shipper.wait_idle(2.0):
            waited += 2.0
            say(f"shipping: {shipper.backlog} segments to go, {shipper.shipped} shipped")
            if waited >= SHIP_TIMEOUT_S:
                raise MigrationError(f"the store took more than {SHIP_TIMEOUT_S:.0f} s; run the command again "
                                     "to ship the rest")
        return shipper.shipped
    finally:
        dd.close()


def _counts(rows: dict[str, list[dict[str, Any]]]) -> str:
    return ", ".join(f"{len(table_rows)} {table}" for table, table_rows in rows.items())
