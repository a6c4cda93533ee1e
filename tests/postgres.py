"""A throwaway PostgreSQL server for the test run (pytest plugin).

Uses TEST_POSTGRES_URL when set; otherwise starts a private cluster from the machine's PostgreSQL
binaries. Without them the Postgres tests skip loudly on a developer machine, and fail under CI=true.
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


def _as_postgres_user(command: list[str]) -> list[str]:
    # initdb refuses to run as root; CI runs as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"*** POSTGRES TESTS SKIPPED: {reason} (install PostgreSQL or set TEST_POSTGRES_URL) ***")


@pytest.fixture(scope="session")
def postgres_server():
    """The base URL (no database name) of a running PostgreSQL server."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"].rstrip("/")
        return
    folder = _binaries()
    if folder is None:
        _missing("no PostgreSQL server binaries found")
    data = tempfile.mkdtemp(prefix="ccp-pg-")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    port = _free_port()
    run = lambda cmd: subprocess.run(_as_postgres_user(cmd), check=True, capture_output=True, cwd="/tmp")
    run([f"{folder}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
    run([f"{folder}/pg_ctl", "-D", data, "-w", "-l", f"{data}/log", "-o",
         f"-p {port} -k {data} -h 127.0.0.1 -c fsync=off -c max_connections=200", "start"])
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        run([f"{folder}/pg_ctl", "-D", data, "-m", "immediate", "stop"])
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test PostgreSQL server."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        for attempt in range(20):
            try:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)
