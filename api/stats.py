"""Usage statistics: totals, daily and hourly token charts, per-model and organization lists.

Tokens always mean input + output + cache read + cache creation tokens.
"""

from flask import jsonify

from api import bp, buckets, params, serializers
from api.spend import bucket_spend, settled_spend
from models import queries
from models.costs import totals


_org = params.organization


@bp.get("/stats")
def usage_stats():
    """Totals and per-model usage over an optional date range.
    ---
    get:
      operationId: getStats
      tags: [dashboard]
      summary: Aggregated usage statistics
      description: Totals over [start_date, end_date]. cache_tokens are cache read + cache creation tokens.
      parameters:
        - {name: start_date, in: query, schema: {type: string}, description: ISO 8601 date or date-time; a date starts at local midnight}
        - {name: end_date, in: query, schema: {type: string}, description: ISO 8601 date (included whole) or date-time (exclusive)}
        - model
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/UsageStats"}}}}
    """
    tz = params.time_zone()
    start = params.instant("start_date", tz)
    end = params.instant("end_date", tz, end_of_day=True)
    start_ms, end_ms = params.range_ms(start, end)
    spend = settled_spend(None, start_ms, end_ms, model=params.text("model"), org=_org())
    return jsonify(serializers.usage_stats(totals(spend, by="model"), start, end))


@bp.get("/stats/dashboard")
def daily_stats():
    """Tokens and requests per local day (default: the last 7 days), with a per-model split.
    ---
    get:
      operationId: getDashboardStats
      tags: [dashboard]
      summary: Daily token usage for dashboard charts
      description: One entry per local day of [start, end) (default the last 7 days); tokens = input + output + cache read + cache creation.
      parameters:
        - {name: start, in: query, schema: {type: string, format: date-time}}
        - {name: end, in: query, schema: {type: string, format: date-time}}
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/DashboardStats"}}}}
    """
    tz = params.time_zone()
    start, end = params.range_or_recent(tz)
    params.range_ms(start, end)
    org = _org()
    days = buckets.capped_days(start, end, tz)
    spend = {}
    if days:
        edges = buckets.day_boundaries_ms(days, tz)
        spend = bucket_spend(edges, queries.bucket_index(edges), org=org)
    return jsonify(serializers.daily_stats(days, spend))


@bp.get("/stats/hourly")
def hourly_stats():
    """Tokens and requests per bucket (minutes) of [start, end), labelled in local time.
    ---
    get:
      operationId: getHourlyStats
      tags: [dashboard]
      summary: Hourly token usage breakdown
      description: Buckets of `bucket` minutes from start (a DST day has 23 or 25 hourly buckets), labelled in local time. todayTokens and todayRequests sum the whole range; avgResponseTime is the mean in ms.
      parameters:
        - {name: start, in: query, required: true, schema: {type: string, format: date-time}}
        - {name: end, in: query, required: true, schema: {type: string, format: date-time}}
        - {name: bucket, in: query, schema: {type: integer, default: 60, minimum: 1, maximum: 1440}, description: Bucket size in minutes}
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/HourlyStatsResponse"}}}}
    """
    tz = params.time_zone()
    start, end = params.instant("start", tz, required=True), params.instant("end", tz, required=True)
    start_ms, end_ms, size_ms, labels = buckets.fixed_buckets(start, end, tz)
    org = _org()
    edges = list(range(start_ms, end_ms, size_ms)) + [end_ms]
    spend = bucket_spend(edges, queries.fixed_bucket_index(start_ms, size_ms), org=org)
    return jsonify(serializers.hourly_stats(labels, spend))


@bp.get("/stats/models")
def model_stats():
    """Tokens and requests per model over [start, end), most tokens first.
    ---
    get:
      operationId: getModelStats
      tags: [dashboard]
      summary: Per-model token usage breakdown
      description: Per routed model, most tokens first; tokens = input + output + cache read + cache creation.
      parameters:
        - {name: start, in: query, required: true, schema: {type: string, format: date-time}}
        - {name: end, in: query, required: true, schema: {type: string, format: date-time}}
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/ModelStatsResponse"}}}}
    """
    tz = params.time_zone()
    start, end = params.instant("start", tz, required=True), params.instant("end", tz, required=True)
    start_ms, end_ms = params.range_ms(start, end)
    return jsonify(serializers.model_stats(totals(settled_spend(None, start_ms, end_ms, org=_org()), by="model")))


@bp.get("/stats/organizations")
def organization_list():
    """Distinct organization ids seen in responses.
    ---
    get:
      operationId: getOrganizations
      tags: [dashboard]
      summary: List distinct organization IDs
      responses:
        "200":
          description: Every organization id seen in a response
          content:
            application/json:
              schema:
                type: object
                properties:
                  organizations: {type: array, items: {type: string}}
    """
    return jsonify(organizations=queries.organizations())
