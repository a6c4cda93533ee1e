"""RETENTION_DAYS: a background thread that prunes old records without holding up streams."""
import logging
import time

import models
from models.retention import prune_batch
from proxy.runtime.background import BackgroundLoop

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


class RetentionPruner(BackgroundLoop):
    """Every `interval` seconds, deletes records older than `days`, in small batches with pauses
    between them (under gevent each batch holds the worker for its duration)."""

    thread_name = "retention"

    def __init__(self, days: float, interval: float = 3600.0, batch_size: int = 500, pause: float = 0.05):
        super().__init__()
        self.days = days
        self.interval = interval
        self.batch_size = batch_size
        self.pause = pause
        self.pruned = 0

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
