"""Crash recovery in seconds: a live process takes over the spool of one that died (its flock in
SPOOL_DIR free, even after a SIGKILL), writes it, then marks what it left in flight `interrupted`."""
import logging
import time
from collections.abc import Callable

from models.instances import interrupt_instance_statements
from proxy.recording.backlog import Backlog

log = logging.getLogger(__name__)

SCAN_EVERY = 3.0  # seconds between two looks for processes gone (and at once when a process starts)


class Takeover:
    """Called by the recorder's writer between batches; `execute` runs SQL on the writer's connection."""

    def __init__(self, backlog: Backlog, execute: Callable[[list], list[int]], reset: Callable[[], None]):
        self.backlog = backlog
        self._execute = execute
        self._reset = reset
        self.next_scan = 0.0
        self._dead: list[str] = []  # processes gone whose spool was adopted, rows not yet marked

    def run_if_due(self) -> None:
        """Adopt the spool of processes gone; mark the rows of those whose spool is written."""
        spool = self.backlog.spool
        if spool is None or time.monotonic() < self.next_scan:
            return
        self.next_scan = time.monotonic() + SCAN_EVERY
        try:
            adopted = self.backlog.run(spool.adopt_orphans)
        except OSError as exc:
            log.warning("recording: cannot read the spool folder %s (%s)", spool.folder, exc)
            return
        if adopted:
            log.info("recording: took over the spool of %d process(es) gone (%d bytes)", len(adopted), spool.bytes)
            self._dead.extend(adopted)
        for instance_id in [dead for dead in self._dead if spool.replayed(dead)]:
            try:
                marked = self._execute(interrupt_instance_statements(instance_id))[0]
            except Exception as exc:  # the database is failing: the next scan tries again
                self._reset()
                log.debug("cannot mark the rows of process %s yet: %s", instance_id, exc)
                continue
            self.backlog.run(spool.release, instance_id)
            self._dead.remove(instance_id)
            if marked:
                log.warning("marked %d request(s) interrupted: process %s left them in flight and is gone",
                            marked, instance_id)
