"""The only code that writes records: a queue drained in batches by one background thread."""
import logging
import queue
import threading
import time

import peewee

from models import database, save_records

log = logging.getLogger(__name__)

_STOP = object()


class Recorder:
    """Takes records without waiting for the database; a slow or broken database only delays them."""

    def __init__(self, save=save_records, capacity: int = 20000, batch_size: int = 200,
                 give_up_after: float = 60.0):
        self._save = save
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._batch_size = batch_size
        self._give_up_after = give_up_after
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.dropped = 0
        self.failed_writes = 0

    def start(self) -> None:
        """Start the writer thread (a greenlet under gevent's patched threading)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
            self._thread.start()

    @property
    def backlog(self) -> int:
        """Records waiting to be written."""
        return self._queue.qsize()

    def submit(self, log_row: dict, body_row: dict | None = None) -> None:
        """Queue a record (a later one for the same id supersedes it); never blocks."""
        try:
            self._queue.put_nowait((log_row, body_row))
        except queue.Full:
            self.dropped += 1
            log.error("record queue full (%d): dropped record %s", self._queue.maxsize, log_row["id"])

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the writer thread."""
        if self._thread is None:
            return
        self.flush(timeout)
        self._stopping = True  # a write still retrying gives up now
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            while len(items) < self._batch_size:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [item for item in items if item is not _STOP]
            try:
                if records:
                    self._write(records)
            finally:
                for _ in items:
                    self._queue.task_done()
            if len(records) < len(items):
                return

    def _write(self, records) -> None:
        logs, bodies = {}, {}
        for log_row, body_row in records:
            logs[log_row["id"]] = log_row
            if body_row is not None:
                bodies[body_row["request"]] = body_row
        delay, deadline = 0.05, time.monotonic() + self._give_up_after
        while True:
            try:
                self._save(list(logs.values()), list(bodies.values()))
                return
            except peewee.PeeweeException as exc:
                self.failed_writes += 1
                _reset_connection()
                if self._stopping or time.monotonic() + delay > deadline:
                    self.dropped += len(logs)
                    log.error("gave up writing %d records: %s", len(logs), exc)
                    return
                log.warning("writing %d records failed (%s); retrying in %.2fs", len(logs), exc, delay)
                time.sleep(delay)  # cooperative under gevent: streams keep flowing
                delay = min(delay * 2, 2.0)
            except Exception:  # a bug must not kill the writer and lose every later record
                self.dropped += len(logs)
                log.exception("could not write %d records", len(logs))
                return


def _reset_connection() -> None:
    """Drop this thread's connection so the next try starts on a fresh one."""
    try:
        database.close()
    except peewee.PeeweeException:
        pass
