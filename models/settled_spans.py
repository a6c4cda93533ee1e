"""What the record says of settled time, kept in memory per kind of question: a week's cost by
session re-reads only the hours that can still change (SQLite sorted 78,000 rows per call for
it, 100+ ms).

A range is cut at whole UTC hours: the whole days and hours older than SETTLED_MS are read once
each (a day in one query) and kept, the edges before the first and after the last whole hour are
left to the caller to read on each call. A kept hour, and the day holding it, is read again when
the hour's fingerprint changed: its count of records, of those with a response time, and their
sums of input and output tokens, all read from the covering index in one pass over the range.
That catches rows written late with old timestamps (a recorder that caught up after a database
outage), a stream longer than an hour finishing its in-flight row, and rows removed (retention,
DELETE /api/requests).
"""
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable

import peewee

from models.queries import fixed_bucket_index
from models.recorded_totals import SETTLED_MS
from models.request_log import RequestLog

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAX_SHAPES = 32  # kinds of breakdown kept (by, filters); the least recently used goes first


class SettledSpans:
    """Values per kind of question and settled day or hour, each checked against its hours' fingerprints."""

    def __init__(self):
        self._shapes: OrderedDict = OrderedDict()  # shape -> {(start ms, end ms): value}
        self._fingerprints: dict[int, tuple] = {}  # hour start ms -> its fingerprint when its values were read
        self._lock = threading.RLock()

    def kept(self, shape: Hashable, read: Callable[[int, int], Any], empty: Callable[[], Any], start_ms: int,
             end_ms: int, days: bool = True, checked: set | None = None) -> tuple[list, list]:
        """The settled whole days (with `days`) and hours of [start_ms, end_ms) as ((start, end), value),
        oldest first, and the ranges left to read, (start, end) each; `read(a, b)` reads a span once,
        `empty()` is the value of a span without records; `checked` as for verify."""
        with self._lock:
            oldest = _oldest()
            # From the oldest record's hour on: a range from year 1 is not 17 million hours to check.
            first = -(-max(start_ms, (oldest or 0) // HOUR_MS * HOUR_MS) // HOUR_MS) * HOUR_MS
            last = min(end_ms, int(time.time() * 1000) - SETTLED_MS) // HOUR_MS * HOUR_MS
            if oldest is None or last <= first:
                return [], [(start_ms, end_ms)]
            self.verify(start_ms // HOUR_MS * HOUR_MS, last, checked, oldest)
            values = self._shapes.pop(shape, {})
            self._shapes[shape] = values  # most recently used last
            while len(self._shapes) > MAX_SHAPES:
                self._shapes.popitem(last=False)
            kept = []
            for span in _spans(first, last, DAY_MS if days else HOUR_MS):
                if span not in values and not self._records_in(*span):
                    values[span] = empty()  # no record in it: nothing to read
                elif span not in values:
                    values[span] = read(*span)
                    time.sleep(0)  # gevent's under a worker: the streams run between spans
                kept.append((span, values[span]))
        left = [(start_ms, first)] if start_ms < first else []
        return kept, left + ([(last, end_ms)] if last < end_ms else [])

    def _records_in(self, start_ms: int, end_ms: int) -> int:
        return sum(self._fingerprints[hour][0] for hour in range(start_ms, end_ms, HOUR_MS))

    def verify(self, first: int, last: int, checked: set | None = None, oldest: int | None = None) -> None:
        """Bring the fingerprints of the whole hours [first, last) up to date, forgetting what was
        kept of an hour that changed (and its day). A range already in `checked` is not checked
        again (one call's questions share a check); it is added to it. `oldest`: the oldest
        record's timestamp, if just read."""
        with self._lock:
            if checked is not None and (first, last) in checked:
                return
            oldest = _oldest() if oldest is None else oldest
            start = max(first, (oldest or last) // HOUR_MS * HOUR_MS)  # no hour before the oldest record...
            for hour in [hour for hour, seen in self._fingerprints.items()
                         if first <= hour < start and seen != NO_RECORDS]:
                self._changed_hour(hour, NO_RECORDS)  # ...so those seen with records lost them
            if start < last:
                self._forget_changed_hours(start, last)
            if checked is not None:
                checked.add((first, last))

    def unchanged(self, seen: dict[int, tuple], first: int, last: int) -> bool:
        """Whether the hours of [first, last) have the fingerprints `seen` (from `fingerprints`) after verify."""
        return self.fingerprints(first, last) == {hour: kept for hour, kept in seen.items() if first <= hour < last}

    def fingerprints(self, first: int, last: int) -> dict[int, tuple]:
        """The fingerprint of each whole hour of [first, last) as verify last saw it (hours without
        records left out)."""
        with self._lock:
            return {hour: seen for hour, seen in self._fingerprints.items()
                    if first <= hour < last and seen != NO_RECORDS}

    def _forget_changed_hours(self, first: int, last: int) -> None:
        # One pass over the range when nothing changed; a pass per hour only when something did.
        known = [self._fingerprints.get(hour) for hour in range(first, last, HOUR_MS)]
        if None not in known and fingerprint(first, last) == _sum_of(known):
            return
        fingerprints = _fingerprints_per_hour(first, last)
        for hour in range(first, last, HOUR_MS):
            now_seen = fingerprints.get(hour, NO_RECORDS)
            if self._fingerprints.get(hour) != now_seen:
                self._changed_hour(hour, now_seen)

    def _changed_hour(self, hour: int, now_seen: tuple) -> None:
        day = hour // DAY_MS * DAY_MS
        for spans in self._shapes.values():
            spans.pop((hour, hour + HOUR_MS), None)
            spans.pop((day, day + DAY_MS), None)
        self._fingerprints[hour] = now_seen

def _spans(first: int, last: int, longest: int):
    # [first, last) as whole UTC days where they fit (`longest` a day), hours elsewhere.
    start = first
    while start < last:
        length = longest if start % longest == 0 and start + longest <= last else HOUR_MS
        yield start, start + length
        start += length


# What changes when a row is added, removed or finished (a finished row has its response time and usage).
_FINGERPRINT = (peewee.fn.COUNT(peewee.SQL("*")), peewee.fn.COUNT(RequestLog.response_time_ms),
                peewee.fn.SUM(RequestLog.input_tokens), peewee.fn.SUM(RequestLog.output_tokens))
NO_RECORDS = (0,) * len(_FINGERPRINT)


def _in_range(query, start_ms: int, end_ms: int):
    return query.where(RequestLog.timestamp_ms >= start_ms, RequestLog.timestamp_ms < end_ms)


def _ints(values) -> tuple:
    return tuple(int(value or 0) for value in values)  # Postgres sums are Decimal; an empty sum None


def _sum_of(fingerprints: list[tuple]) -> tuple:
    return tuple(sum(column) for column in zip(*fingerprints))


def _oldest() -> int | None:
    return RequestLog.select(peewee.fn.MIN(RequestLog.timestamp_ms)).scalar()


def fingerprint(start_ms: int, end_ms: int) -> tuple:
    """What changes in [start_ms, end_ms) when a record is added, removed or finished."""
    return _ints(_in_range(RequestLog.select(*_FINGERPRINT), start_ms, end_ms).tuples()[0])


def _fingerprints_per_hour(start_ms: int, end_ms: int) -> dict[int, tuple]:
    # Grouped by the alias: Postgres does not see two parameterised copies of an expression as one.
    hour = fixed_bucket_index(start_ms, HOUR_MS).alias("c_hour")
    query = _in_range(RequestLog.select(hour, *_FINGERPRINT), start_ms, end_ms).group_by(peewee.SQL('"c_hour"'))
    return {start_ms + int(row[0]) * HOUR_MS: _ints(row[1:]) for row in query.tuples()}
