"""The in-flight rows: written only for requests still running a moment after they began, and
always ended, even when the finished record itself had to be dropped (memory and spool full)."""
import time

MAX_ABANDONED = 100_000  # ids remembered for ending (a few dozen bytes each)


class InFlightRows:
    """Owned by the recorder's thread, but for `abandon`, which any request may call."""

    def __init__(self, after: float):
        self.after = after
        self._waiting: dict[str, tuple[float, dict]] = {}  # id -> (when to write it, in-flight row)
        self._written: set[str] = set()  # in-flight row handed to be written, no finished record yet
        self._abandoned: dict[str, str] = {}  # id -> outcome of a finished record that was dropped
        self._skip: dict[str, None] = {}  # dropped before its in-flight row reached the writer
        self._to_end: dict[str, str] = {}  # id -> outcome, for rows written in flight

    def started(self, log_row: dict) -> None:
        """A request began: its row waits `after` seconds before it is due."""
        if self._skip.pop(log_row["id"], 0) is None:
            return
        self._waiting[log_row["id"]] = (time.monotonic() + self.after, log_row)

    def finished(self, request_id: str) -> None:
        """Its finished record is being written: the in-flight row is no longer needed."""
        self._waiting.pop(request_id, None)
        self._written.discard(request_id)

    def next_due(self) -> float:
        """When the next row falls due (monotonic), or infinity."""
        return min((due for due, _ in self._waiting.values()), default=float("inf"))

    def due(self) -> list[dict]:
        """The rows of requests still running `after` seconds after they began."""
        now = time.monotonic()
        keys = [key for key, (when, _) in self._waiting.items() if when <= now]
        self._written.update(keys)
        return [self._waiting.pop(key)[1] for key in keys]

    def abandon(self, log_row: dict) -> None:
        """The finished record of this request was dropped: its in-flight row must still end."""
        if len(self._abandoned) < MAX_ABANDONED:
            self._abandoned[log_row["id"]] = log_row.get("outcome") or "interrupted"

    def settle(self) -> None:
        """Sort the abandoned requests: never written in flight (nothing to do) or written (to end)."""
        while self._abandoned:
            request_id, outcome = self._abandoned.popitem()
            if self._waiting.pop(request_id, None) is not None:
                continue
            if request_id in self._written:
                self._written.discard(request_id)
                self._to_end[request_id] = outcome
            elif len(self._skip) < MAX_ABANDONED:
                self._skip[request_id] = None

    def end_statements(self) -> list[tuple[str, list]]:
        """SQL (`?` markers) ending the in-flight rows whose finished record was dropped: its outcome,
        flagged as kept without bodies."""
        return [('UPDATE "request_log" SET "outcome" = ?, "bodies_omitted" = \'backlog\' '
                 'WHERE "id" = ? AND "outcome" = \'in_flight\'', [outcome, request_id])
                for request_id, outcome in self._to_end.items()]

    def ended(self, count: int) -> None:
        """The first `count` rows of `end_statements` are written."""
        for request_id in list(self._to_end)[:count]:
            del self._to_end[request_id]
