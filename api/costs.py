"""Cost breakdowns: what the requests of a range cost per model, organization, provider, key, session or project."""
import peewee
from flask import current_app, jsonify

from api import bp, params, serializers
from api.errors import http_error
from api.prices import current_pricing
from models import queries
from models.costs import spend_by, totals
from models.request_log import RequestLog

# `by` -> the record column it groups on (model and project are folded from other groupings).
_KEYS = {
    "organization": RequestLog.organization_id,
    "provider": peewee.fn.COALESCE(RequestLog.provider, "anthropic"),
    "key": RequestLog.api_key_fingerprint,
    "session": RequestLog.session_id,
    "project": RequestLog.session_id,
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
    base = queries.filtered_requests(model=params.text("model"), start_ms=start_ms, end_ms=end_ms,
                                     org=params.organization())
    if by == "model":
        return jsonify(serializers.cost_breakdown(by, totals(spend_by(base, current_pricing()), by="model"), limit=limit))
    spend = totals(spend_by(base, current_pricing(), key=_KEYS[by].alias("c_key")))
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
