"""Window attribution read from the records: each organization's unified utilisation reports, oldest first."""
import time

from models.db import database
from models.quota import Report
from models.request_log import RequestLog

MAX_REPORTS = 100_000
YIELD_EVERY = 2_000
_COLUMNS = {"5h": (RequestLog.unified_5h_utilization, RequestLog.unified_5h_reset),
            "7d": (RequestLog.unified_7d_utilization, RequestLog.unified_7d_reset)}


def window_reports(base, window: str, projects: dict | None = None, limit: int = MAX_REPORTS
                   ) -> tuple[list[Report], bool]:
    """The `window` ("5h" or "7d") reports of `base`'s records (one organization's), each with its
    session's project from `projects` (session id -> working directory); and whether cut."""
    utilization, reset = _COLUMNS[window]
    projects = projects or {}
    query = (base.select(RequestLog.id, RequestLog.timestamp_ms, RequestLog.ttfb_ms, RequestLog.response_time_ms,
                         RequestLog.completed_at_ms, utilization, reset, RequestLog.session_id, RequestLog.agent_id,
                         RequestLog.routed_model, RequestLog.original_model, RequestLog.api_key_fingerprint)
             .where(utilization.is_null(False), reset.is_null(False))
             .order_by(RequestLog.timestamp_ms.desc()).limit(limit + 1))
    reports = []
    rows = []
    for row in database.execute(query):  # the driver's tuples: a model instance per row was most of the time
        rows.append(row)
        if len(rows) % YIELD_EVERY == 0:
            time.sleep(0)  # under gevent, let the worker's streams run between slices of a long read
    for (request_id, started_ms, ttfb_ms, response_ms, completed_ms, used, reset_value, session, agent, routed,
         requested, key) in reversed(rows[:limit]):
        reset_ms = _reset_ms(reset_value)
        if reset_ms is None:
            continue
        reported = started_ms + (ttfb_ms or response_ms or 0)
        finished = completed_ms or reported
        reports.append(Report(request_id, started_ms, reported, max(finished, reported), float(used), reset_ms,
                              session, agent, routed or requested, key, projects.get(session)))
    return reports, len(rows) > limit


def _reset_ms(value) -> int | None:
    # Anthropic sends the reset as unix seconds.
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return int(seconds * 1000) if 0 < seconds < 1e11 else None
