"""Records the database has not taken yet: in the spool on local disk, or in memory when there is
no spool or it is full. Replayed oldest first, spool before memory; a replayed in-flight row
never overwrites a finished one (see models.request_log), so the order between the two does not matter."""
import time
from collections import deque
from collections.abc import Callable

from proxy.recording.spool import Spool, SpoolFull


class Backlog:
    """Keeps what could not be written; hands it back batch by batch for replay."""

    def __init__(self, spool: Spool | None, run: Callable):
        self.spool = spool
        self.run = run  # runs a spool call where file I/O may block (the writer's native thread)
        self._memory: deque = deque()  # (records, bytes held of the budget, when kept)

    @property
    def pending(self) -> bool:
        """Whether anything waits to be written."""
        return bool(self._memory) or (self.spool is not None and self.spool.pending)

    @property
    def records_in_memory(self) -> int:
        """Records kept in memory (no spool, or the spool full)."""
        return sum(len(records) for records, _, _ in self._memory)

    @property
    def spool_bytes(self) -> int:
        """Bytes waiting in the spool."""
        return self.spool.bytes if self.spool is not None else 0

    def oldest_seconds(self) -> float:
        """How long the oldest record kept here has waited (0 when none)."""
        times = [self._memory[0][2]] if self._memory else []
        if self.spool is not None and self.spool.oldest_ms is not None:
            times.append(self.spool.oldest_ms / 1000)
        return max(0.0, time.time() - min(times)) if times else 0.0

    def keep(self, records: list, size: int) -> tuple[int, Exception | None]:
        """Keep `records` (holding `size` bytes of the budget): in the spool if it takes them, else in
        memory. Returns the bytes still held in memory and why the spool refused them."""
        if self.spool is not None:
            logs = [log_row for log_row, _ in records]
            bodies = [body_row for _, body_row in records if body_row is not None]
            try:
                self.run(self.spool.append, logs, bodies, int(time.time() * 1000))
                return 0, None
            except (SpoolFull, OSError, TypeError, ValueError) as exc:  # ValueError, TypeError: not JSON
                refused = exc
        else:
            refused = None
        self._memory.append((records, size, time.time()))
        return size, refused

    def next_batch(self, max_bytes: int) -> tuple[list, tuple] | None:
        """The oldest kept records, and the token to hand to `written` once they are; None when none."""
        if self.spool is not None and self.spool.pending:
            found = self.run(self.spool.read, max_bytes)
            if found is not None:
                logs, bodies, end = found
                by_id = {body["request"]: body for body in bodies}
                return [(log_row, by_id.get(log_row["id"])) for log_row in logs], ("spool", end)
        if self._memory:
            return self._memory[0][0], ("memory", self._memory[0][1])
        return None

    def written(self, token: tuple) -> int:
        """Forget a batch `next_batch` gave; returns the budget bytes it held in memory."""
        kind, value = token
        if kind == "spool":
            self.run(self.spool.advance, value)
            return 0
        self._memory.popleft()
        return value
