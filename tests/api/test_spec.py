"""The served OpenAPI spec covers the contract, documents every route, and is valid OpenAPI 3.0."""
import re

import pytest
import yaml
from openapi_spec_validator import validate

# Every operation of the contract (method, path, operationId, parameters), written out here so a
# change to the spec cannot quietly drop one.
OPERATIONS = [
    ("POST", "/v1/messages", "createMessage", ()),
    ("POST", "/v1/chat/completions", "chatCompletions", ()),
    ("GET", "/v1/models", "listModels", ()),
    ("GET", "/health", "healthCheck", ()),
    ("GET", "/livez", "livenessProbe", ()),
    ("GET", "/openapi.json", "getOpenAPISpec", ()),
    ("GET", "/openapi.yaml", "getOpenAPISpecYAML", ()),
    ("GET", "/api/requests", "getRequests", ("page", "limit", "model")),
    ("DELETE", "/api/requests", "deleteRequests", ()),
    ("GET", "/api/requests/summary", "getRequestsSummary", ("model", "start", "end", "offset", "limit")),
    ("GET", "/api/requests/latest-date", "getLatestRequestDate", ()),
    ("GET", "/api/requests/{id}", "getRequestByID", ("id",)),
    ("GET", "/api/stats", "getStats", ("start_date", "end_date", "model", "org")),
    ("GET", "/api/stats/dashboard", "getDashboardStats", ("start", "end", "org")),
    ("GET", "/api/stats/hourly", "getHourlyStats", ("start", "end", "bucket", "org")),
    ("GET", "/api/stats/models", "getModelStats", ("start", "end", "org")),
    ("GET", "/api/stats/organizations", "getOrganizations", ()),
    ("GET", "/api/conversations", "getConversations", ("model", "page", "limit")),
    ("GET", "/api/conversations/{id}", "getConversationByID", ("id", "project")),
    ("GET", "/api/conversations/project", "getConversationsByProject", ("project",)),
    ("GET", "/api/settings", "getSettings", ()),
    ("PUT", "/api/settings", "saveSettings", ()),
]
# Operations not built yet (none left since the conversations issue, #6). This set must only shrink.
PENDING = set()

SCHEMA_FIELDS = {
    "ErrorResponse": ("error", "details"),
    "HealthResponse": ("status", "timestamp"),
    "DrainingResponse": ("status", "timestamp", "in_flight"),
    "LivezResponse": ("status", "timestamp", "in_flight", "draining"),
    "AnthropicRequest": ("model", "messages", "max_tokens", "temperature", "system", "stream", "tools", "tool_choice"),
    "AnthropicMessage": ("role", "content"),
    "SystemMessage": ("type", "text", "cache_control"),
    "Tool": ("name", "description", "input_schema"),
    "AnthropicResponse": ("id", "type", "role", "model", "stop_reason", "stop_sequence", "content", "usage"),
    "AnthropicUsage": ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                       "service_tier"),
    "ModelsResponse": ("object", "data"),
    "RequestLog": ("requestId", "timestamp", "method", "endpoint", "model", "originalModel", "routedModel",
                   "userAgent", "contentType", "conversationHash", "messageCount", "organizationId", "response"),
    "ResponseLog": ("statusCode", "responseTime", "isStreaming", "completedAt", "streamError", "rateLimit"),
    "RateLimitInfo": ("organizationId", "requestsLimit", "requestsRemaining", "requestsReset", "tokensLimit",
                      "tokensRemaining", "tokensReset", "unifiedStatus", "unifiedUtilization5h", "unifiedReset5h",
                      "unifiedUtilization7d", "unifiedReset7d"),
    "RequestSummary": ("requestId", "timestamp", "method", "endpoint", "model", "originalModel", "routedModel",
                       "statusCode", "responseTime", "usage", "conversationHash", "messageCount", "stopReason"),
    "UsageStats": ("total_requests", "total_input_tokens", "total_output_tokens", "total_cache_tokens",
                   "requests_by_model", "start_date", "end_date"),
    "DashboardStats": ("dailyStats",),
    "HourlyStatsResponse": ("hourlyStats", "todayTokens", "todayRequests", "avgResponseTime"),
    "ModelStatsResponse": ("modelStats",),
    "ProxySettings": ("requestHeaderRules", "responseHeaderRules"),
    "HeaderRule": ("header", "action", "value", "find", "enabled"),
    "ConversationSummary": ("id", "requestCount", "startTime", "lastActivity", "duration", "firstMessage",
                            "projectPath", "projectName", "model"),
    "ConversationList": ("conversations", "hasMore", "total", "page", "limit"),
}


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.json


def test_the_spec_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.0")
    validate(spec)


def test_every_contract_operation_is_served_with_its_parameters(spec):
    for method, path, operation_id, parameters in OPERATIONS:
        if operation_id in PENDING:
            assert path not in spec["paths"], f"{operation_id} is served now: remove it from PENDING"
            continue
        operation = spec["paths"][path][method.lower()]
        assert operation["operationId"] == operation_id
        names = {p["name"] if "name" in p else p["$ref"].rsplit("/", 1)[1] for p in operation.get("parameters", [])}
        assert set(parameters) <= names, f"{operation_id} lacks {set(parameters) - names}"


def test_every_contract_schema_field_is_present(spec):
    schemas = spec["components"]["schemas"]
    for name, fields in SCHEMA_FIELDS.items():
        assert set(fields) <= set(schemas[name]["properties"]), name


def test_what_the_project_adds_is_documented(spec):
    assert "tz" in spec["components"]["parameters"]
    assert "/v1/{subpath}" in spec["paths"]
    assert "timeToFirstByte" in spec["components"]["schemas"]["ResponseLog"]["properties"]


def test_every_route_of_the_app_is_documented(app, spec):
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"].get(path, {}), f"{method} {rule.rule} is undocumented"


def test_yaml_and_json_are_the_same_document(client, spec):
    response = client.get("/openapi.yaml")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert yaml.safe_load(response.data) == spec


def test_every_operation_has_the_standard_error_responses(spec):
    """Added by api/spec.py, so docstrings do not repeat them: 400 where an operation takes parameters or
    a body, 401 where the dashboard password guards it, 500 everywhere."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert responses["500"] == {"$ref": "#/components/responses/InternalError"}, where
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in responses, where
            if {"dashboardBasicAuth": []} in operation.get("security", []):
                assert responses["401"] == {"$ref": "#/components/responses/Unauthorized"}, where
            else:
                assert "401" not in responses, where


def test_the_proxys_own_v1_errors_are_documented_in_their_shape(spec):
    """What /v1/messages answers itself is an ErrorResponse described for its status (not "Bad input");
    a web page's request is refused in the Anthropic API's own shape."""
    responses = spec["components"]["responses"]
    documented = {status: ref["$ref"].rsplit("/", 1)[1]
                  for status, ref in spec["paths"]["/v1/messages"]["post"]["responses"].items() if "$ref" in ref}
    assert documented == {"400": "BadRequest", "403": "WebPageRefused", "408": "RequestTimeout",
                          "413": "PayloadTooLarge", "500": "InternalError", "502": "BadGateway", "504": "GatewayTimeout"}
    for status, name in documented.items():
        shape = "AnthropicError" if status == "403" else "ErrorResponse"
        schema = responses[name]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{shape}"}, status


def test_cost_fields_and_endpoints_are_documented(spec):
    schemas = spec["components"]["schemas"]
    assert {"total", "input", "output", "cacheRead", "cacheWrite5m", "cacheWrite1h", "webSearch", "priced",
            "unpricedRequests", "unpricedTokens", "estimatedRequests"} <= set(schemas["CostBreakdown"]["properties"])
    for name in ("RequestLog", "RequestSummary"):
        assert schemas[name]["properties"]["cost"] == {"$ref": "#/components/schemas/CostBreakdown"}
    assert {"cache_creation", "server_tool_use", "inference_geo", "speed", "iterations"} <= set(
        schemas["AnthropicUsage"]["properties"])
    assert "total_cost" in schemas["UsageStats"]["properties"]
    assert {"cost", "modelCosts"} <= set(schemas["DashboardStats"]["properties"]["dailyStats"]["items"]["properties"])
    assert "todayCost" in schemas["HourlyStatsResponse"]["properties"]
    assert "cost" in schemas["ModelStatsResponse"]["properties"]["modelStats"]["items"]["properties"]
    breakdown = spec["paths"]["/api/stats/costs"]["get"]
    assert breakdown["operationId"] == "getCostBreakdown" and "400" in breakdown["responses"]
    assert spec["paths"]["/api/prices"]["get"]["operationId"] == "getPrices"
    assert "cost" in schemas["ConversationSubagent"]["properties"]
    conversation = schemas["Conversation"]["allOf"][1]["properties"]
    assert {"cost", "threadCost"} <= set(conversation)
    assert spec["paths"]["/api/cache"]["get"]["operationId"] == "getCacheEconomics"
    assert spec["paths"]["/api/ratelimits/usage"]["get"]["operationId"] == "getWindowUsage"
    assert {"byDay", "byModel", "bySession", "breaks", "breaksCut"} <= set(schemas["CacheEconomics"]["properties"])
