"""Per-session totals of the proxy's record (calls, times, models), kept in memory and brought up to
date from the newest rows only: a grouped query over a million rows took seconds on SQLite, and
under gevent a query holds every stream of the worker."""
import threading
import time
from dataclasses import dataclass, field

import peewee

from models.request_log import RequestLog

MESSAGES_ENDPOINT = "/v1/messages"  # model calls; count_tokens and the rest are not API messages
SETTLED_MS = 3_600_000  # rows older than an hour no longer change (in-flight rows are finished by then)
# Summed again from the start this often: rows written late with an old timestamp (a recorder that
# caught up after a database outage) would otherwise stay out of the settled totals.
REBUILD_S = 3600
WINDOW_MS = 86_400_000  # a rebuild reads a day at a time, yielding in between
FAR_FUTURE_MS = 253_402_300_800_000  # year 10000: after any timestamp a row can hold


@dataclass
class SessionTotals:
    """What the record says of one session's API calls."""

    calls: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    models: dict = field(default_factory=dict)  # every model named, in order seen
    main_calls: dict = field(default_factory=dict)  # requested model -> calls without an agent id

    def add(self, other: "SessionTotals") -> "SessionTotals":
        """These totals plus `other`'s."""
        self.calls += other.calls
        self.first_ms = _either(min, self.first_ms, other.first_ms)
        self.last_ms = _either(max, self.last_ms, other.last_ms)
        self.models.update(other.models)
        for name, calls in other.main_calls.items():
            self.main_calls[name] = self.main_calls.get(name, 0) + calls
        return self

    @property
    def main_model(self) -> str | None:
        """The model of most main-thread calls."""
        return max(self.main_calls.items(), key=lambda item: (item[1], item[0]))[0] if self.main_calls else None


def _either(pick, a, b):
    return b if a is None else a if b is None else pick(a, b)


def session_calls():
    """Recorded model calls that carry a session id."""
    return RequestLog.select().where(RequestLog.session_id.is_null(False), RequestLog.endpoint == MESSAGES_ENDPOINT)


def grouped(*conditions) -> dict[str, SessionTotals]:
    """Totals per session of the calls matching `conditions`, from one grouped query."""
    last = peewee.fn.MAX(peewee.fn.COALESCE(RequestLog.completed_at_ms, RequestLog.timestamp_ms))
    main = peewee.fn.SUM(peewee.Case(None, [(RequestLog.agent_id.is_null(), 1)], 0))
    query = (session_calls().select(RequestLog.session_id, RequestLog.original_model, RequestLog.routed_model,
                                    peewee.fn.COUNT(peewee.SQL("*")), peewee.fn.MIN(RequestLog.timestamp_ms), last, main)
             .group_by(RequestLog.session_id, RequestLog.original_model, RequestLog.routed_model))
    for condition in conditions:
        query = query.where(condition)
    totals: dict[str, SessionTotals] = {}
    for session_id, original, routed, calls, first_ms, last_ms, main_calls in query.tuples():
        names = dict.fromkeys(name for name in (original, routed) if name)
        requested = original or routed
        part = SessionTotals(calls, first_ms, last_ms, names, {requested: int(main_calls or 0)} if requested else {})
        totals[session_id] = totals[session_id].add(part) if session_id in totals else part
    return totals


class RecordedTotals:
    """Totals of every recorded session: settled rows summed once, the last hour's read on each call."""

    def __init__(self):
        self._settled: dict[str, SessionTotals] = {}
        self._boundary: int | None = None  # rows before it are in _settled
        self._oldest: int | None = None  # the oldest row when _settled was built: it moves when rows are deleted
        self._built_at = 0.0
        self._lock = threading.RLock()

    def sessions(self) -> dict[str, SessionTotals]:
        """Totals per session id, up to date."""
        with self._lock:
            oldest = RequestLog.select(peewee.fn.MIN(RequestLog.timestamp_ms)).scalar()
            boundary = int(time.time() * 1000) - SETTLED_MS
            if self._boundary is None or oldest != self._oldest or time.monotonic() - self._built_at > REBUILD_S:
                self._settled, self._boundary, self._oldest = {}, oldest, oldest  # (re)build from the start
                self._built_at = time.monotonic()
            if oldest is None:
                return {}
            while self._boundary < boundary:  # settle what aged past the boundary, a window at a time
                end = min(self._boundary + WINDOW_MS, boundary)
                _merge(self._settled, grouped(RequestLog.timestamp_ms >= self._boundary, RequestLog.timestamp_ms < end))
                self._boundary = end
                time.sleep(0)
            # Bounded on both sides: with ANALYZE's statistics, SQLite takes a one-sided range for
            # as wide as `session_id IS NOT NULL` and reads every row through the session_id index.
            recent = grouped(RequestLog.timestamp_ms >= self._boundary, RequestLog.timestamp_ms < FAR_FUTURE_MS)
            return _merge(dict(self._settled), recent, copy=True)


def _merge(into: dict[str, SessionTotals], parts: dict[str, SessionTotals], copy: bool = False
           ) -> dict[str, SessionTotals]:
    """`into` plus `parts`; with `copy`, totals already in `into` are copied before they change."""
    for session_id, part in parts.items():
        if session_id not in into:
            into[session_id] = part
        elif copy:
            into[session_id] = SessionTotals().add(into[session_id]).add(part)
        else:
            into[session_id].add(part)
    return into
