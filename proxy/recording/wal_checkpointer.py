"""SQLite WAL checkpoints on a native thread, off the gevent hub.

Every write of a gevent worker blocks all of its streams. When a commit of the recorder pushed the
write-ahead log past 1000 pages, SQLite copied it into the database file right there, with nothing
relayed meanwhile. Checkpointing after each batch from a native thread (SQLite releases the GIL while
it works) keeps the log short, so the recorder's own commits no longer trigger that copy.
"""
import sqlite3

from gevent import monkey

from proxy.runtime.native_threads import start_native_thread
from proxy.recording.native_writer import hub_sqlite_file

# The originals even under monkey patching: the native thread must not touch the hub's primitives.
_native_lock = monkey.get_original("_thread", "allocate_lock")
_native_sleep = monkey.get_original("time", "sleep")


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection, in a native thread, when asked."""

    def __init__(self, path: str, min_interval: float = 0.03):
        self.path = path
        # Each checkpoint syncs the files, so one after every batch costs more CPU than the copying;
        # much further apart, the log reaches the 1000 pages at which a commit checkpoints itself.
        self.min_interval = min_interval
        self.checkpoints = 0
        self.failures = 0  # counted, not logged: logging's locks are gevent's, unusable from here
        self._wake = _native_lock()
        self._wake.acquire()  # held until a checkpoint is asked for
        self._stopping = False

    def start(self) -> None:
        """Start the native thread; it sleeps until `request`."""
        start_native_thread(self._run)

    def request(self) -> None:
        """Ask for a checkpoint soon; never blocks, so it is safe on the hub."""
        try:
            self._wake.release()
        except RuntimeError:
            pass  # already asked for and not started yet: one checkpoint serves both

    def stop(self) -> None:
        """End the thread after any checkpoint under way."""
        self._stopping = True
        self.request()

    def _run(self) -> None:
        # Kept between checkpoints: opening the file for each one cost more CPU than the checkpoint.
        connection = None
        try:
            while True:
                self._wake.acquire()
                if self._stopping:
                    return
                try:
                    connection = connection or sqlite3.connect(self.path, timeout=1.0)
                    # PASSIVE never waits for readers or writers: the recorder keeps committing.
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    self.failures += 1  # the commits' own automatic checkpoints still bound the log
                    if connection is not None:
                        connection.close()
                    connection = None  # the next checkpoint starts on a fresh connection
                _native_sleep(self.min_interval)  # requests meanwhile are served by the next one
        finally:
            if connection is not None:
                connection.close()


def checkpointer_for(database) -> WalCheckpointer | None:
    """A checkpointer for a gevent worker's SQLite file; None elsewhere (see `hub_sqlite_file`)."""
    path = hub_sqlite_file(database)
    return WalCheckpointer(path) if path else None
