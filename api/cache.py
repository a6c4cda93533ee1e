"""Cache economics: hit rate, what the cache saved and what writes cost per model, day and session; cache breaks."""
import peewee
from flask import jsonify

from api import bp, buckets, params, serializers
from api.prices import current_pricing
from models import queries
from models.cache_report import cache_breaks
from models.costs import spend_by, totals
from models.request_log import RequestLog


@bp.get("/cache")
def cache_economics():
    """Prompt-cache health over [start, end) (default the last 7 days), and the cache breaks in it.
    ---
    get:
      operationId: getCacheEconomics
      tags: [dashboard]
      summary: Cache hit rate, savings, write cost and cache breaks
      description: >-
        Hit rate is cache reads over all input tokens (input + cache reads + cache writes); savings
        are the cache reads priced at the input rate minus their price; a cache break is a request
        whose cache read fell to near zero although the previous request of its session, subagent and
        model had a warm prefix, with the probable cause and what re-writing the prefix cost.
      parameters:
        - {name: start, in: query, schema: {type: string, format: date-time}}
        - {name: end, in: query, schema: {type: string, format: date-time}}
        - model
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/CacheEconomics"}}}}
    """
    tz = params.time_zone()
    start, end = params.range_or_recent(tz)
    params.range_ms(start, end)
    days = buckets.capped_days(start, end, tz)
    edges = buckets.day_boundaries_ms(days, tz) if days else [params.to_ms(start), params.to_ms(end)]
    base = queries.filtered_requests(model=params.text("model"), start_ms=edges[0], end_ms=edges[-1],
                                     org=params.organization())
    pricing = current_pricing()
    per_day_and_model = spend_by(base, pricing, key=queries.bucket_index(edges).alias("c_key"))
    by_day, by_model = totals(per_day_and_model), totals(per_day_and_model, by="model")
    by_session = totals(spend_by(base.where(RequestLog.session_id.is_null(False)), pricing,
                                 key=peewee.fn.COALESCE(RequestLog.session_id, "").alias("c_key")))
    breaks, cut = cache_breaks(base, pricing)
    return jsonify(serializers.cache_economics(days, by_day, by_model, by_session, breaks, cut))
