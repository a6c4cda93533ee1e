"""RETENTION_DAYS and BODY_RETENTION_DAYS: a background thread that prunes old records, and older
bodies, without holding up streams."""
import logging
import time

import models
from models.retention import prune_batch, prune_bodies_batch
from proxy.runtime.background import BackgroundLoop

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


class RetentionPruner(BackgroundLoop):
    """Every `interval` seconds, deletes records older than `days` and the headers and bodies of
    records older than `body_days` (either None: kept), in small batches with pauses between them
    (under gevent each batch holds the worker for its duration)."""

    thread_name = "retention"

    def __init__(self, days: float | None, interval: float = 3600.0, batch_size: int = 500, pause: float = 0.05,
                 body_days: float | None = None):
        super().__init__()
        self.days = days
        self.body_days = body_days
        self.interval = interval
        self.batch_size = batch_size
        self.pause = pause
        self.pruned = 0
        self.bodies_pruned = 0

    def prune_now(self) -> int:
        """Delete every record past the retention period, then the bodies past theirs; returns how
        many records were deleted."""
        total = 0
        if self.days:
            cutoff = int(time.time() * 1000 - self.days * DAY_MS)
            while not self._stopping.is_set():
                deleted = prune_batch(cutoff, self.batch_size)
                total += deleted
                if deleted < self.batch_size:
                    break
                time.sleep(self.pause)  # cooperative under gevent: streams flow between batches
        self.pruned += total
        if self.body_days:
            self.bodies_pruned += self.prune_bodies_now()
        return total

    def prune_bodies_now(self) -> int:
        """Delete the headers and bodies of every record past the body retention period; returns how many."""
        cutoff, after, total = int(time.time() * 1000 - self.body_days * DAY_MS), -1, 0
        while not self._stopping.is_set():
            deleted, after = prune_bodies_batch(cutoff, self.batch_size, after)
            total += deleted
            if deleted == 0:
                break
            time.sleep(self.pause)
        return total

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                bodies_before = self.bodies_pruned
                deleted = self.prune_now()
                if deleted:
                    log.info("retention: deleted %d records older than %g days", deleted, self.days)
                if self.bodies_pruned > bodies_before:
                    log.info("retention: deleted the bodies of %d records older than %g days",
                             self.bodies_pruned - bodies_before, self.body_days)
            except Exception as exc:  # a database hiccup must not end pruning for good
                log.warning("retention: pruning failed (%s); trying again later", exc)
            finally:
                models.database.close()
            self._stopping.wait(self.interval)
