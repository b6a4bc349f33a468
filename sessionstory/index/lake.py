"""A DuckDB connection to a DuckLake catalog (Postgres) with Parquet data on S3: the
shared index of a cluster (issue #9; a prototype, not yet used by the index writer).

DuckDB cannot download its extensions here, nor on an on-premises server without
internet: the `duckdb-extension-NAME` PyPI packages ship them for our pinned DuckDB, and
they are loaded from those files. See docs/scaling.md for the design around it.
"""

from __future__ import annotations

import importlib.util
import shutil
import urllib.parse
from pathlib import Path

import duckdb

# The postgres package's file must be LOADed under its entry point's name.
_LOAD_AS = {"postgres": "postgres_scanner"}


class MissingExtension(RuntimeError):
    """The PyPI package of a DuckDB extension is not installed."""


def extension_file(name: str, copies_dir: Path) -> Path:
    """The file of extension `name` from its PyPI package, copied into `copies_dir` first
    when DuckDB wants it under another name."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise MissingExtension(f"pip install duckdb-extension-{name}=={duckdb.__version__}")
    shipped = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not shipped.is_file():
        raise MissingExtension(f"duckdb-extension-{name} has no build for DuckDB {duckdb.__version__}")
    wanted = _LOAD_AS.get(name)
    if wanted is None:
        return shipped
    copy = copies_dir / f"{wanted}.duckdb_extension"
    if not copy.is_file() or copy.stat().st_size != shipped.stat().st_size:
        copies_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipped, copy)
    return copy


def load_extensions(con: duckdb.DuckDBPyConnection, copies_dir: Path, *names: str) -> None:
    for name in names:
        con.execute(f"LOAD {_sql_string(str(extension_file(name, copies_dir)))}")


def s3_secret(con: duckdb.DuckDBPyConnection, env: dict[str, str]) -> None:
    """Give DuckDB the object store the usual AWS_* variables describe (endpoint, keys, region)."""
    endpoint = urllib.parse.urlsplit(env.get("AWS_ENDPOINT_URL", ""))
    options = {
        "KEY_ID": env.get("AWS_ACCESS_KEY_ID", ""),
        "SECRET": env.get("AWS_SECRET_ACCESS_KEY", ""),
        "REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if endpoint.netloc:  # not AWS itself: S3-compatible servers want path-style URLs
        options |= {"ENDPOINT": endpoint.netloc, "URL_STYLE": "path"}
    parts = ", ".join(f"{key} {_sql_string(value)}" for key, value in options.items())
    use_ssl = "false" if endpoint.scheme == "http" else "true"
    con.execute(f"CREATE OR REPLACE SECRET lake_store (TYPE s3, {parts}, USE_SSL {use_ssl})")


def attach(con: duckdb.DuckDBPyConnection, catalog_dsn: str, data_path: str, env: dict[str, str],
           copies_dir: Path, alias: str = "lake") -> None:
    """Attach the DuckLake whose catalog is the Postgres database `catalog_dsn` and whose
    Parquet files live under `data_path` (s3://bucket/prefix/)."""
    load_extensions(con, copies_dir, "httpfs", "postgres", "ducklake")
    s3_secret(con, env)
    con.execute(f"ATTACH {_sql_string('ducklake:postgres:' + catalog_dsn)} AS {alias} (DATA_PATH {_sql_string(data_path)})")


def _sql_string(text: str) -> str:
    """A SQL string literal (ATTACH, LOAD and CREATE SECRET take no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"
