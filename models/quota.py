"""Who used a unified rate-limit window: each rise in utilisation charged to the response that reported it. Pure.

Utilisation is per organization and moves with every request of that organization from any
machine, so a rise is only *probably* the reporting request's own: it is marked uncertain when
the request overlapped another of the organization (concurrent), when no earlier report of the
window was seen (the first one, or a long gap), or when utilisation fell without a reset.
"""
import heapq
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import NamedTuple

WINDOWS = {"5h": 5 * 3600 * 1000, "7d": 7 * 24 * 3600 * 1000}
# A reset moving by less than this is the same window (Anthropic rounds the reset it reports).
RESET_JITTER_MS = 10 * 60 * 1000
# A report this long after the previous one of its window may hide usage the proxy never saw.
GAP_MS = 30 * 60 * 1000
# No request waits longer than this for its headers (the upstream read timeout is shorter).
RECENT_MS = 60 * 60 * 1000
BY = ("session", "agent", "model", "key", "project")


class Report(NamedTuple):
    """One response's utilisation of one window, with what the rise would be charged to."""

    request_id: str
    started_ms: int
    reported_ms: int       # when the headers arrived (request start + time to first byte)
    finished_ms: int
    utilization: float     # 0..1
    reset_ms: int
    session: str | None = None
    agent: str | None = None
    model: str | None = None
    key: str | None = None


class Attribution(NamedTuple):
    """A rise in utilisation charged to one request, and whether that is certain."""

    report: Report
    rise: float
    uncertain: tuple[str, ...] = ()


# A window keeps each attribution as a plain tuple (report's fields as a plain tuple, rise,
# uncertain): the cyclic garbage collector leaves tuples of plain values alone, where a week of
# kept objects added ~80 ms to every full collection of the worker (1M-row bench).
_STARTED, _REPORTED, _FINISHED = (Report._fields.index(name) for name in ("started_ms", "reported_ms", "finished_ms"))
_FIELD = {name: Report._fields.index(name) for name in BY if name != "project"}
_SESSION = _FIELD["session"]


@dataclass
class Window:
    """One window of one organization: its reset, its rises, and totals per session, model, ..."""

    reset_ms: int
    length_ms: int
    items: list = field(default_factory=list)  # (report fields, rise, uncertain), oldest first
    utilization: float = 0.0
    last_reported_ms: int = 0

    @property
    def start_ms(self) -> int:
        """When the window began (its reset less its length)."""
        return self.reset_ms - self.length_ms

    @property
    def attributions(self) -> list[Attribution]:
        """Its rises, oldest first."""
        return [Attribution(Report._make(report), rise, uncertain) for report, rise, uncertain in self.items]

    def totals(self, by: str, projects: dict | None = None) -> list[dict]:
        """Rises summed per `by` (one of BY), largest first, with the uncertain part apart; a
        session's project is read from `projects` (session id -> working directory)."""
        sums = defaultdict(lambda: {"rise": 0.0, "uncertain": 0.0, "requests": 0})
        projects = projects or {}
        index = _FIELD.get(by, _SESSION)
        for report, rise, uncertain in self.items:
            key = projects.get(report[index]) if by == "project" else report[index]
            entry = sums[key]
            entry["rise"] += rise
            entry["requests"] += 1
            if uncertain:
                entry["uncertain"] += rise
        return sorted(({by: name, **values} for name, values in sums.items()), key=lambda e: -e["rise"])

    def largest(self, count: int) -> list[Attribution]:
        """The `count` largest rises, largest first (the earlier of equal ones first)."""
        top = heapq.nsmallest(count, self.items, key=lambda item: -item[1])
        return [Attribution(Report._make(report), rise, uncertain) for report, rise, uncertain in top]

    def rise(self, uncertain_only: bool = False) -> float:
        """The sum of its rises (only those marked uncertain)."""
        return sum(rise for _, rise, uncertain in self.items if uncertain or not uncertain_only)

    def rise_since(self, at_ms: int) -> float:
        """What the reports whose headers came at or after `at_ms` added."""
        return sum(rise for report, rise, _ in self.items if report[_REPORTED] >= at_ms)

    def has_report_between(self, start_ms: int, end_ms: int) -> bool:
        """Whether a request started in [start_ms, end_ms) reported to it."""
        return any(start_ms <= report[_STARTED] < end_ms for report, _, _ in self.items)


def attribute(reports: list[Report], window: str) -> list[Window]:
    """The windows of one organization's reports for `window` ("5h" or "7d"), oldest first."""
    attributor = Attributor(window)
    for report in sorted(reports, key=lambda r: (r.reported_ms, r.request_id)):
        attributor.feed(report)
    return attributor.windows


class Attributor:
    """attribute() report by report, fed in (reported_ms, request id) order: one organization's
    windows so far.

    A report is concurrent when another request of the organization started before its headers
    came and finished after it started. The reports fed before it are summed up by the latest
    finish among them; a report fed later that started before its headers came marks it then,
    found among the reports of the last RECENT_MS (no request waits that long for headers).
    """

    def __init__(self, window: str):
        self.length = WINDOWS[window]
        self.windows: list[Window] = []
        self._recent: deque = deque()     # (window, index of an item in it), in feed order, the last RECENT_MS
        self._latest_finish = -1          # of the reports fed with headers before self._tie_ms
        self._tie_ms = -1                 # the newest reported_ms fed...
        self._ties: list[tuple] = []      # ...and the reports fed with it

    def feed(self, report: Report) -> None:
        """Charge `report`'s rise to it (or skip it, a straggler of an earlier window)."""
        fields = tuple(report)
        concurrent = self._ran_alongside(fields)
        self._mark_earlier(fields)
        current = self.windows[-1] if self.windows else None
        uncertain = []
        if current is None or report.reset_ms > current.reset_ms + RESET_JITTER_MS:
            current = Window(report.reset_ms, self.length)
            self.windows.append(current)
            uncertain.append("first_in_window")
            rise = report.utilization
        elif report.reset_ms < current.reset_ms - RESET_JITTER_MS:
            return  # a straggler of an earlier window reported after the reset: nothing to charge
        else:
            rise = report.utilization - current.utilization
            if rise < 0:
                uncertain.append("decrease")
                rise = 0.0
            if report.reported_ms - current.last_reported_ms > GAP_MS:
                uncertain.append("gap")
        if concurrent:
            uncertain.append("concurrent")
        current.items.append((fields, rise, tuple(uncertain)))
        self._recent.append((current, len(current.items) - 1))
        # The highest figure seen: a lower one reported late (concurrency) must not make the next rise count twice.
        current.utilization = max(current.utilization, report.utilization)
        current.last_reported_ms = report.reported_ms

    def _ran_alongside(self, report: tuple) -> bool:
        # Whether a report fed before it started before its headers came and finished after it started.
        if report[_REPORTED] != self._tie_ms:
            for earlier in self._ties:
                self._latest_finish = max(self._latest_finish, earlier[_FINISHED])
            self._tie_ms, self._ties = report[_REPORTED], []
        alongside = self._latest_finish > report[_STARTED] or any(
            other[_STARTED] < report[_REPORTED] and other[_FINISHED] > report[_STARTED] for other in self._ties)
        self._ties.append(report)
        return alongside

    def _mark_earlier(self, report: tuple) -> None:
        # The reports fed before it whose headers came after it started, and that it outlasted.
        recent = self._recent
        while recent and recent[0][0].items[recent[0][1]][0][_REPORTED] < report[_REPORTED] - RECENT_MS:
            recent.popleft()
        for window, index in reversed(recent):
            earlier, rise, uncertain = window.items[index]
            if earlier[_REPORTED] <= report[_STARTED]:
                break
            if report[_FINISHED] > earlier[_STARTED] and "concurrent" not in uncertain:
                window.items[index] = (earlier, rise, uncertain + ("concurrent",))

    def copy(self) -> "Attributor":
        """An attributor that goes on from here without changing this one: the windows the last
        RECENT_MS touched (a later report may add to them or mark theirs) are copied."""
        twin = Attributor.__new__(Attributor)
        twin.length, twin._latest_finish, twin._tie_ms, twin._ties = (
            self.length, self._latest_finish, self._tie_ms, list(self._ties))
        touched = self.changing()
        copies = {id(window): Window(window.reset_ms, window.length_ms, list(window.items), window.utilization,
                                     window.last_reported_ms) for window in self.windows if id(window) in touched}
        twin.windows = [copies.get(id(window), window) for window in self.windows]
        twin._recent = deque((copies[id(window)], index) for window, index in self._recent)
        return twin

    def forget_before(self, at_ms: int) -> None:
        """Drop the windows that reset before `at_ms` and can change no more."""
        changing = self.changing()
        self.windows = [window for window in self.windows if window.reset_ms >= at_ms or id(window) in changing]

    def changing(self) -> set[int]:
        """The ids of the windows a later report can still change: the newest, and those a report
        of the last RECENT_MS is in (a later one may mark it concurrent)."""
        return {id(window) for window, _ in self._recent} | ({id(self.windows[-1])} if self.windows else set())


@dataclass(frozen=True)
class Forecast:
    """When a window reaches 100 % at the recent burn rate, and whether that is before its reset."""

    utilization: float
    rate_per_hour: float
    full_at_ms: int | None
    before_reset: bool


def forecast(window: Window, now_ms: int, lookback_ms: int = 3600 * 1000) -> Forecast:
    """Burn rate over the last `lookback_ms` of the window's reports (since its start if shorter)."""
    since = max(window.start_ms, now_ms - lookback_ms)
    rise = window.rise_since(since)
    hours = max(now_ms - since, 60_000) / 3_600_000
    rate = rise / hours
    if window.utilization >= 1.0:
        return Forecast(window.utilization, rate, now_ms, True)
    if rate <= 0:
        return Forecast(window.utilization, 0.0, None, False)
    full_at = now_ms + round((1.0 - window.utilization) / rate * 3_600_000)
    return Forecast(window.utilization, rate, full_at, full_at < window.reset_ms)
