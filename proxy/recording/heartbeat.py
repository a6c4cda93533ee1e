"""This process's heartbeat: its rows carry its id, and its beats tell other processes it is alive."""
import logging
import time
import uuid
from collections.abc import Callable

from models.instances import HEARTBEAT_INTERVAL, beat_statements, forget_statements, interrupt_orphans_statements

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats for this process when due, marking what processes gone silent left in flight.

    Only the recorder's writer thread calls it, between batches, and its statements go through the
    writer's own connection (`execute`): a worker needs no connection of its own for it. A dyno that
    boots marks only the in-flight rows of processes gone silent, never another dyno's live ones.
    """

    def __init__(self, every: float = HEARTBEAT_INTERVAL, execute: Callable[[list], list[int]] | None = None,
                 reset_connection: Callable[[], None] = lambda: None):
        self.instance_id = uuid.uuid4().hex
        self.every = every
        self.next_beat = 0.0  # at once: before this process writes any in-flight row
        self._started_at_ms = int(time.time() * 1000)
        self._execute = execute
        self._reset_connection = reset_connection

    def beat_if_due(self) -> None:
        """Say this process is alive, and mark what processes gone silent left in flight."""
        if time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + self.every
        try:
            counts = self._execute(beat_statements(self.instance_id, self._started_at_ms)
                                   + interrupt_orphans_statements())
            marked = counts[1]
        except Exception as exc:  # a database that is down: the next beat tries again
            self._reset_connection()
            log.debug("heartbeat failed: %s", exc)
            return
        if marked:
            log.warning("marked %d request(s) interrupted: a process left them in flight and is gone", marked)

    def forget(self) -> None:
        """Unregister this process (it is stopping)."""
        try:
            self._execute(forget_statements(self.instance_id))
        except Exception as exc:  # its rows are then orphaned once it has been silent long enough
            log.debug("could not unregister instance %s: %s", self.instance_id, exc)
        finally:
            self._reset_connection()
