"""Request history views: list, summaries, latest date, one request, clear all."""
from flask import jsonify

from api import bp, params
from api.errors import error_response
from api.json_fragments import json_response
from api.prices import current_pricing
from api.serializers import request_log, request_summary
from models import queries
from models.costs import cost_of
from models.record_bodies import record_body

MAX_PAGE = 1000
MAX_SUMMARY = 10_000  # also what limit=0 returns at most: bigger answers froze a worker


@bp.get("/requests")
def list_requests():
    """Logged requests, newest first, a page at a time (without bodies).
    ---
    get:
      operationId: getRequests
      tags: [dashboard]
      summary: List logged requests
      description: Newest first, paged by the database. Bodies are left out; get one request for them.
      parameters:
        - {name: page, in: query, schema: {type: integer, default: 1, minimum: 1}}
        - {name: limit, in: query, schema: {type: integer, default: 10, minimum: 1, maximum: 1000}}
        - model
      responses:
        "200":
          description: Paginated request list
          content:
            application/json:
              schema:
                type: object
                properties:
                  requests: {type: array, items: {$ref: "#/components/schemas/RequestLog"}}
                  total: {type: integer}
    """
    page = params.integer("page", 1, 1, 1_000_000)
    limit = params.integer("limit", 10, 1, MAX_PAGE)
    base = queries.filtered_requests(model=params.text("model"))
    rows = queries.newest_first(base).paginate(page, limit)
    pricing = current_pricing()
    return jsonify(requests=[request_log(row, priced=cost_of(row, pricing)) for row in rows], total=base.count())


@bp.delete("/requests")
def clear_requests():
    """Delete every logged request.
    ---
    delete:
      operationId: deleteRequests
      tags: [dashboard]
      summary: Clear all logged requests
      description: Refused (403) when a browser says the request comes from another site.
      responses:
        "200":
          description: Requests cleared
          content:
            application/json:
              schema:
                type: object
                properties:
                  message: {type: string}
                  deleted: {type: integer}
        "403": {$ref: "#/components/responses/CrossSiteRefused"}
    """
    deleted = queries.delete_all()
    return jsonify(message=f"Deleted {deleted} requests", deleted=deleted)


@bp.get("/requests/summary")
def request_summaries():
    """Lightweight rows for fast list rendering; limit 0 means all (up to MAX_SUMMARY).
    ---
    get:
      operationId: getRequestsSummary
      tags: [dashboard]
      summary: Lightweight request summaries for fast list rendering
      parameters:
        - model
        - {name: start, in: query, schema: {type: string, format: date-time}, description: Start of time range (ISO 8601; a date means local midnight in tz)}
        - {name: end, in: query, schema: {type: string, format: date-time}, description: "End of time range, exclusive (ISO 8601)"}
        - {name: exact_model, in: query, schema: {type: string}, description: "Only this model (requested or routed), exactly"}
        - org
        - {name: status, in: query, schema: {type: string, enum: [1xx, 2xx, 3xx, 4xx, 5xx, in_flight]}, description: "Only this status class, or requests still in flight"}
        - {name: offset, in: query, schema: {type: integer, default: 0, minimum: 0}}
        - {name: limit, in: query, schema: {type: integer, default: 0, minimum: 0, maximum: 10000}, description: "Max results (0 = all, up to 10 000 newest)"}
        - tz
      responses:
        "200":
          description: Paginated request summaries
          content:
            application/json:
              schema:
                type: object
                properties:
                  requests: {type: array, items: {$ref: "#/components/schemas/RequestSummary"}}
                  total: {type: integer}
                  offset: {type: integer}
                  limit: {type: integer}
    """
    tz = params.time_zone()
    start_ms, end_ms = params.range_ms(params.instant("start", tz), params.instant("end", tz))
    offset = params.integer("offset", 0, 0, 100_000_000)
    limit = params.integer("limit", 0, 0, MAX_SUMMARY)
    base = queries.filtered_requests(model=params.text("model"), start_ms=start_ms, end_ms=end_ms,
                                     exact_model=params.text("exact_model"), org=params.organization(),
                                     status_class=params.choice("status", tuple(queries.STATUS_CLASSES)))
    rows, total = queries.page_and_total(base, offset, limit or MAX_SUMMARY)
    pricing = current_pricing()
    return jsonify(requests=[request_summary(row, cost_of(row, pricing)) for row in rows], total=total,
                   offset=offset, limit=limit)


@bp.get("/requests/latest-date")
def latest_date():
    """When the most recent request was logged (null when there is none).
    ---
    get:
      operationId: getLatestRequestDate
      tags: [dashboard]
      summary: Date of the most recent logged request
      responses:
        "200":
          description: OK (latestDate is null when nothing is logged)
          content:
            application/json:
              schema:
                type: object
                properties:
                  latestDate: {type: string, format: date-time, nullable: true}
    """
    return jsonify(latestDate=params.iso(queries.latest_timestamp_ms()))


@bp.get("/requests/<id>")
def get_request(id):  # noqa: A002 - the contract names the path parameter `id`
    """One request with its headers and bodies, by full id or a unique suffix.
    ---
    get:
      operationId: getRequestByID
      tags: [dashboard]
      summary: Get a single request by ID
      description: With redacted headers, the request body and the response (raw and, for streams, reassembled).
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}, description: Full request ID or a unique suffix of it}
      responses:
        "200":
          description: The request, with its full id
          content:
            application/json:
              schema:
                type: object
                properties:
                  request: {$ref: "#/components/schemas/RequestLog"}
                  fullId: {type: string}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    request_id = id
    if not request_id.isalnum() or len(request_id) > 64:
        return error_response(400, "Invalid id", "a request id is letters and digits")
    matches = queries.find_by_id_or_suffix(request_id)
    if not matches:
        return error_response(404, "Request not found", f"no request id ends with {request_id!r}")
    if len(matches) > 1:
        return error_response(400, "Ambiguous id", f"more than one request id ends with {request_id!r}")
    row = matches[0]
    return json_response({"request": request_log(row, record_body(row.id), cost_of(row, current_pricing())),
                          "fullId": row.id})
