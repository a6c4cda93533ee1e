"""Window attribution read from the records: each organization's unified utilisation reports."""
import sys

from models.queries import read_rows
from models.quota import Report
from models.request_log import RequestLog

MAX_REPORTS = 100_000
_COLUMNS = {"5h": (RequestLog.unified_5h_utilization, RequestLog.unified_5h_reset),
            "7d": (RequestLog.unified_7d_utilization, RequestLog.unified_7d_reset)}


_READ = (RequestLog.id, RequestLog.timestamp_ms, RequestLog.ttfb_ms, RequestLog.response_time_ms,
         RequestLog.completed_at_ms)
_WHO = (RequestLog.session_id, RequestLog.agent_id, RequestLog.routed_model, RequestLog.original_model,
        RequestLog.api_key_fingerprint, RequestLog.organization_id)


def window_reports(base, window: str, limit: int = MAX_REPORTS) -> tuple[list[Report], bool]:
    """The `window` ("5h" or "7d") reports of `base`'s records (one organization's), oldest first;
    and whether cut to the newest `limit`."""
    rows = read_rows(_query(base, window).order_by(RequestLog.timestamp_ms.desc()).limit(limit + 1))
    reports = [report for report in map(report_of, reversed(rows[:limit])) if report is not None]
    return reports, len(rows) > limit


def reports_by_organization(base, window: str) -> dict[str, list[Report]]:
    """Every organization's `window` reports among `base`'s records, in no order."""
    reports: dict[str, list[Report]] = {}
    for row in read_rows(_query(base, window)):
        report = report_of(row)
        if report is not None:
            reports.setdefault(row[-1], []).append(report)
    return reports


def _query(base, window: str):
    utilization, reset = _COLUMNS[window]
    return base.select(*_READ, utilization, reset, *_WHO).where(utilization.is_null(False), reset.is_null(False))


def report_of(row: tuple) -> Report | None:
    """The Report of a row of _query; None when its reset is not a time."""
    (request_id, started_ms, ttfb_ms, response_ms, completed_ms, used, reset_value, session, agent, routed,
     requested, key, _org) = row
    reset_ms = _reset_ms(reset_value)
    if reset_ms is None:
        return None
    reported = started_ms + (ttfb_ms or response_ms or 0)
    finished = completed_ms or reported
    # Interned: thousands of reports name the same few sessions, models and keys.
    return Report(request_id, started_ms, reported, max(finished, reported), float(used), reset_ms, _interned(session),
                  _interned(agent), _interned(routed or requested), _interned(key))


def _interned(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def _reset_ms(value) -> int | None:
    # Anthropic sends the reset as unix seconds.
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return int(seconds * 1000) if 0 < seconds < 1e11 else None
