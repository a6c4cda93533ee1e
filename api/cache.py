"""Cache economics: hit rate, what the cache saved and what writes cost per model, day and session; cache breaks."""
from flask import current_app, jsonify

from api import bp, buckets, params, serializers
from api.spend import bucket_spend, filtered_base, settled_spend
from models import queries
from models.costs import totals


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
    model, org = params.text("model"), params.organization()
    checked = set()  # the three read the same hours: their fingerprints are checked once
    per_day_and_model = bucket_spend(edges, queries.bucket_index(edges), model=model, org=org, checked=checked)
    by_day, by_model = totals(per_day_and_model), totals(per_day_and_model, by="model")
    by_session = totals(settled_spend("session", edges[0], edges[-1], model=model, org=org, checked=checked))
    by_session.pop(None, None)  # requests without a session
    breaks, cut = current_app.extensions["settled_breaks"].breaks((model, org), filtered_base(model, org), edges[0],
                                                                  edges[-1], checked)
    return jsonify(serializers.cache_economics(days, by_day, by_model, by_session, breaks, cut))
