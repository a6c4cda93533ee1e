"""The recorder's SQLite commits on a native thread, so the gevent hub never waits for the disk.

Only the sqlite3 module runs on that thread (it releases the GIL while SQLite works): peewee and
logging take gevent's patched locks, which a native thread must not touch (peewee called from
gevent's thread pool deadlocked).
"""
import functools
import sqlite3

import peewee

from models import record_statements, run_statements
from models.db import SQLITE_PRAGMAS
from proxy.recording.native_writer import NativeWriter, hub_sqlite_file

# Waiting for a lock here blocks no stream, so it may wait longer than the hub's connections do.
BUSY_TIMEOUT = 5.0


class SqliteWriter(NativeWriter):
    """Writes batches of records to one SQLite file from its own native thread and connection."""

    def __init__(self, path: str, busy_timeout: float = BUSY_TIMEOUT):
        super().__init__()
        self.path = path
        self.busy_timeout = busy_timeout

    def save(self, logs: list[dict], bodies: list[dict]) -> None:
        """Write a batch in one transaction; the calling greenlet waits, the other greenlets run."""
        # Built on the writer's thread (bodies are cut, hashed and compressed there); a few multi-row
        # statements, because each statement hands the GIL back and forth with the hub once more.
        # A generator: the rows it reads in the transaction decide what it writes next.
        with peewee.__exception_wrapper__:  # sqlite3's errors as peewee's, which the recorder handles
            self.commit(functools.partial(record_statements, logs, bodies))

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                     check_same_thread=False)
        for name, value in SQLITE_PRAGMAS.items():
            connection.execute(f"PRAGMA {name} = {value}")
        return connection

    def execute(self, statements: list[tuple[str, list]]) -> list[int]:
        """Run SQL written with `?` markers in one transaction; the row count of each statement."""
        with peewee.__exception_wrapper__:
            return self.commit(statements)

    def _write(self, connection: sqlite3.Connection, statements) -> list[int]:
        counts = []

        def execute(sql: str, parameters: list) -> list:
            cursor = connection.execute(sql, parameters)
            counts.append(cursor.rowcount)
            return cursor.fetchall()  # a SELECT's rows, for record_statements

        connection.execute("BEGIN")
        run_statements(statements, execute)
        connection.execute("COMMIT")
        return counts

    def _disconnect(self, connection: sqlite3.Connection) -> None:
        try:
            connection.close()
        except sqlite3.Error:
            pass


def sqlite_writer_for(database) -> SqliteWriter | None:
    """A native writer for a gevent worker's SQLite file; None elsewhere (see `hub_sqlite_file`)."""
    path = hub_sqlite_file(database)
    return SqliteWriter(path) if path else None
