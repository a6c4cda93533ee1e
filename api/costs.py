"""Cost breakdowns: what the requests of a range cost per model, organization, provider, key, session or project."""
from flask import current_app, jsonify

from api import bp, params, serializers
from api.errors import http_error
from api.spend import settled_spend
from models.costs import totals

BREAKDOWNS = ("model", "organization", "provider", "key", "session", "project")
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
    # The project is folded from the sessions' sums.
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

