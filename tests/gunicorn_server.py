"""Start the real server (`gunicorn -k gevent` with gunicorn.conf.py) for tests, as `make run` would."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornServer:
    """A gunicorn master with gevent workers, its database migrated first like the Procfile does."""

    def __init__(self, env: dict, workers: int = 1, log_path: Path | None = None, tls: tuple | None = None):
        """`tls`: (certificate file, key file, CA file) to serve HTTPS with, as gunicorn's --certfile would."""
        self.port = free_port()
        self.log_path = log_path  # gunicorn's output goes there (else to test-artifacts/, if present)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.verify = tls[2] if tls else True
        tls_args = {"GUNICORN_CMD_ARGS": f"--certfile {tls[0]} --keyfile {tls[1]}"} if tls else {}
        # CONFIG_PATH: a developer's own proxy.yaml in the checkout must not route the tests' traffic.
        # SPOOL_DIR: the record spool must not land in the checkout (its default for Postgres).
        self.env = {**os.environ, "CONFIG_PATH": os.devnull, "SPOOL_DIR": tempfile.mkdtemp(prefix="ccp-spool-"),
                    **env, **tls_args, "PORT": str(self.port), "HOST": "127.0.0.1",
                    "WEB_CONCURRENCY": str(workers)}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> "GunicornServer":
        subprocess.run([sys.executable, "app.py", "init-db"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=60)
        if self.log_path is None and (ROOT / "test-artifacts").is_dir():
            self.log_path = ROOT / "test-artifacts" / f"gunicorn-{self.port}.log"
        self.log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if requests.get(self.url + "/health", timeout=1, verify=self.verify).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # refused, or the worker still booting
                time.sleep(0.1)
        self.process.kill()  # a server that never came up must not outlive the test
        self.process.wait(5)
        raise RuntimeError("gunicorn did not answer /health in time")

    def records(self, where: str = "TRUE", parameters: tuple = ()) -> list[dict]:
        """The server's request_log rows matching an SQL condition, read from its DATABASE_URL."""
        import models  # the test process's own database handle stays as it is

        database = models.open_database(self.env["DATABASE_URL"], pool_size=1)
        try:
            where = where.replace("?", database.param)  # the conditions are written with ? markers
            cursor = database.execute_sql(f"SELECT * FROM request_log WHERE {where} ORDER BY timestamp_ms",
                                          parameters)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            database.close()

    def wait_for_records(self, where: str, parameters: tuple = (), count: int = 1,
                         timeout: float = 10) -> list[dict]:
        """Poll until at least `count` finished records match (or `timeout`); returns those found."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.records(f"outcome != 'in_flight' AND ({where})", parameters)
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM the master and wait for it; returns its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)
