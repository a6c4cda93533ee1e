"""Rate-limit views: the latest unified 5-hour and 7-day windows per organization, and their history."""
import functools
import time

from flask import current_app, jsonify

from api import bp, buckets, params
from api.serializers import rate_limit_latest, rate_limit_point, window_usage_of
from models import queries
from models.quota import WINDOWS, attribute, forecast
from models.quota_report import window_reports
from models.rate_limits import latest_rate_limits, rate_limits_by_bucket


@bp.get("/ratelimits")
def rate_limits():
    """Latest unified rate-limit state per organization, and the last one reported in each bucket of [start, end).
    ---
    get:
      operationId: getRateLimits
      tags: [dashboard]
      summary: Unified 5-hour and 7-day rate-limit windows per organization
      description: >-
        `latest` holds each organization's newest record that carried unified rate-limit headers
        (resets are what Anthropic sent: epoch seconds). `history` holds, per bucket of `bucket`
        minutes from start (default the last 7 days) and organization, the utilisation last reported in it.
      parameters:
        - {name: start, in: query, schema: {type: string, format: date-time}}
        - {name: end, in: query, schema: {type: string, format: date-time}}
        - {name: bucket, in: query, schema: {type: integer, default: 60, minimum: 1, maximum: 1440}, description: Bucket size in minutes}
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/RateLimitsResponse"}}}}
    """
    tz = params.time_zone()
    start, end = params.range_or_recent(tz)
    start_ms, end_ms, size_ms, labels = buckets.fixed_buckets(start, end, tz)
    org = params.organization()
    orgs = [org] if org else queries.organizations()
    latest = latest_rate_limits(orgs)
    rows = rate_limits_by_bucket(orgs, start_ms, end_ms, size_ms, len(labels))
    return jsonify(latest=[rate_limit_latest(row) for row in latest],
                   history=[rate_limit_point(row, labels[row["bucket"]].isoformat()) for row in rows])


@bp.get("/ratelimits/usage")
def window_usage():
    """What used each unified window: every rise in utilisation charged to the response that reported it.
    ---
    get:
      operationId: getWindowUsage
      tags: [dashboard]
      summary: What used the 5-hour or 7-day window, per session, subagent, model, key and project, with a forecast
      description: >-
        Per organization, the windows with a report in [start, end) (default the last 7 days), newest
        first, each attributed over all its reports (one begun before start is shown whole): each rise in
        utilisation (0..1) is charged to the response that reported it, and summed per session, subagent,
        model, API key fingerprint and project. `uncertain` is the part of the rises
        that may include other requests' usage (concurrent requests, the first report of a window, a gap
        of over 30 minutes, a fall without a reset). The current window has a forecast: when it reaches
        100 % at the last hour's burn rate, and whether before its reset.
      parameters:
        - {name: window, in: query, schema: {type: string, enum: [5h, 7d], default: 5h}}
        - {name: start, in: query, schema: {type: string, format: date-time}}
        - {name: end, in: query, schema: {type: string, format: date-time}}
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/WindowUsageResponse"}}}}
    """
    window = params.choice("window", tuple(WINDOWS)) or "5h"
    tz = params.time_zone()
    start, end = params.range_or_recent(tz)
    start_ms, end_ms = params.range_ms(start, end)
    org = params.organization()
    projects = {row.id: row.project_path for row in current_app.extensions["conversations"].transcript_sessions()}
    projects_key = hash(frozenset(projects.items()))  # a final window is shown again when a project changed
    settled = current_app.extensions["settled_windows"]
    found = settled.windows(window, start_ms, end_ms)
    now_ms = int(time.time() * 1000)
    result = []
    for name in ([org] if org else queries.organizations()):
        if found is None:  # too many records to keep: the newest reports of the range, attributed now
            reports, cut = window_reports(queries.filtered_requests(start_ms=start_ms, end_ms=end_ms, org=name), window)
            windows, show = attribute(reports, window), None
        else:
            (windows, changing), cut = found.get(name, ([], set())), False
            show = functools.partial(settled.shown, window, changing=changing, key=projects_key)
        current = windows[-1] if windows and windows[-1].reset_ms > now_ms else None
        result.append(window_usage_of(name, windows, current and forecast(current, now_ms), cut, projects, show))
    return jsonify(window=window, organizations=result)
