"""Cost breakdowns: what the requests of a range cost per model, organization, provider, key, session or project."""
import peewee
from flask import current_app, jsonify

from api import bp, params, serializers
from api.errors import http_error
from api.prices import current_pricing
from models import queries
from models.costs import group_sums, priced, spend_by, totals
from models.request_log import RequestLog

# `by` -> the record column it groups on (model and project are folded from other groupings).
_KEYS = {
    "organization": RequestLog.organization_id,
    "provider": peewee.fn.COALESCE(RequestLog.provider, "anthropic"),
    "key": RequestLog.api_key_fingerprint,
    "session": RequestLog.session_id,
    "project": RequestLog.session_id,  # folded from the sessions' sums
}
BREAKDOWNS = ("model", *_KEYS)
MAX_ROWS = 1_000


@bp.get("/stats/costs")
def cost_breakdown():
    """What the requests of [start, end) cost, per model, organization, provider, API key, session or project.
    ---
    get:
      operationId: getCostBreakdown
      tags: [dashboard]
      summary: Cost per model, organization, provider, API key fingerprint, session or project
      description: >-
        Cost is computed from the recorded tokens with the price book in force (GET /api/prices).
        `project` is the working directory of the session, from its transcript under
        CLAUDE_PROJECTS_DIR (sessions without one are under a null key). Each row's cost says what
        it leaves unpriced or estimates.
      parameters:
        - {name: by, in: query, required: true, schema: {type: string, enum: [model, organization, provider, key, session, project]}}
        - {name: start, in: query, schema: {type: string, format: date-time}, description: default 7 days before end}
        - {name: end, in: query, schema: {type: string, format: date-time}, description: default now}
        - {name: limit, in: query, schema: {type: integer, default: 100, minimum: 1, maximum: 1000},
           description: "rows returned, the most expensive first (the total covers every key)"}
        - model
        - org
        - tz
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/CostBreakdownResponse"}}}}
    """
    by = params.choice("by", BREAKDOWNS)
    limit = params.integer("limit", 100, 1, MAX_ROWS)
    if by is None:
        raise http_error(400, "Missing by", f"by is required: one of {', '.join(BREAKDOWNS)}")
    tz = params.time_zone()
    start, end = params.range_or_recent(tz)
    start_ms, end_ms = params.range_ms(start, end)
    model, org = params.text("model"), params.organization()
    if by == "model":
        spend = settled_spend(None, start_ms, end_ms, model=model, org=org)
        return jsonify(serializers.cost_breakdown(by, totals(spend, by="model"), limit=limit))
    spend = totals(settled_spend("session" if by == "project" else by, start_ms, end_ms, model=model, org=org))
    labels = {}
    if by in ("session", "project"):
        projects = {row.id: row.project_path for row in current_app.extensions["conversations"].transcript_sessions()}
        if by == "project":
            folded = {}
            for session, value in spend.items():
                project = projects.get(session)
                folded[project] = folded[project] + value if project in folded else value
            spend = folded
        else:
            labels = {session: projects.get(session) for session in spend}
    return jsonify(serializers.cost_breakdown(by, spend, labels, limit))


def settled_spend(by: str | None, start_ms: int | None, end_ms: int | None, model: str | None = None,
                  org: str | None = None) -> dict:
    """spend_by over the requests of [start_ms, end_ms) matching `model` and `org`, per key `by`
    (a _KEYS name, or None), with the settled hours' sums from memory."""
    pricing = current_pricing()
    key = None if by is None else _KEYS[by].alias("c_key")

    def sums_of(first_ms, last_ms):
        return group_sums(queries.filtered_requests(model=model, start_ms=first_ms, end_ms=last_ms, org=org),
                          pricing, key)

    if start_ms is None or end_ms is None:
        return spend_by(queries.filtered_requests(model=model, start_ms=start_ms, end_ms=end_ms, org=org), pricing,
                        key)
    settled = current_app.extensions["settled_sums"]
    return priced(settled.sums((by, model, org), sums_of, start_ms, end_ms), pricing)
