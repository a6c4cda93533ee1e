"""Window attribution fed once per settled hour is what attributing every report afresh gives."""
import datetime
import random

import pytest

import models
from models import queries, settled_windows
from models.quota import attribute
from models.quota_report import reports_by_organization
from models.queries import filtered_requests
from models.request_log import RequestLog
from models.settled_spans import HOUR_MS, SettledSpans
from models.settled_windows import SettledWindows
from tests.records import log_row

DAY0 = int(datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)
MINUTE = 60_000
FIVE_HOURS = 5 * HOUR_MS


def history(seed: int = 1, hours: int = 30):
    # Two organizations, a request every few minutes each, some running long or waiting for their
    # headers, the 5-hour windows resetting on the hour (reports of a new window may come late).
    rng = random.Random(seed)
    rows = []
    for org in ("org-a", "org-b"):
        at, used = DAY0 + rng.randrange(0, 10) * MINUTE, 0.0
        while at < DAY0 + hours * HOUR_MS:
            reset = (at // FIVE_HOURS + 1) * FIVE_HOURS
            used = 0.01 if reset - at > FIVE_HOURS - 10 * MINUTE else min(1.0, used + rng.random() * 0.02)
            ttfb = rng.choice([400, 900, rng.randrange(0, 20 * MINUTE)])
            rows.append(log_row(f"{org}-{len(rows)}", timestamp_ms=at, ttfb_ms=ttfb,
                                completed_at_ms=at + ttfb + rng.randrange(0, 5 * MINUTE), organization_id=org,
                                session_id=f"s-{rng.randrange(4)}", routed_model="claude-opus-4-6",
                                unified_5h_utilization=used, unified_5h_reset=str(reset // 1000)))
            at += rng.randrange(1, 8) * MINUTE
    models.save_records(rows, [])


def fresh(start_ms, end_ms) -> dict:
    # Every report from the first, attributed afresh; the windows with a report in the range.
    shown = {}
    for org, reports in reports_by_organization(filtered_requests(end_ms=end_ms), "5h").items():
        windows = [window for window in attribute(reports, "5h")
                   if any(start_ms <= item.report.started_ms < end_ms for item in window.attributions)]
        shown[org] = summary(windows)
    return shown


def summary(windows):
    return [(w.reset_ms, w.utilization, [(a.report.request_id, round(a.rise, 9), a.uncertain) for a in w.attributions])
            for w in windows]


def kept(watch, start_ms, end_ms) -> dict:
    return {org: summary(windows) for org, (windows, _) in watch.windows("5h", start_ms, end_ms).items()}


class CountedReads:
    """settled_windows' reads of a range, recorded."""

    def __init__(self, monkeypatch):
        self.ranges = []
        self._read = settled_windows._read
        monkeypatch.setattr(settled_windows, "_read", self)

    def __call__(self, start_ms, end_ms, window):
        if start_ms < end_ms:
            self.ranges.append((start_ms, end_ms))
        return self._read(start_ms, end_ms, window)


@pytest.mark.parametrize("start, end", [(DAY0 + 12 * HOUR_MS, DAY0 + 30 * HOUR_MS),
                                        (DAY0 + 7 * HOUR_MS + 5, DAY0 + 19 * HOUR_MS + 7 * MINUTE),
                                        (DAY0 + 20 * HOUR_MS, DAY0 + 21 * HOUR_MS)])
def test_kept_windows_are_what_attributing_every_report_afresh_gives(migrated, start, end):
    history()
    expected = fresh(start, end)
    assert all(any("concurrent" in flags for w in windows for _, _, flags in w[2]) for windows in expected.values())
    watch = SettledWindows(SettledSpans())
    assert kept(watch, start, end) == expected
    assert kept(watch, start, end) == expected, "and again, from what was kept"


def test_whole_hours_are_fed_once_and_a_report_waiting_for_its_headers_is_fed_in_order(migrated, monkeypatch):
    history()
    # Started before the first range's last hour, its headers came 30 minutes later: after a report
    # that started after that hour.
    models.save_records([log_row("slow", timestamp_ms=DAY0 + 13 * HOUR_MS - MINUTE, ttfb_ms=30 * MINUTE,
                                 completed_at_ms=DAY0 + 13 * HOUR_MS + 40 * MINUTE, organization_id="org-a",
                                 unified_5h_utilization=0.5, unified_5h_reset=str((DAY0 + 15 * HOUR_MS) // 1000))], [])
    reads, watch = CountedReads(monkeypatch), SettledWindows(SettledSpans())
    assert kept(watch, DAY0 + 10 * HOUR_MS, DAY0 + 13 * HOUR_MS) == fresh(DAY0 + 10 * HOUR_MS, DAY0 + 13 * HOUR_MS)
    reads.ranges.clear()
    assert kept(watch, DAY0 + 10 * HOUR_MS, DAY0 + 16 * HOUR_MS) == fresh(DAY0 + 10 * HOUR_MS, DAY0 + 16 * HOUR_MS)
    assert reads.ranges == [(DAY0 + 13 * HOUR_MS, DAY0 + 16 * HOUR_MS)], "only the hours not fed yet"


@pytest.mark.parametrize("change", ["late row", "deleted row", "everything deleted", "row before the oldest"])
def test_a_changed_hour_is_fed_again(migrated, change):
    history()
    watch = SettledWindows(SettledSpans())
    # From 2 h: the anchor, a window and an hour before, comes before the oldest record.
    start, end = (DAY0 + 2 * HOUR_MS if change == "row before the oldest" else DAY0 + 12 * HOUR_MS), DAY0 + 30 * HOUR_MS
    before = kept(watch, start, end)
    if change == "late row":
        models.save_records([log_row("late", timestamp_ms=DAY0 + 14 * HOUR_MS, ttfb_ms=500, organization_id="org-b",
                                     unified_5h_utilization=0.99,
                                     unified_5h_reset=str((DAY0 + 15 * HOUR_MS) // 1000))], [])
    elif change == "deleted row":
        RequestLog.delete().where(RequestLog.id == RequestLog.select(RequestLog.id).where(
            RequestLog.timestamp_ms >= DAY0 + 14 * HOUR_MS).order_by(RequestLog.timestamp_ms).limit(1)).execute()
    elif change == "everything deleted":  # DELETE /api/requests
        queries.delete_all()
    else:  # a recorder catching up writes before the oldest record, after the anchor (start - 6 h)
        models.save_records([log_row("early", timestamp_ms=DAY0 - 30 * MINUTE, ttfb_ms=500, organization_id="org-a",
                                     unified_5h_utilization=0.5, unified_5h_reset=str(FIVE_HOURS // 1000 + DAY0 // 1000))],
                            [])
    assert kept(watch, start, end) == fresh(start, end) != before


def test_a_range_ending_before_the_hours_fed_shows_nothing_after_its_end(migrated):
    history()
    watch = SettledWindows(SettledSpans())
    kept(watch, DAY0 + 12 * HOUR_MS, DAY0 + 30 * HOUR_MS)
    start, end = DAY0 + 13 * HOUR_MS, DAY0 + 17 * HOUR_MS + 30 * MINUTE
    assert kept(watch, start, end) == fresh(start, end)
    assert kept(watch, DAY0 + 12 * HOUR_MS, DAY0 + 30 * HOUR_MS) == fresh(DAY0 + 12 * HOUR_MS, DAY0 + 30 * HOUR_MS)


def test_a_range_of_too_many_records_is_left_to_the_caller(migrated, monkeypatch):
    history()
    monkeypatch.setattr(settled_windows, "MAX_RECORDS", 10)
    assert SettledWindows(SettledSpans()).windows("5h", DAY0 + 12 * HOUR_MS, DAY0 + 30 * HOUR_MS) is None


def test_a_final_window_is_shown_from_what_was_kept(migrated):
    history()
    watch = SettledWindows(SettledSpans())
    found = watch.windows("5h", DAY0 + 12 * HOUR_MS, DAY0 + 30 * HOUR_MS)
    windows, changing = found["org-a"]
    made = []

    def make(window):
        made.append(window)
        return len(made)

    first = [watch.shown("5h", window, make, changing, "k") for window in windows]
    again = [watch.shown("5h", window, make, changing, "k") for window in windows]
    assert len(made) == len(windows) + len(changing & {id(w) for w in windows})
    assert [a for a, w in zip(again, windows) if id(w) not in changing] == \
        [f for f, w in zip(first, windows) if id(w) not in changing]
    final = next(window for window in windows if id(window) not in changing)
    assert watch.shown("5h", final, make, changing, "other projects") == len(made), "another key is made anew"
    assert watch.shown("5h", final, make, changing, "k") == len(made), "only the last key's is kept"
