"""Cost sums of settled time, kept in memory per kind of breakdown: a week by session re-reads only
the hours that can still change (SQLite sorted 78,000 rows per call for it, 100+ ms).

A breakdown's range is cut at whole UTC hours: the whole days and hours older than SETTLED_MS
come from memory (each read once, a day in one query), the edges before the first and after the
last whole hour are summed on each call. An hour, and the day holding it, is read again when the
hour's fingerprint changed: its count of records, of those with a response time, and their sums
of input and output tokens, all read from the covering index in one pass over the range. That
catches rows written late with old timestamps (a recorder that caught up after a database
outage), a stream longer than an hour finishing its in-flight row, and rows removed (retention,
DELETE /api/requests).
"""
import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable

import peewee

from models.costs import GroupSums
from models.queries import fixed_bucket_index
from models.recorded_totals import SETTLED_MS
from models.request_log import RequestLog

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAX_SHAPES = 32  # kinds of breakdown kept (by, filters); the least recently used goes first


class SettledSums:
    """GroupSums per kind of breakdown and settled day or hour, each checked against its hours' fingerprints."""

    def __init__(self):
        self._shapes: OrderedDict = OrderedDict()  # shape -> {(start ms, end ms): GroupSums}
        self._fingerprints: dict[int, tuple] = {}  # hour start ms -> its fingerprint when its sums were read
        self._lock = threading.RLock()

    def sums(self, shape: Hashable, sums_of: Callable[[int, int], GroupSums], start_ms: int, end_ms: int
             ) -> GroupSums:
        """The sums over [start_ms, end_ms) of the breakdown `shape`; `sums_of(a, b)` reads [a, b)."""
        oldest = RequestLog.select(peewee.fn.MIN(RequestLog.timestamp_ms)).scalar()
        # From the oldest record's hour on: a range from year 1 is not 17 million hours to check.
        first = -(-max(start_ms, (oldest or 0) // HOUR_MS * HOUR_MS) // HOUR_MS) * HOUR_MS
        last = min(end_ms, int(time.time() * 1000) - SETTLED_MS) // HOUR_MS * HOUR_MS
        if oldest is None or last <= first:
            return sums_of(start_ms, end_ms)
        with self._lock:
            self._forget_changed_hours(first, last)
            spans = self._shapes.pop(shape, {})
            self._shapes[shape] = spans  # most recently used last
            while len(self._shapes) > MAX_SHAPES:
                self._shapes.popitem(last=False)
            total = GroupSums()
            for span in _spans(first, last):
                if span not in spans and not self._records_in(*span):
                    spans[span] = GroupSums()  # no record in it: nothing to read
                elif span not in spans:
                    spans[span] = sums_of(*span)
                    time.sleep(0)  # gevent's under a worker: the streams run between spans
                total.add(spans[span])
        if start_ms < first:
            total.add(sums_of(start_ms, first))
        if last < end_ms:
            total.add(sums_of(last, end_ms))
        return total

    def _records_in(self, start_ms: int, end_ms: int) -> int:
        return sum(self._fingerprints[hour][0] for hour in range(start_ms, end_ms, HOUR_MS))

    def _forget_changed_hours(self, first: int, last: int) -> None:
        # One pass over the range when nothing changed; a pass per hour only when something did.
        known = [self._fingerprints.get(hour) for hour in range(first, last, HOUR_MS)]
        if None not in known and _fingerprint(first, last) == _sum_of(known):
            return
        fingerprints = _fingerprints_per_hour(first, last)
        for hour in range(first, last, HOUR_MS):
            fingerprint = fingerprints.get(hour, _EMPTY)
            if self._fingerprints.get(hour) != fingerprint:
                day = hour // DAY_MS * DAY_MS
                for spans in self._shapes.values():
                    spans.pop((hour, hour + HOUR_MS), None)
                    spans.pop((day, day + DAY_MS), None)
                self._fingerprints[hour] = fingerprint


def _spans(first: int, last: int):
    # [first, last) as whole UTC days where they fit, hours elsewhere.
    start = first
    while start < last:
        length = DAY_MS if start % DAY_MS == 0 and start + DAY_MS <= last else HOUR_MS
        yield start, start + length
        start += length


# What changes when a row is added, removed or finished (a finished row has its response time and usage).
_FINGERPRINT = (peewee.fn.COUNT(peewee.SQL("*")), peewee.fn.COUNT(RequestLog.response_time_ms),
                peewee.fn.SUM(RequestLog.input_tokens), peewee.fn.SUM(RequestLog.output_tokens))
_EMPTY = (0,) * len(_FINGERPRINT)


def _in_range(query, start_ms: int, end_ms: int):
    return query.where(RequestLog.timestamp_ms >= start_ms, RequestLog.timestamp_ms < end_ms)


def _ints(values) -> tuple:
    return tuple(int(value or 0) for value in values)  # Postgres sums are Decimal; an empty sum None


def _sum_of(fingerprints: list[tuple]) -> tuple:
    return tuple(sum(column) for column in zip(*fingerprints))


def _fingerprint(start_ms: int, end_ms: int) -> tuple:
    return _ints(_in_range(RequestLog.select(*_FINGERPRINT), start_ms, end_ms).tuples()[0])


def _fingerprints_per_hour(start_ms: int, end_ms: int) -> dict[int, tuple]:
    # Grouped by the alias: Postgres does not see two parameterised copies of an expression as one.
    hour = fixed_bucket_index(start_ms, HOUR_MS).alias("c_hour")
    query = _in_range(RequestLog.select(hour, *_FINGERPRINT), start_ms, end_ms).group_by(peewee.SQL('"c_hour"'))
    return {start_ms + int(row[0]) * HOUR_MS: _ints(row[1:]) for row in query.tuples()}
