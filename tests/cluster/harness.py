"""The engines a cluster stands on, started for real on loopback: a throwaway Postgres
(Debian's `postgresql`, a cluster made with initdb in a temp dir) and moto's S3 server.

Nothing here is a mock of ours: Postgres is Postgres and moto's server speaks the S3
protocol over HTTP, as MinIO or S3 itself would.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import itertools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.server import free_port

# Postgres refuses to run as root; Debian's package creates this account for it.
PG_ACCOUNT = "postgres"
S3_REGION = "us-east-1"
S3_KEY_ID, S3_SECRET = "testing", "testing"  # moto takes any credentials


def postgres_bin() -> Path | None:
    """Where Debian's `postgresql` put initdb and pg_ctl (newest version first), if it is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True)
    return Path(found[0]).parent if found else None


class Postgres:
    """A Postgres cluster of its own in a temp dir, trusting loopback connections."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("Postgres is not installed: apt-get install -y postgresql (or `make cluster-test`)")
        self.bin = bin_dir
        self.port = free_port()
        # Not under pytest's tmp_path: that is private to root, and the server may run as another account.
        self.root = Path(tempfile.mkdtemp(prefix="sessionstory-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "server.log"
        self.user = PG_ACCOUNT if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_ACCOUNT, PG_ACCOUNT)

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_ACCOUNT, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=self.root)

    def start(self) -> Postgres:
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "-t", "60", "start")
        return self

    def create_database(self, name: str) -> str:
        """A new database; returns its libpq connection string."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return self.dsn(name)

    def dsn(self, database: str) -> str:
        return f"dbname={database} host=127.0.0.1 port={self.port} user={self.user}"

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class MotoS3:
    """moto's server mode: an S3-compatible endpoint on a loopback port, in its own process."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"moto-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoS3:
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child writes to it until stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto did not start in 30 s")

    @property
    def env(self) -> dict[str, str]:
        """The usual AWS variables pointing a client (ours, boto3, the AWS CLI) at this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": S3_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_REGION": S3_REGION, "AWS_ALLOW_HTTP": "true"}

    def create_bucket(self, name: str) -> str:
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        with urllib.request.urlopen(request, timeout=10):
            return name

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


class RoundRobin:
    """A load balancer on a loopback port, as docs/cluster/nginx.conf's: every request goes to
    the next node in turn, with no stickiness, so a visitor's batches land on one node and then
    another. Each kind of request (method) takes its own turn: a CORS preflight before each POST
    would otherwise send every POST to the same node. `ingested` counts each node's ingest POSTs."""

    _SKIPPED = {"connection", "keep-alive", "transfer-encoding", "content-length"}

    def __init__(self, backends: list[str]) -> None:
        turns = {method: itertools.cycle(backends) for method in ("GET", "POST", "OPTIONS")}
        self.ingested: Counter[str] = Counter()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                backend = next(turns[self.command])
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "POST" and self.path.startswith("/api/v1/ingest"):
                    balancer.ingested[backend] += 1
                target = urllib.parse.urlsplit(backend)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body or None, dict(self.headers))
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in RoundRobin._SKIPPED:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_OPTIONS = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, name="round-robin", daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def wait_for(check: Callable[[], object], what: str, timeout: float = 60) -> object:
    """`check()`'s first truthy answer, asked every 0.3 s: what another node shows comes a
    seal time and a poll later."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.3)
    return found


def print_table(description: str, columns: list[str], measure: Callable[..., list[str]],
                **options: float) -> None:
    """The command line of a measuring script: each option as `--name N` (its default given
    here), then the load and a Markdown table of `measure(**options)`'s rows under `columns`."""
    parser = argparse.ArgumentParser(description=description)
    for name, default in options.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    chosen = vars(parser.parse_args())
    print(f"load average {os.getloadavg()[0]:.2f}; " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in chosen.items()))
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in measure(**chosen):
        print(row)
