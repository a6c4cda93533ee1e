"""Cache breaks of a range, each found once: the turns of settled hours are fed to a BreakDetector
as they settle, and a call feeds only the last hours, to a copy of it (reading a week's 78,000
turns again on every call took most of the Cache view's second).

The detector runs from the range's first hour (the anchor) on; a break whose previous turn came
before the range's start is left out, which is exactly what a detector fed from the start finds:
a thread's previous turn on its model and its previous turn at all are then both in the range.
Changed hours are seen by models/settled_spans.py, whose fingerprints of the hours fed are
checked on every call: when one changed (a late row, a finished stream, a delete) the hours are
fed again from the anchor.
"""
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

from models.cache_economics import BreakDetector
from models.cache_report import MAX_TURNS, cache_breaks, prefix_hashes, turn_of, turns_query
from models.pricing import Pricing
from models.queries import YIELD_EVERY, read_rows
from models.recorded_totals import SETTLED_MS
from models.request_log import RequestLog
from models.settled_spans import DAY_MS, HOUR_MS, SettledSpans, fingerprint

MAX_SHAPES = 8  # filters kept (model, organization); the least recently used goes first
# A range of more records is read as before, its newest MAX_TURNS turns only: feeding it whole
# would hold the worker for seconds.
MAX_RECORDS = 4 * MAX_TURNS


@dataclass
class _Fed:
    anchor_ms: int       # turns from here on were fed...
    until_ms: int        # ...up to here, a settled hour
    seen: dict           # the fingerprints of the hours fed, read before them (SettledSpans.fingerprints)
    detector: BreakDetector
    breaks: list         # (session id, CacheBreak), oldest first


class SettledBreaks:
    """The cache breaks of settled hours per filter, found once."""

    def __init__(self, pricing: Pricing, spans: SettledSpans):
        self._pricing, self._spans = pricing, spans
        self._fed: OrderedDict = OrderedDict()  # shape -> _Fed
        self._lock = threading.RLock()

    def breaks(self, shape: Hashable, base_of: Callable, start_ms: int, end_ms: int, checked: set | None = None
               ) -> tuple[list, bool]:
        """cache_breaks of [start_ms, end_ms) of the requests `base_of(a, b)` selects (`shape` names
        its filters): (session id, break) newest first, and whether the turns read were cut;
        `checked` as for SettledSpans.verify."""
        anchor = start_ms // HOUR_MS * HOUR_MS
        settled = min(end_ms, int(time.time() * 1000) - SETTLED_MS) // HOUR_MS * HOUR_MS
        if settled <= anchor:
            return cache_breaks(base_of(start_ms, end_ms), self._pricing)
        with self._lock:
            fed = self._up_to_date(shape, base_of, anchor, settled, checked)
            if fed is None:
                return cache_breaks(base_of(start_ms, end_ms), self._pricing)
            breaks = list(fed.breaks)
            if fed.until_ms < end_ms:  # the hours still changing, fed to a copy
                breaks += _feed(fed.detector.copy(), base_of(fed.until_ms, end_ms))
        wanted = [pair for pair in breaks if pair[1].previous.at_ms >= start_ms and pair[1].turn.at_ms < end_ms]
        return sorted(wanted, key=lambda pair: -pair[1].turn.at_ms), False

    def _up_to_date(self, shape: Hashable, base_of: Callable, anchor: int, settled: int, checked: set | None
                    ) -> _Fed | None:
        self._spans.verify(anchor, settled, checked)
        fed = self._fed.pop(shape, None)
        if fed is not None and (not fed.anchor_ms <= anchor < fed.until_ms
                                or not self._spans.unchanged(fed.seen, anchor, min(fed.until_ms, settled))):
            fed = None  # a range reaching further back or starting after the hours fed, or a fed hour changed
        if fed is not None and anchor - fed.anchor_ms > DAY_MS:
            _move_anchor(fed, anchor)  # the range moved on: forget what it left behind
        if fed is None:
            if fingerprint(anchor, settled)[0] > MAX_RECORDS:
                return None
            fed = _Fed(anchor, anchor, {}, BreakDetector(self._pricing, prefix_hashes), [])
        if fed.until_ms < settled:
            # The hours' fingerprints are read before the turns: a row written in between shows as
            # a change at the next call.
            fed.seen.update(self._spans.fingerprints(fed.until_ms, settled))
            fed.breaks += _feed(fed.detector, base_of(fed.until_ms, settled))
            fed.until_ms = settled
        self._fed[shape] = fed  # most recently used last
        while len(self._fed) > MAX_SHAPES:
            self._fed.popitem(last=False)
        return fed


def _move_anchor(fed: _Fed, anchor: int) -> None:
    fed.anchor_ms = anchor
    fed.seen = {hour: seen for hour, seen in fed.seen.items() if hour >= anchor}
    fed.breaks = [pair for pair in fed.breaks if pair[1].previous.at_ms >= anchor]
    fed.detector.forget_before(anchor)


def _feed(detector: BreakDetector, base) -> list:
    # `base`'s turns in time order through `detector`: the breaks found, with their session.
    found = []
    rows = read_rows(turns_query(base).order_by(RequestLog.timestamp_ms, RequestLog.id))
    for count, row in enumerate(rows, 1):
        session, turn = turn_of(row)
        found_break = detector.feed(session, turn)
        if found_break is not None:
            found.append((session, found_break))
        if count % YIELD_EVERY == 0:
            time.sleep(0)  # gevent's under a worker: the streams run between slices
    return found
