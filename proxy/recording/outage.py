"""What the recorder says about a database that fails it: one line when an outage starts, one when
it ends, one a minute in between; drops the same way. Never a traceback per attempt."""
import logging
import time
from collections import Counter

from proxy.runtime import metrics

log = logging.getLogger("proxy.recording")

SUMMARY_EVERY = 60.0


class OutageLog:
    """The state of recording (ok, or failing since when) and its log lines."""

    def __init__(self, every: float = SUMMARY_EVERY):
        self.every = every
        self.since: float | None = None  # monotonic start of the current outage
        self.attempts = 0  # failed attempts in the current outage
        self.dropped: Counter = Counter()  # reason -> records dropped since the process started
        self._last_error = ""
        self._next_summary = 0.0
        self._drops_unlogged: Counter = Counter()
        self._last_drop = float("-inf")
        self._next_spool_line = 0.0
        self._next_drop_line = 0.0

    @property
    def dropped_lately(self) -> bool:
        """Whether a record was dropped in the last `every` seconds."""
        return time.monotonic() - self._last_drop < self.every

    @property
    def failing(self) -> bool:
        """Whether the database is failing the recorder now."""
        return self.since is not None

    def failed(self, why: str, waiting: str) -> None:
        """A write attempt failed because of the database; `waiting` says where the records went."""
        metrics.RECORD_WRITE_FAILURES.inc()
        self.attempts += 1
        self._last_error = why
        now = time.monotonic()
        if self.since is None:
            self.since, self._next_summary = now, now + self.every
            log.error("recording: the database refuses writes (%s); records wait %s and are retried", why, waiting)

    def recovered(self, written: int) -> None:
        """The backlog is written: the outage is over."""
        if self.since is not None:
            log.warning("recording: the database takes writes again after %.1f s (%d failed attempts); "
                        "%d waiting records written", time.monotonic() - self.since, self.attempts, written)
        self.since, self.attempts = None, 0

    def drop(self, reason: str, request_id: str) -> None:
        """Count a record given up on; logged at once for the first, then once a minute."""
        self.dropped[reason] += 1
        metrics.RECORDS_DROPPED.labels("record", reason).inc()
        now = self._last_drop = time.monotonic()
        if now >= self._next_drop_line:
            self._next_drop_line = now + self.every
            log.error("recording: dropped record %s (%s); memory and spool are both full", request_id, reason)
        else:
            self._drops_unlogged[reason] += 1

    def spool_refused(self, why: str, count: int) -> None:
        """The spool could not take records (full, or a disk error): they wait in memory. Logged once a minute."""
        now = time.monotonic()
        if now >= self._next_spool_line:
            self._next_spool_line = now + self.every
            log.warning("recording: the spool refused %d records (%s); they wait in memory", count, why)

    def tick(self, waiting_records: int, spool_bytes: int, oldest_seconds: float) -> None:
        """The per-minute summary lines, when due."""
        now = time.monotonic()
        if self.since is not None and now >= self._next_summary:
            self._next_summary = now + self.every
            log.warning("recording: still failing after %.0f s (%d attempts); %d records in memory, %d spool "
                        "bytes, oldest unwritten %.0f s; last error: %s", now - self.since, self.attempts,
                        waiting_records, spool_bytes, oldest_seconds, self._last_error)
        if self._drops_unlogged and now >= self._next_drop_line:
            self._next_drop_line = now + self.every
            log.error("recording: dropped %d more records in the last minute (%s)", sum(self._drops_unlogged.values()),
                      ", ".join(f"{reason}: {count}" for reason, count in sorted(self._drops_unlogged.items())))
            self._drops_unlogged.clear()
