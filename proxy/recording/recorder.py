"""The only code that writes records: a queue drained in batches by one background thread.

What the database does not take waits in the backlog (the spool on disk) and is replayed once it
does: a record is dropped only when memory and spool are both full.
"""
import logging
import queue
import threading
import time

from models import database, save_records
from models.instances import HEARTBEAT_INTERVAL, execute_statements
from proxy.runtime import metrics
from proxy.recording.heartbeat import Heartbeat
from proxy.recording.backlog import Backlog
from proxy.recording.budget import MIB, RecordBudget, body_bytes
from proxy.recording.delivery import deliver, reason
from proxy.recording.in_flight import InFlightRows
from proxy.recording.outage import OutageLog
from proxy.recording.postgres_writer import postgres_writer_for
from proxy.recording.spool import Spool
from proxy.recording.sqlite_writer import sqlite_writer_for
from proxy.recording.takeover import Takeover
from proxy.recording.wal_checkpointer import checkpointer_for

log = logging.getLogger(__name__)

# Under gunicorn's gevent worker the commits run on a native thread (proxy.recording.sqlite_writer,
# proxy.recording.postgres_writer), but building a batch's statements still holds the hub; elsewhere (a plain
# thread) the whole write does. Batches go out ~256 KB at a time, so each stop is short.
PART_BYTES = 256 * 1024

_STOP = object()
_IN_FLIGHT = object()  # marks a queued row as the in-flight one
_WAKE = object()  # wakes the writer: an in-flight row to end
DEFAULT_SPOOL_BYTES = 4 * 1024 * MIB
RETRY_MAX = 2.0  # seconds between two attempts at most, while the database fails
SLOW_WRITE = 2.0  # seconds a record may wait for its first write before recording says it is degraded
REPLAY_SLICE = 0.2  # seconds of replay at most before the writer takes new records again


class Recorder:
    """Takes records without waiting for the database; a slow or broken database only delays them."""

    def __init__(self, save=None, capacity: int = 20000, max_bytes: int = 256 * MIB,
                 batch_size: int = 200, in_flight_after: float = 1.0,
                 batch_window: float = 0.02, heartbeat_every: float = HEARTBEAT_INTERVAL,
                 part_bytes: int = PART_BYTES, spool_dir: str | None = None,
                 spool_max_bytes: int = DEFAULT_SPOOL_BYTES, retry_max: float = RETRY_MAX):
        self._save = save  # None: the database's own (see `start`)
        self._execute = None  # runs the heartbeat's statements on the writer's connection
        self._writer = None
        self._part_bytes = part_bytes
        self._batch_window = batch_window
        self._in_flight = InFlightRows(in_flight_after)
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._batch_size = batch_size
        self._retry_max = retry_max
        self._retry_at, self._retry_delay = 0.0, 0.05
        self._replayed = 0  # records written from the backlog in the current outage
        self._delivering_since: float | None = None  # when the oldest record being written was submitted
        self._takeover: Takeover | None = None  # of the spools of processes gone (see `start`)
        self._thread: threading.Thread | None = None
        self._checkpointer = None
        # A long database outage must not let bodies pile up without bound (the record count
        # alone allowed gigabytes).
        self.budget = RecordBudget(max_bytes)
        self.outage = OutageLog()
        self.failed_writes = 0
        # Rows carry this process's id, and the writer beats under it.
        self.heartbeat = Heartbeat(heartbeat_every, lambda statements: self._execute(statements), _reset_connection)
        self.instance_id = self.heartbeat.instance_id
        spool = Spool(spool_dir, self.instance_id, spool_max_bytes) if spool_dir else None
        self.backlog = Backlog(spool, _here)

    def start(self) -> None:
        """Start the writer thread (a greenlet under gevent's patched threading)."""
        if self._thread is None:
            self._checkpointer = checkpointer_for(database)
            if self._checkpointer is not None:
                self._checkpointer.start()
            self._execute = execute_statements
            if self._save is None:
                # A gevent worker's database: its commits go to a native thread.
                self._writer = sqlite_writer_for(database) or postgres_writer_for(database)
                if self._writer is not None:
                    self._writer.start()
                    self._execute = self._writer.execute
                    self.backlog = Backlog(self.backlog.spool, self._writer.call)  # spool I/O off the hub
                self._save = self._writer.save if self._writer is not None else save_records
            if self.backlog.spool is not None:
                try:
                    self.backlog.spool.open()
                except OSError as exc:  # a spool folder it cannot write must not stop the proxy
                    log.error("recording: cannot use the spool folder %s (%s); records wait in memory only",
                              self.backlog.spool.folder, exc)
                    self.backlog = Backlog(None, self.backlog.run)
            self._takeover = Takeover(self.backlog, self._execute, _reset_connection)
            self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
            self._thread.start()

    @property
    def dropped(self) -> int:
        """Records given up on (memory and spool both full)."""
        return sum(self.outage.dropped.values())

    @property
    def waiting(self) -> int:
        """Records waiting to be written in memory (the queue, and those the spool could not take)."""
        return self._queue.qsize() + self.backlog.records_in_memory

    def state(self) -> dict:
        """This process's recording figures: ok or degraded, oldest unwritten age, spool bytes, drops."""
        oldest = self._oldest_unwritten()
        degraded = self.backlog.pending or oldest > SLOW_WRITE or self.outage.dropped_lately
        return {"status": "degraded" if degraded else "ok", "oldest_unwritten_seconds": round(oldest, 1),
                "spool_bytes": self.backlog.spool_bytes, "dropped": self.dropped}

    def submit_in_flight(self, log_row: dict) -> None:
        """Queue the row of a request just started; it is written only if the request is still
        running `in_flight_after` seconds later (most finish sooner: one write instead of two,
        and none while the request waits for its first byte)."""
        self._put(log_row, _IN_FLIGHT)

    def submit(self, log_row: dict, body_row: dict | None = None) -> None:
        """Queue a finished record (it supersedes the in-flight one); never blocks. Over the byte
        budget its bodies go first (the typed row is kept and flagged), then the record itself."""
        self._put(log_row, body_row)

    def _put(self, log_row: dict, body_row) -> None:
        body_row, size = self.budget.hold(log_row, body_row)
        if size is None:
            self._drop(log_row, body_row, "memory_full")
            return
        try:
            self._queue.put_nowait((log_row, body_row, size, time.time()))
        except queue.Full:
            self.budget.release(size)
            self._drop(log_row, body_row, "queue_full")

    def _drop(self, log_row: dict, body_row, why: str) -> None:
        if body_row is _IN_FLIGHT:  # a placeholder: the finished record follows, and is what counts
            metrics.RECORDS_DROPPED.labels("in_flight", why).inc()
        else:
            self.outage.drop(why, log_row["id"])
            self._in_flight.abandon(log_row)
            try:
                self._queue.put_nowait(_WAKE)
            except queue.Full:  # the writer is busy anyway: it ends the row after this batch
                pass

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is in the database; False on timeout (it is failing)."""
        deadline = time.monotonic() + timeout
        if not self._taken(timeout):
            return False
        while self.backlog.pending:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _taken(self, timeout: float) -> bool:
        """Wait until everything queued so far is written or kept in the backlog; False on timeout."""
        if not hasattr(self._queue, "all_tasks_done"):  # gevent's queue, once monkey-patched
            return bool(self._queue.join(timeout))
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued (what the database does not take stays in the spool), then end the
        writer thread."""
        if self._thread is None:
            return
        self._taken(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self.backlog.spool is not None:
            self.backlog.spool.close()  # the process is ending: its lock goes, its spool stays for the next
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
            self._save = None

    def _run(self) -> None:
        while True:
            items = self._next_items()
            records, held = [], 0
            for item in items:
                if item is _STOP or item is _WAKE:
                    continue
                log_row, body_row, size, submitted = item
                held += size
                self._delivering_since = min(self._delivering_since or submitted, submitted)
                if body_row is _IN_FLIGHT:
                    self._in_flight.started(log_row)
                else:
                    self._in_flight.finished(log_row["id"])
                    records.append((log_row, body_row, size))
            self._in_flight.settle()
            records.extend((log_row, None, 0) for log_row in self._in_flight.due())
            try:
                for part in in_parts(records, self._part_bytes):
                    held -= self._deliver(part)
                    time.sleep(0)  # under gevent, let the streams run between two parts
            finally:
                self._delivering_since = None
                self.budget.release(held)  # written or on disk: their memory is free again
                for _ in items:
                    self._queue.task_done()
            try:
                self._replay_if_due(REPLAY_SLICE)
                self._end_abandoned()
                self._takeover.run_if_due()
            except Exception:  # a bug, or a spool file that cannot be read, must not end the writer
                log.exception("recording: replaying the backlog failed; trying again later")
                self._retry_at = time.monotonic() + self._retry_max
            self.heartbeat.beat_if_due()
            self._publish()
            if _STOP in items:
                self._replay_if_due(1.0)  # a last chance, then the spool keeps the rest
                self.heartbeat.forget()
                return

    def _next_items(self) -> list:
        """Block until something is queued or something else falls due; then gather a batch."""
        wake = min(self._in_flight.next_due(), self.heartbeat.next_beat)
        if self.backlog.pending:
            wake = min(wake, self._retry_at)
        if self.backlog.spool is not None:
            wake = min(wake, self._takeover.next_scan)
        timeout = max(0.0, wake - time.monotonic())
        try:
            items = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        # Gather for a moment: one transaction for many records costs far less hub time.
        deadline = time.monotonic() + self._batch_window
        while len(items) < self._batch_size and items[-1] is not _STOP:
            try:
                items.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return items

    def _deliver(self, part: list) -> int:
        """Write a part, or keep it in the backlog; returns the budget bytes it still holds in memory."""
        size = sum(record[2] for record in part)
        records = [(log_row, body_row) for log_row, body_row, _ in part]
        for log_row, _ in records:
            log_row["instance_id"] = self.instance_id
        if self.backlog.pending:  # the database is failing: keep the order, and spare it the attempt
            return self._keep(records, size)
        delivery = deliver(self._save, records, _reset_connection)
        if not delivery.unwritten:
            self._written()
            return 0
        if delivery.outage:
            self._failed(delivery.cause)
        return self._keep(delivery.unwritten, size)

    def _keep(self, records: list, size: int) -> int:
        in_memory, refused = self.backlog.keep(records, size)
        if refused is not None:
            self.outage.spool_refused(reason(refused), len(records))
        return in_memory

    def _written(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.request()

    def _failed(self, cause: Exception) -> None:
        self.failed_writes += 1
        where = "in the spool" if self.backlog.spool is not None else "in memory"
        self.outage.failed(reason(cause), where)
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self._retry_max)

    def _replay_if_due(self, slice_seconds: float) -> None:
        """Write the backlog oldest first, for at most `slice_seconds`, if a retry is due."""
        if not self.backlog.pending or time.monotonic() < self._retry_at:
            return
        ends = time.monotonic() + slice_seconds
        while time.monotonic() < ends:
            batch = self.backlog.next_batch(self._part_bytes)
            if batch is None:
                break
            records, token = batch
            delivery = deliver(self._save, records, _reset_connection)
            if delivery.outage:
                self._failed(delivery.cause)
                return
            self.budget.release(self.backlog.written(token))
            self._replayed += len(records) - len(delivery.unwritten)
            self._written()
            if delivery.unwritten:  # refused even repaired: behind the rest, to be tried again later
                self._keep(delivery.unwritten, 0)
                self._retry_at = time.monotonic() + self._retry_max
                return
            time.sleep(0)
        if not self.backlog.pending:
            self.outage.recovered(self._replayed)
            self._replayed, self._retry_delay = 0, 0.05

    def _end_abandoned(self) -> None:
        """End the in-flight rows of requests whose finished record was dropped, once nothing older waits."""
        statements = self._in_flight.end_statements()
        if not statements or self.backlog.pending:
            return
        try:
            self._execute(statements)
        except Exception as exc:  # the database is failing again: the next round retries
            _reset_connection()
            log.debug("cannot end abandoned in-flight rows yet: %s", exc)
            return
        self._in_flight.ended(len(statements))

    def _oldest_unwritten(self) -> float:
        since = self._delivering_since  # a first attempt may wait for the database for seconds
        return max(self.backlog.oldest_seconds(), time.time() - since if since else 0.0)

    def _publish(self) -> None:
        oldest = self.backlog.oldest_seconds()
        metrics.RECORD_BACKLOG.set(self.waiting)
        metrics.SPOOL_BYTES.set(self.backlog.spool_bytes)
        metrics.OLDEST_UNWRITTEN.set(oldest)
        self.outage.tick(self.waiting, self.backlog.spool_bytes, oldest)


def in_parts(records: list, max_bytes: int):
    """The records in consecutive parts holding at most about `max_bytes` of text (a record is never split)."""
    part, size = [], 0
    for record in records:
        weight = body_bytes(record[1]) if record[1] else 0
        if part and size + weight > max_bytes:
            yield part
            part, size = [], 0
        part.append(record)
        size += weight
    if part:
        yield part


def _here(function, *args):
    return function(*args)


def _reset_connection() -> None:
    """Drop this thread's connection so the next try starts on a fresh one."""
    try:
        database.close()
    except Exception:  # a half-broken connection, or none bound yet: the next try opens afresh
        pass
