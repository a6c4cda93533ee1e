"""Request history views: list, summaries, latest date, one request, clear all."""
from flask import jsonify

from api import bp, params
from api.errors import error_response
from api.record_serializers import request_log, request_summary
from models import queries
from models.request_log import RequestBody

MAX_PAGE = 1000
MAX_SUMMARY = 100_000


@bp.get("/requests")
def list_requests():
    """Logged requests, newest first, a page at a time (without bodies)."""
    page = params.integer("page", 1, 1, 1_000_000)
    limit = params.integer("limit", 10, 1, MAX_PAGE)
    base = queries.filtered_requests(model=params.text("model"))
    rows = queries.newest_first(base).paginate(page, limit)
    return jsonify(requests=[request_log(row) for row in rows], total=base.count())


@bp.delete("/requests")
def clear_requests():
    """Delete every logged request."""
    deleted = queries.delete_all()
    return jsonify(message=f"Deleted {deleted} requests", deleted=deleted)


@bp.get("/requests/summary")
def request_summaries():
    """Lightweight rows for fast list rendering; limit 0 means no limit."""
    tz = params.time_zone()
    start_ms, end_ms = params.range_ms(params.instant("start", tz), params.instant("end", tz))
    offset = params.integer("offset", 0, 0, 100_000_000)
    limit = params.integer("limit", 0, 0, MAX_SUMMARY)
    base = queries.filtered_requests(model=params.text("model"), start_ms=start_ms, end_ms=end_ms)
    rows = queries.newest_first(base).offset(offset)
    if limit:
        rows = rows.limit(limit)
    return jsonify(requests=[request_summary(row) for row in rows], total=base.count(),
                   offset=offset, limit=limit)


@bp.get("/requests/latest-date")
def latest_date():
    """When the most recent request was logged (null when there is none)."""
    return jsonify(latestDate=params.iso(queries.latest_timestamp_ms()))


@bp.get("/requests/<request_id>")
def get_request(request_id):
    """One request with its headers and bodies, by full id or a unique suffix."""
    if not request_id.isalnum() or len(request_id) > 64:
        return error_response(400, "Invalid id", "a request id is letters and digits")
    matches = queries.find_by_id_or_suffix(request_id)
    if not matches:
        return error_response(404, "Request not found", f"no request id ends with {request_id!r}")
    if len(matches) > 1:
        return error_response(400, "Ambiguous id", f"more than one request id ends with {request_id!r}")
    row = matches[0]
    body = RequestBody.get_or_none(RequestBody.request == row.id)
    return jsonify(request=request_log(row, body), fullId=row.id)
