"""What `/readyz` learns of a cluster node's shared parts (DataDir.cluster_checks): a real
object store and a real Postgres, each stopped in turn."""

from __future__ import annotations

from pathlib import Path

from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from tests.cluster.harness import MotoS3, Postgres


def test_a_node_reports_a_store_or_a_catalog_it_cannot_reach(tmp_path: Path) -> None:
    s3, pg = MotoS3(tmp_path).start(), Postgres().start()
    try:
        env = {"SESSIONSTORY_STORE_URL": f"s3://{s3.create_bucket('health')}/cluster",
               "SESSIONSTORY_CATALOG_URL": pg.create_database("health"), **s3.env}
        dd = DataDir(prepare_data_dir(load_settings(tmp_path / "node", env=env)))
        assert dd.health is not None
        dd.health.probe()
        assert dd.cluster_checks() == {"store": None, "catalog": None}
        s3.stop()
        dd.health.probe()
        checks = dd.cluster_checks()
        assert checks["catalog"] is None
        assert checks["store"] and checks["store"].startswith("cannot reach the cluster's store")
        pg.stop()
        dd.health.probe()
        assert (dd.cluster_checks()["catalog"] or "").startswith("cannot reach the cluster's catalog")
        dd.close()
    finally:
        s3.stop()
        pg.stop()


def test_a_single_node_has_no_cluster_checks(tmp_path: Path) -> None:
    dd = DataDir(prepare_data_dir(load_settings(tmp_path / "single", env={})))
    try:
        assert dd.health is None and dd.peers is None and dd.shared_rows is None
        assert dd.cluster_checks() == {}
    finally:
        dd.close()
