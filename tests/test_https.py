"""HTTPS served by the process itself, from certificate files."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sessionstory.config import ConfigError, load_settings
from tests.server import free_port


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_the_server_speaks_https_with_hsts(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    env = {**os.environ, "SESSIONSTORY_TLS_CERT": str(cert), "SESSIONSTORY_TLS_KEY": str(key)}
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "sessionstory", "serve", "--data-dir", str(tmp_path / "data"),
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/login", context=trust, timeout=2) as r:
                    assert r.status == 200
                    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-2000:]
                time.sleep(0.2)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_tls_settings_come_in_pairs_of_real_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both"):
        load_settings(tmp_path, env={"SESSIONSTORY_TLS_CERT": "x.pem"})
    with pytest.raises(ConfigError, match="no file"):
        load_settings(tmp_path, env={"SESSIONSTORY_TLS_CERT": "x.pem", "SESSIONSTORY_TLS_KEY": "y.pem"})
