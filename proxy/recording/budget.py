"""The record queue's byte budget: over it, a record's bodies go first, then the record itself."""
import logging
import threading

from proxy.runtime import metrics

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# What a queued typed row holds in memory: a typical one's size (tracemalloc), rounded up.
ROW_BYTES = 2048


def body_bytes(body_row: dict) -> int:
    """About what a body row holds in memory: the length of its bodies (bytes) and headers (text)."""
    return sum(len(value) for value in body_row.values() if isinstance(value, (str, bytes)))


class RecordBudget:
    """Bytes held by records from their submission until the writer is done with them."""

    def __init__(self, max_bytes: int):
        # 0 (or less) turns the byte cap off; the recorder's record count still bounds the queue.
        self.max_bytes = max_bytes if max_bytes > 0 else float("inf")
        self.held = 0
        self.bodies_dropped = 0
        self._lock = threading.Lock()
        self._shedding = False

    def hold(self, log_row: dict, body_row) -> tuple[object, int | None]:
        """Take a record's bytes: (its body row, or None when that did not fit and the typed row is
        flagged `bodies_omitted: backlog`; the bytes held, or None when even the typed row did not fit)."""
        body_size = body_bytes(body_row) if isinstance(body_row, dict) else 0
        with self._lock:
            room = self.max_bytes - self.held
            shed = body_size > 0 and ROW_BYTES + body_size > room
            if shed:
                body_row, body_size = None, 0
            if ROW_BYTES > room:
                return body_row, None
            self.held += ROW_BYTES + body_size
        if shed:
            self._drop_bodies(log_row)
        elif body_size and self._shedding:
            self._shedding = False
            log.warning("record queue back under its byte budget: bodies are kept again "
                        "(%d records kept without them so far)", self.bodies_dropped)
        return body_row, ROW_BYTES + body_size

    def release(self, size: int) -> None:
        """Give back the bytes of records written (or given up)."""
        with self._lock:
            self.held -= size

    def _drop_bodies(self, log_row: dict) -> None:
        log_row["bodies_omitted"] = "backlog"
        self.bodies_dropped += 1
        metrics.RECORDS_DROPPED.labels("bodies", "memory_full").inc()
        if not self._shedding:  # once per episode: an outage sheds thousands
            self._shedding = True
            log.error("record queue over its byte budget (%d of %d bytes held): dropping bodies, "
                      "keeping typed rows (first: %s)", self.held, self.max_bytes, log_row["id"])
