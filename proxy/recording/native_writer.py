"""What the recorder's native writers share: one thread of gevent's pool with its own connection,
one transaction a batch, while the calling greenlet waits and the hub keeps relaying; and the test
of when a database needs one (or the WAL checkpointer's native thread)."""
import peewee
from gevent import monkey
from gevent.threadpool import ThreadPool

from proxy.runtime.native_threads import FD_TABLE_SIZE, reserve_fd_table


class NativeWriter:
    """Commits batches on one native thread; subclasses say how to connect, write and disconnect."""

    def __init__(self):
        self._pool: ThreadPool | None = None
        self._connection = None  # used by the pool's one thread only

    def start(self) -> None:
        """Start the thread that writes (it waits for work)."""
        if self._pool is None:
            reserve_fd_table(FD_TABLE_SIZE)  # before the process has a second thread: see native_threads
            self._pool = ThreadPool(1)

    def stop(self) -> None:
        """Close the connection and end the thread."""
        if self._pool is not None:
            self._pool.apply(self._close)
            self._pool.kill()
            self._pool = None

    def commit(self, statements) -> list[int]:
        """Run `statements` (a list, or a function that builds it) in one transaction on the writer's
        thread; the calling greenlet waits. Returns each statement's row count."""
        return self.call(self._commit, statements)

    def call(self, function, *args):
        """`function(*args)` on the writer's thread (file I/O too: the spool); its error raised here."""
        # An error leaves the thread as a value: raised inside the pool, gevent printed a traceback
        # for every failed attempt of an outage.
        result, error = self._pool.apply(_captured, (function, args))
        if error is not None:
            raise error
        return result

    def _commit(self, statements) -> list[int]:
        if callable(statements):  # built here, not on the hub: cutting and compressing bodies is CPU work
            statements = statements()
        if self._connection is None:
            self._connection = self._connect()
        try:
            return self._write(self._connection, statements)
        except BaseException:
            self._close()  # the next batch starts on a fresh connection, as the recorder's retries expect
            raise

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._disconnect(connection)  # an open transaction is rolled back

    def _connect(self):
        raise NotImplementedError

    def _write(self, connection, statements: list) -> list[int]:
        raise NotImplementedError

    def _disconnect(self, connection) -> None:
        raise NotImplementedError


def _captured(function, args: tuple) -> tuple:
    try:
        return function(*args), None
    except Exception as exc:  # handed back to the calling greenlet, which raises it
        return None, exc


def gevent_worker_database(database) -> peewee.Database | None:
    """The database bound behind `database` in a gevent worker, whose hub must not wait on it;
    None elsewhere (a plain recorder thread may block on its own)."""
    if not monkey.is_module_patched("threading"):
        return None
    return getattr(database, "obj", database)  # a DatabaseProxy's bound database


def hub_sqlite_file(database) -> str | None:
    """The SQLite file a gevent worker writes through `database`; None for any other database."""
    db = gevent_worker_database(database)
    if not isinstance(db, peewee.SqliteDatabase) or db.database in ("", ":memory:"):
        return None
    return db.database
