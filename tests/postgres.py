"""A throwaway PostgreSQL server for the test run (pytest plugin), also used by the benchmarks.

Uses TEST_POSTGRES_URL when set; otherwise starts a private cluster from the machine's PostgreSQL
binaries (`make test` installs them through .ci/test-deps). Without either, the Postgres tests fail.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest


def _binaries() -> str | None:
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin"):
        for folder in sorted(glob.glob(pattern), reverse=True):
            if os.path.exists(os.path.join(folder, "initdb")):
                return folder
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temporary folder on a free loopback port."""

    def __init__(self):
        self.folder = _binaries()
        self.data = None
        self.url = None

    @property
    def available(self) -> bool:
        return self.folder is not None

    def _run(self, command: list[str]) -> None:
        if os.geteuid() == 0:  # initdb refuses to run as root; CI runs as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd="/tmp", timeout=120)

    def start(self) -> str:
        """Start the cluster; returns its base URL (no database name)."""
        self.data = tempfile.mkdtemp(prefix="ccp-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        port = _free_port()
        self._run([f"{self.folder}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"])
        self._run([f"{self.folder}/pg_ctl", "-D", self.data, "-w", "-l", f"{self.data}/log", "-o",
                   f"-p {port} -k {self.data} -h 127.0.0.1 -c fsync=off -c max_connections=200", "start"])
        self.url = f"postgresql://postgres@127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        """Stop the cluster and delete its files."""
        if self.data:
            self._run([f"{self.folder}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"])
            shutil.rmtree(self.data, ignore_errors=True)
            self.data = None


def create_database(server_url: str) -> str:
    """Create an empty database on the server; returns its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by create_database, even with connections still open."""
    import psycopg

    server_url, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        for _ in range(20):
            try:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)


@pytest.fixture(scope="session")
def postgres_server():
    """The base URL (no database name) of a running PostgreSQL server."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"].rstrip("/")
        return
    server = ThrowawayPostgres()
    if not server.available:  # `make test` installs it (.ci/test-deps): a run without it is broken
        pytest.fail("no PostgreSQL server binaries found: run .ci/test-deps, install PostgreSQL, "
                    "or set TEST_POSTGRES_URL")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test PostgreSQL server."""
    url = create_database(postgres_server)
    yield url
    drop_database(url)
