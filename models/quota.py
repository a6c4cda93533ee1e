"""Who used a unified rate-limit window: each rise in utilisation charged to the response that reported it. Pure.

Utilisation is per organization and moves with every request of that organization from any
machine, so a rise is only *probably* the reporting request's own: it is marked uncertain when
the request overlapped another of the organization (concurrent), when no earlier report of the
window was seen (the first one, or a long gap), or when utilisation fell without a reset.
"""
import bisect
from collections import defaultdict
from dataclasses import dataclass, field

WINDOWS = {"5h": 5 * 3600 * 1000, "7d": 7 * 24 * 3600 * 1000}
# A reset moving by less than this is the same window (Anthropic rounds the reset it reports).
RESET_JITTER_MS = 10 * 60 * 1000
# A report this long after the previous one of its window may hide usage the proxy never saw.
GAP_MS = 30 * 60 * 1000
BY = ("session", "agent", "model", "key", "project")


@dataclass(frozen=True)
class Report:
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
    project: str | None = None


@dataclass
class Attribution:
    """A rise in utilisation charged to one request, and whether that is certain."""

    report: Report
    rise: float
    uncertain: tuple[str, ...] = ()


@dataclass
class Window:
    """One window of one organization: its reset, its rises, and totals per session, model, ..."""

    reset_ms: int
    length_ms: int
    attributions: list = field(default_factory=list)
    utilization: float = 0.0
    last_reported_ms: int = 0

    @property
    def start_ms(self) -> int:
        """When the window began (its reset less its length)."""
        return self.reset_ms - self.length_ms

    def totals(self, by: str) -> list[dict]:
        """Rises summed per `by` (one of BY), largest first, with the uncertain part apart."""
        sums = defaultdict(lambda: {"rise": 0.0, "uncertain": 0.0, "requests": 0})
        for item in self.attributions:
            entry = sums[getattr(item.report, by)]
            entry["rise"] += item.rise
            entry["requests"] += 1
            if item.uncertain:
                entry["uncertain"] += item.rise
        return sorted(({by: name, **values} for name, values in sums.items()), key=lambda e: -e["rise"])


def attribute(reports: list[Report], window: str) -> list[Window]:
    """The windows of one organization's reports for `window` ("5h" or "7d"), oldest first."""
    length = WINDOWS[window]
    ordered = sorted(reports, key=lambda r: (r.reported_ms, r.request_id))
    windows: list[Window] = []
    concurrent = concurrency(ordered)
    for index, report in enumerate(ordered):
        current = windows[-1] if windows else None
        uncertain = []
        if current is None or report.reset_ms > current.reset_ms + RESET_JITTER_MS:
            current = Window(report.reset_ms, length)
            windows.append(current)
            uncertain.append("first_in_window")
            rise = report.utilization
        elif report.reset_ms < current.reset_ms - RESET_JITTER_MS:
            continue  # a straggler of an earlier window reported after the reset: nothing to charge
        else:
            rise = report.utilization - current.utilization
            if rise < 0:
                uncertain.append("decrease")
                rise = 0.0
            if report.reported_ms - current.last_reported_ms > GAP_MS:
                uncertain.append("gap")
        if concurrent[index]:
            uncertain.append("concurrent")
        current.attributions.append(Attribution(report, rise, tuple(uncertain)))
        # The highest figure seen: a lower one reported late (concurrency) must not make the next rise count twice.
        current.utilization = max(current.utilization, report.utilization)
        current.last_reported_ms = report.reported_ms
    return windows


def concurrency(reports: list[Report]) -> list[bool]:
    """Per report, whether another request of the organization ran while it did (started before its
    headers arrived, finished after it started): its usage may be in the rise."""
    # Sorted by start, each prefix keeps its two latest finishes: the latest other than the report
    # itself among those started before its headers came decides. O(n log n) for a week's reports.
    order = sorted(range(len(reports)), key=lambda i: reports[i].started_ms)
    starts = [reports[i].started_ms for i in order]
    latest = []
    first, second = (-1, -1), (-1, -1)  # (finished_ms, index)
    for i in order:
        finished = reports[i].finished_ms
        if finished > first[0]:
            first, second = (finished, i), first
        elif finished > second[0]:
            second = (finished, i)
        latest.append((first, second))
    result = []
    for index, report in enumerate(reports):
        before = bisect.bisect_left(starts, report.reported_ms)  # how many started before its headers
        if not before:
            result.append(False)
            continue
        first, second = latest[before - 1]
        finished = second[0] if first[1] == index else first[0]
        result.append(finished > report.started_ms)
    return result


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
    rise = sum(item.rise for item in window.attributions if item.report.reported_ms >= since)
    hours = max(now_ms - since, 60_000) / 3_600_000
    rate = rise / hours
    if window.utilization >= 1.0:
        return Forecast(window.utilization, rate, now_ms, True)
    if rate <= 0:
        return Forecast(window.utilization, 0.0, None, False)
    full_at = now_ms + round((1.0 - window.utilization) / rate * 3_600_000)
    return Forecast(window.utilization, rate, full_at, full_at < window.reset_ms)
