"""RETENTION_DAYS: a background thread that prunes old records without holding up streams."""
import logging
import threading
import time

import models
from models.retention import prune_batch

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


class RetentionPruner:
    """Every `interval` seconds, deletes records older than `days`, in small batches with pauses
    between them (under gevent each batch holds the worker for its duration)."""

    def __init__(self, days: float, interval: float = 3600.0, batch_size: int = 500, pause: float = 0.05):
        self.days = days
        self.interval = interval
        self.batch_size = batch_size
        self.pause = pause
        self.pruned = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start pruning in the background."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current batch."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join(timeout)
            self._thread = None

    def prune_now(self) -> int:
        """Delete every record past the retention period; returns how many."""
        cutoff = int(time.time() * 1000 - self.days * DAY_MS)
        total = 0
        while not self._stopping.is_set():
            deleted = prune_batch(cutoff, self.batch_size)
            total += deleted
            if deleted < self.batch_size:
                break
            time.sleep(self.pause)  # cooperative under gevent: streams flow between batches
        self.pruned += total
        return total

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                deleted = self.prune_now()
                if deleted:
                    log.info("retention: deleted %d records older than %g days", deleted, self.days)
            except Exception as exc:  # a database hiccup must not end pruning for good
                log.warning("retention: pruning failed (%s); trying again later", exc)
            finally:
                models.database.close()
            self._stopping.wait(self.interval)
