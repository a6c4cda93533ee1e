"""What used each unified window, worked out once: every organization's reports of settled hours
are fed to its Attributor as they settle, and a call feeds only the last hours, to copies
(reading and attributing a week's 77,000 reports on every call took the Rate-limits view a second).

A window is attributed over all its reports: the range only picks the windows shown, those with
a report in it. So the reports are fed from an anchor a window's length (and RECENT_MS) before
the range's start, and the first window shown is whole whatever the range. A report whose
headers came after the last settled hour waits for the hours after it, so that the reports are
fed in the order their headers came. Changed hours are seen by models/settled_spans.py, whose
fingerprints of the hours fed are checked on every call: when one changed, they are fed again.
"""
import threading
import time
from dataclasses import dataclass, field

from models.quota import RECENT_MS, WINDOWS, Attributor, Report, Window
from models.quota_report import reports_by_organization
from models.queries import YIELD_EVERY, filtered_requests
from models.recorded_totals import SETTLED_MS
from models.settled_spans import DAY_MS, HOUR_MS, SettledSpans, fingerprint

# A range of more records is read as before (its newest reports per organization, cut): feeding
# it whole would hold the worker for seconds.
MAX_RECORDS = 400_000


@dataclass
class _Fed:
    anchor_ms: int       # reports started from here on were fed...
    until_ms: int        # ...up to here, a settled hour
    seen: dict           # the fingerprints of the hours fed, read before them (SettledSpans.fingerprints)
    attributors: dict = field(default_factory=dict)  # organization -> Attributor
    waiting: dict = field(default_factory=dict)      # organization -> reports started before until_ms, headers after
    shown: dict = field(default_factory=dict)        # id of a final window -> (window, key, what was made of it)


class SettledWindows:
    """Each window kind's attribution of settled hours, for every organization; and what was shown
    of its final windows."""

    def __init__(self, spans: SettledSpans):
        self._spans = spans
        self._fed: dict[str, _Fed] = {}
        self._lock = threading.RLock()

    def windows(self, window: str, start_ms: int, end_ms: int) -> dict[str, tuple[list[Window], set]] | None:
        """Per organization, its `window` windows with a report in [start_ms, end_ms), oldest first,
        and the ids of those that may still change; None for a range of too many records."""
        anchor = (start_ms - WINDOWS[window] - RECENT_MS) // HOUR_MS * HOUR_MS
        settled = min(end_ms, int(time.time() * 1000) - SETTLED_MS) // HOUR_MS * HOUR_MS
        with self._lock:
            fed = self._up_to_date(window, anchor, settled) if settled > anchor else _Fed(anchor, anchor, {})
            if fed is None:
                return None
            attributors = {org: attributor.copy() for org, attributor in fed.attributors.items()}
            waiting = {org: list(reports) for org, reports in fed.waiting.items()}
        _feed(attributors, window, waiting, _read(fed.until_ms, end_ms, window), None)
        return {org: ([shown for shown in attributor.windows if shown.has_report_between(start_ms, end_ms)],
                      attributor.changing()) for org, attributor in attributors.items()}

    def shown(self, kind: str, window: Window, make, changing: set, key):
        """`make(window)`, kept while `key` stays the same for a final window (one not in `changing`)
        of the `kind` windows kept; the last `key`'s only."""
        if id(window) in changing:
            return make(window)
        with self._lock:
            fed = self._fed.get(kind)
            kept = fed.shown.get(id(window)) if fed is not None else None
            if kept is not None and kept[0] is window and kept[1] == key:
                return kept[2]
            made = make(window)
            if fed is not None and any(held is window for attributor in fed.attributors.values()
                                       for held in attributor.windows):
                fed.shown[id(window)] = (window, key, made)
            return made

    def _up_to_date(self, window: str, anchor: int, settled: int) -> _Fed | None:
        self._spans.verify(anchor, settled)
        fed = self._fed.pop(window, None)
        if fed is not None and settled < fed.until_ms:
            # A range ending before the hours fed: those after its end must not be in its windows.
            self._fed[window] = fed
            return _Fed(anchor, anchor, {}) if fingerprint(anchor, settled)[0] <= MAX_RECORDS else None
        if fed is not None and (not fed.anchor_ms <= anchor < fed.until_ms
                                or not self._spans.unchanged(fed.seen, anchor, fed.until_ms)):
            fed = None  # a range reaching further back or starting after the hours fed, or a fed hour changed
        if fed is not None and anchor - fed.anchor_ms > DAY_MS:
            _move_anchor(fed, anchor)  # the range moved on: forget the windows it left behind
        if fed is None:
            if fingerprint(anchor, settled)[0] > MAX_RECORDS:
                return None
            fed = _Fed(anchor, anchor, {})
        if fed.until_ms < settled:
            # The hours' fingerprints are read before the reports: a row written in between shows
            # as a change at the next call.
            fed.seen.update(self._spans.fingerprints(fed.until_ms, settled))
            _feed(fed.attributors, window, fed.waiting, _read(fed.until_ms, settled, window), settled)
            fed.until_ms = settled
        self._fed[window] = fed
        return fed


def _read(start_ms: int, end_ms: int, window: str) -> dict[str, list[Report]]:
    return reports_by_organization(filtered_requests(start_ms=start_ms, end_ms=end_ms), window) if start_ms < end_ms \
        else {}


def _feed(attributors: dict, window: str, waiting: dict, read: dict, until_ms: int | None) -> None:
    # Each organization's waiting and newly read reports, in the order their headers came, up to
    # `until_ms` (None: all); the later ones wait in `waiting`.
    for org in set(waiting) | set(read):
        reports = sorted(waiting.pop(org, []) + read.get(org, []), key=lambda r: (r.reported_ms, r.request_id))
        ready = reports if until_ms is None else [r for r in reports if r.reported_ms < until_ms]
        if len(ready) < len(reports):
            waiting[org] = reports[len(ready):]
        attributor = attributors.setdefault(org, Attributor(window))
        for count, report in enumerate(ready, 1):
            attributor.feed(report)
            if count % YIELD_EVERY == 0:
                time.sleep(0)  # gevent's under a worker: the streams run between slices


def _move_anchor(fed: _Fed, anchor: int) -> None:
    fed.anchor_ms = anchor
    fed.seen = {hour: seen for hour, seen in fed.seen.items() if hour >= anchor}
    for attributor in fed.attributors.values():
        attributor.forget_before(anchor)
    kept = {id(window) for attributor in fed.attributors.values() for window in attributor.windows}
    fed.shown = {window_id: made for window_id, made in fed.shown.items() if window_id in kept}
