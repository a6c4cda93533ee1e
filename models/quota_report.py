"""Window attribution read from the records: each organization's unified utilisation reports, oldest first."""
from models.quota import Report
from models.request_log import RequestLog

MAX_REPORTS = 100_000
_COLUMNS = {"5h": (RequestLog.unified_5h_utilization, RequestLog.unified_5h_reset),
            "7d": (RequestLog.unified_7d_utilization, RequestLog.unified_7d_reset)}


def window_reports(base, window: str, limit: int = MAX_REPORTS) -> tuple[list[Report], bool]:
    """The `window` ("5h" or "7d") reports of `base`'s records (one organization's); and whether cut."""
    utilization, reset = _COLUMNS[window]
    query = (base.select(RequestLog.id, RequestLog.timestamp_ms, RequestLog.ttfb_ms, RequestLog.response_time_ms,
                         RequestLog.completed_at_ms, utilization, reset, RequestLog.session_id, RequestLog.agent_id,
                         RequestLog.routed_model, RequestLog.original_model, RequestLog.api_key_fingerprint)
             .where(utilization.is_null(False), reset.is_null(False))
             .order_by(RequestLog.timestamp_ms.desc()).limit(limit + 1))
    reports = []
    rows = list(query)
    for row in reversed(rows[:limit]):
        reset_ms = _reset_ms(getattr(row, reset.name))
        if reset_ms is None:
            continue
        reported = row.timestamp_ms + (row.ttfb_ms or row.response_time_ms or 0)
        finished = row.completed_at_ms or reported
        reports.append(Report(row.id, row.timestamp_ms, reported, max(finished, reported),
                              float(getattr(row, utilization.name)), reset_ms, row.session_id, row.agent_id,
                              row.routed_model or row.original_model, row.api_key_fingerprint))
    return reports, len(rows) > limit


def _reset_ms(value) -> int | None:
    # Anthropic sends the reset as unix seconds.
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return int(seconds * 1000) if 0 < seconds < 1e11 else None
