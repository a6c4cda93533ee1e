"""Rate-limit views: the latest unified 5-hour and 7-day windows per organization, and their history."""

from flask import jsonify

from api import bp, buckets, params
from api.serializers import rate_limit_latest, rate_limit_point
from models import queries
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
