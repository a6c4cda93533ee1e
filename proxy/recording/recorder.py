"""The only code that writes records: a queue drained in batches by one background thread."""
import logging
import queue
import threading
import time

import peewee

from models import database, save_records
from models.instances import HEARTBEAT_INTERVAL
from proxy.runtime import metrics
from proxy.recording.heartbeat import Heartbeat
from proxy.recording.budget import MIB, RecordBudget, body_bytes
from proxy.recording.postgres_writer import postgres_writer_for
from proxy.recording.sqlite_writer import sqlite_writer_for
from proxy.recording.wal_checkpointer import checkpointer_for

log = logging.getLogger(__name__)

# Under gunicorn's gevent worker the commits run on a native thread (proxy.recording.sqlite_writer,
# proxy.recording.postgres_writer), but building a batch's statements still holds the hub; elsewhere (a plain
# thread) the whole write does. Batches go out ~256 KB at a time, so each stop is short.
PART_BYTES = 256 * 1024

_STOP = object()
_IN_FLIGHT = object()  # marks a queued row as the in-flight one


class Recorder:
    """Takes records without waiting for the database; a slow or broken database only delays them."""

    def __init__(self, save=None, capacity: int = 20000, max_bytes: int = 256 * MIB,
                 batch_size: int = 200, give_up_after: float = 60.0, in_flight_after: float = 1.0,
                 batch_window: float = 0.02, heartbeat_every: float = HEARTBEAT_INTERVAL,
                 part_bytes: int = PART_BYTES):
        self._save = save  # None: the database's own (see `start`)
        self._writer = None
        self._part_bytes = part_bytes
        self._in_flight_after = in_flight_after
        self._batch_window = batch_window
        self._waiting: dict[str, tuple[float, dict]] = {}  # id -> (when to write it, in-flight row)
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._batch_size = batch_size
        self._give_up_after = give_up_after
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._checkpointer = None
        # A long database outage must not let bodies pile up without bound (the record count
        # alone allowed gigabytes).
        self.budget = RecordBudget(max_bytes)
        self.dropped = 0
        self.failed_writes = 0
        # Rows carry this process's id, and the writer beats under it.
        self.heartbeat = Heartbeat(heartbeat_every, _reset_connection)
        self.instance_id = self.heartbeat.instance_id

    def start(self) -> None:
        """Start the writer thread (a greenlet under gevent's patched threading)."""
        if self._thread is None:
            self._checkpointer = checkpointer_for(database)
            if self._checkpointer is not None:
                self._checkpointer.start()
            if self._save is None:
                # A gevent worker's database: its commits go to a native thread.
                self._writer = sqlite_writer_for(database) or postgres_writer_for(database)
                if self._writer is not None:
                    self._writer.start()
                self._save = self._writer.save if self._writer is not None else save_records
            self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
            self._thread.start()

    @property
    def backlog(self) -> int:
        """Records waiting to be written."""
        return self._queue.qsize()

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
            self._drop_record(log_row, f"record queue over its byte budget ({self.budget.max_bytes} bytes)")
            return
        try:
            self._queue.put_nowait((log_row, body_row, size))
        except queue.Full:
            self.budget.release(size)
            self._drop_record(log_row, f"record queue full ({self._queue.maxsize})")

    def _drop_record(self, log_row: dict, why: str) -> None:
        self.dropped += 1
        metrics.RECORDS_DROPPED.labels("record").inc()
        log.error("%s: dropped record %s", why, log_row["id"])

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (or given up); False on timeout."""
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
        """Write what is queued, then end the writer thread."""
        if self._thread is None:
            return
        self.flush(timeout)
        self._stopping = True  # a write still retrying gives up now
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
            self._save = None

    def _run(self) -> None:
        while True:
            items = self._next_items()
            records, held = [], 0
            for item in items:
                if item is _STOP:
                    continue
                log_row, body_row, size = item
                held += size
                if body_row is _IN_FLIGHT:
                    self._waiting[log_row["id"]] = (time.monotonic() + self._in_flight_after, log_row)
                else:
                    self._waiting.pop(log_row["id"], None)
                    records.append((log_row, body_row))
            records.extend(self._due_in_flight())
            try:
                for part in in_parts(records, self._part_bytes):
                    self._write(part)
                    time.sleep(0)  # under gevent, let the streams run between two parts
                metrics.RECORD_BACKLOG.set(self._queue.qsize())
            finally:
                self.budget.release(held)  # written or given up: their memory is free again
                for _ in items:
                    self._queue.task_done()
            if _STOP in items:
                self.heartbeat.forget()
                return
            self.heartbeat.beat_if_due()

    def _next_items(self) -> list:
        """Block until something is queued or an in-flight row falls due; then gather a batch."""
        wake = min([due for due, _ in self._waiting.values()] + [self.heartbeat.next_beat])
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

    def _due_in_flight(self) -> list:
        now = time.monotonic()
        due = [key for key, (when, _) in self._waiting.items() if when <= now]
        return [(self._waiting.pop(key)[1], None) for key in due]

    def _save_one_by_one(self, logs: dict, bodies: dict, cause: Exception) -> None:
        # One record the database refuses must not cost the others theirs.
        for request_id, log_row in logs.items():
            body = bodies.get(request_id)
            try:
                self._save([log_row], [body] if body else [])
                continue
            except Exception as exc:
                refused = exc
                _reset_connection()
            try:  # stored all the same: its texts escaped to ASCII, its bodies left out, and flagged
                self._save([repaired_row(log_row)], [])
                log.warning("%s: the database refused its record (%s); stored it repaired, without bodies",
                            request_id, _reason(refused))
            except Exception as exc:
                _reset_connection()
                self._drop_record(log_row, f"the database refused it ({_reason(exc)})")
        log.warning("a batch of %d records failed (%s); wrote them one by one", len(logs), _reason(cause))

    def _write(self, records) -> None:
        logs, bodies = {}, {}
        for log_row, body_row in records:
            log_row["instance_id"] = self.instance_id
            logs[log_row["id"]] = log_row
            if body_row is not None:
                bodies[body_row["request"]] = body_row
        delay, deadline = 0.05, time.monotonic() + self._give_up_after
        while True:
            try:
                self._save(list(logs.values()), list(bodies.values()))
                if self._checkpointer is not None:
                    self._checkpointer.request()
                return
            except (peewee.IntegrityError, peewee.DataError, peewee.ProgrammingError, ValueError) as exc:
                # Retrying cannot help these (a value a column or the driver refuses, such as a
                # text that cannot be encoded): save what can be saved, one record at a time.
                self.failed_writes += 1
                metrics.RECORD_WRITE_FAILURES.inc()
                _reset_connection()
                self._save_one_by_one(logs, bodies, exc)
                return
            except peewee.PeeweeException as exc:
                self.failed_writes += 1
                metrics.RECORD_WRITE_FAILURES.inc()
                _reset_connection()
                if self._stopping or time.monotonic() + delay > deadline:
                    self.dropped += len(logs)
                    metrics.RECORDS_DROPPED.labels("record").inc(len(logs))
                    log.error("gave up writing %d records: %s", len(logs), exc)
                    return
                log.warning("writing %d records failed (%s); retrying in %.2fs", len(logs), exc, delay)
                time.sleep(delay)  # cooperative under gevent: streams keep flowing
                delay = min(delay * 2, 2.0)
            except Exception as exc:  # a bug must not kill the writer, nor cost a batch its records
                log.exception("could not write %d records at once", len(logs))
                _reset_connection()
                self._save_one_by_one(logs, bodies, exc)
                return


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


def repaired_row(log_row: dict) -> dict:
    """A record the database refused, made plain: every text as ASCII (escapes for the rest), no NUL,
    flagged `bodies_omitted: refused`."""
    row = {key: _ascii(value) if isinstance(value, str) else value for key, value in log_row.items()}
    row["bodies_omitted"] = "refused"
    return row


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii").replace("\x00", "\\x00")


def _reason(exc: Exception) -> str:
    # The type and the first line only: a driver's message may quote the refused value at length.
    first_line = str(exc).split("\n", 1)[0][:300]
    return f"{type(exc).__name__}: {first_line}"


def _reset_connection() -> None:
    """Drop this thread's connection so the next try starts on a fresh one."""
    try:
        database.close()
    except Exception:  # a half-broken connection, or none bound yet: the next try opens afresh
        pass
