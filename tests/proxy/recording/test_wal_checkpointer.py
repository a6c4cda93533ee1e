"""The WAL checkpointer: SQLite's log copied into the database file from a native thread, on request."""
import os
import sqlite3
import time
from pathlib import Path

import peewee

from proxy.recording.wal_checkpointer import WalCheckpointer, checkpointer_for


def _wal_database(path) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=wal")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer copies the log
    connection.execute("CREATE TABLE t (body TEXT)")
    connection.executemany("INSERT INTO t VALUES (?)", [("x" * 50_000,)] * 20)
    connection.commit()
    return connection


def test_a_requested_checkpoint_copies_the_log_into_the_database_file(tmp_path):
    path = tmp_path / "records.db"
    writer = _wal_database(path)
    size_before = path.stat().st_size
    checkpointer = WalCheckpointer(str(path))
    checkpointer.start()
    try:
        checkpointer.request()
        deadline = time.monotonic() + 5
        while checkpointer.checkpoints < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        checkpointer.stop()
        writer.close()
    assert (checkpointer.checkpoints, checkpointer.failures) == (1, 0)
    assert path.stat().st_size > size_before + 20 * 50_000, "the rows must now be in the database file"


def test_a_failing_checkpoint_is_counted_not_raised(tmp_path):
    checkpointer = WalCheckpointer(str(tmp_path / "missing-dir" / "records.db"))
    checkpointer.start()
    checkpointer.request()
    deadline = time.monotonic() + 5
    while checkpointer.failures < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    checkpointer.stop()
    assert (checkpointer.checkpoints, checkpointer.failures) == (0, 1)


def test_only_a_gevent_worker_on_an_sqlite_file_gets_one(tmp_path, monkeypatch):
    path = str(tmp_path / "records.db")
    # The tests run unpatched: the recorder is a native thread there and may block on SQLite.
    assert checkpointer_for(peewee.SqliteDatabase(path)) is None
    monkeypatch.setattr("proxy.recording.native_writer.monkey.is_module_patched", lambda name: True)
    assert checkpointer_for(peewee.SqliteDatabase(path)).path == path
    assert checkpointer_for(peewee.SqliteDatabase(":memory:")) is None
    assert checkpointer_for(peewee.PostgresqlDatabase("records")) is None


def test_requests_close_together_are_served_by_one_checkpoint(tmp_path):
    path = tmp_path / "records.db"
    writer = _wal_database(path)
    checkpointer = WalCheckpointer(str(path), min_interval=0.5)
    checkpointer.start()
    try:
        for _ in range(3):
            checkpointer.request()
        deadline = time.monotonic() + 5
        while checkpointer.checkpoints < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        checkpointer.request()
        time.sleep(0.2)
        assert checkpointer.checkpoints == 1, "the next one waits for min_interval"
        deadline = time.monotonic() + 5
        while checkpointer.checkpoints < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints == 2
    finally:
        checkpointer.stop()
        writer.close()


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def _open_on(path) -> int:
    """How many of this process's descriptors have the file at `path` open."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path))


def test_the_connection_is_kept_between_checkpoints(tmp_path):
    path = tmp_path / "records.db"
    writer = _wal_database(path)
    before = _open_on(path)
    checkpointer = WalCheckpointer(str(path), min_interval=0.01)
    checkpointer.start()
    try:
        for count in (1, 2):
            checkpointer.request()
            _wait_for(lambda: checkpointer.checkpoints == count)
            assert _open_on(path) == before + 1, "the checkpointer's own connection stays open"
    finally:
        checkpointer.stop()
        writer.close()
    assert checkpointer.checkpoints == 2


class FailingOnce:
    """A connection whose first statement fails, as a checkpoint on a broken connection would."""

    def __init__(self, connection: sqlite3.Connection, failures: list):
        self.connection, self.failures, self.closed = connection, failures, False

    def execute(self, sql: str):
        if not self.failures:
            self.failures.append(sql)
            raise sqlite3.OperationalError("disk I/O error")
        return self.connection.execute(sql)

    def close(self) -> None:
        self.closed = True
        self.connection.close()


def test_after_a_failure_the_next_checkpoint_starts_on_a_fresh_connection(tmp_path, monkeypatch):
    path = tmp_path / "records.db"
    writer = _wal_database(path)
    real_connect, opened, failures = sqlite3.connect, [], []

    def connect(*args, **kwargs):
        opened.append(FailingOnce(real_connect(*args, **kwargs), failures))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", connect)
    checkpointer = WalCheckpointer(str(path), min_interval=0.01)
    checkpointer.start()
    try:
        checkpointer.request()
        _wait_for(lambda: checkpointer.failures == 1)
        checkpointer.request()
        _wait_for(lambda: checkpointer.checkpoints == 1)
    finally:
        checkpointer.stop()
        writer.close()
    assert (checkpointer.checkpoints, checkpointer.failures) == (1, 1)
    assert len(opened) == 2 and opened[0].closed, "the failed connection is closed and replaced"
