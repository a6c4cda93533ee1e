"""JSON field names of records: the contract's RequestLog, ResponseLog, RateLimitInfo, RequestSummary."""
import json

from api.params import iso

RATE_LIMIT_FIELDS = {
    "organizationId": "organization_id", "requestsLimit": "requests_limit",
    "requestsRemaining": "requests_remaining", "requestsReset": "requests_reset",
    "tokensLimit": "tokens_limit", "tokensRemaining": "tokens_remaining", "tokensReset": "tokens_reset",
    "unifiedStatus": "unified_status", "unifiedUtilization5h": "unified_5h_utilization",
    "unifiedReset5h": "unified_5h_reset", "unifiedUtilization7d": "unified_7d_utilization",
    "unifiedReset7d": "unified_7d_reset",
}


def usage(row) -> dict:
    """AnthropicUsage of a record."""
    return {"input_tokens": row.input_tokens, "output_tokens": row.output_tokens,
            "cache_creation_input_tokens": row.cache_creation_input_tokens,
            "cache_read_input_tokens": row.cache_read_input_tokens, "service_tier": row.service_tier}


def _model(row) -> str | None:
    return row.routed_model or row.original_model


def request_log(row, body=None) -> dict:
    """A RequestLog: contract fields, plus outcome, usage, timings, session and (with `body`) the bodies."""
    response = {
        "statusCode": row.status_code, "responseTime": row.response_time_ms,
        "timeToFirstByte": row.ttfb_ms, "isStreaming": row.is_streaming,
        "completedAt": iso(row.completed_at_ms), "streamError": row.stream_error,
        "outcome": row.outcome, "stopReason": row.stop_reason, "usage": usage(row),
        "upstreamRequestId": row.upstream_request_id, "bytes": row.response_bytes,
        "rateLimit": {name: getattr(row, column) for name, column in RATE_LIMIT_FIELDS.items()},
    }
    result = {
        "requestId": row.id, "timestamp": iso(row.timestamp_ms), "method": row.method,
        "endpoint": row.endpoint, "query": row.query, "model": _model(row),
        "originalModel": row.original_model, "routedModel": row.routed_model,
        "provider": row.provider, "routingRule": row.routing_rule,
        "userAgent": row.user_agent, "contentType": row.content_type,
        "conversationHash": row.conversation_hash, "messageCount": row.message_count,
        "organizationId": row.organization_id, "sessionId": row.session_id, "agentId": row.agent_id,
        "apiKeyFingerprint": row.api_key_fingerprint, "requestBytes": row.request_bytes,
        "response": response,
    }
    if body is not None:
        result["headers"] = _json(body.request_headers)
        result["body"] = _json(body.request_body)
        response["headers"] = _json(body.response_headers)
        response["body"] = _json(body.response_body)
        response["message"] = _json(body.response_message)
    return result


def request_summary(row) -> dict:
    """A RequestSummary: what a list row shows."""
    return {
        "requestId": row.id, "timestamp": iso(row.timestamp_ms), "method": row.method,
        "endpoint": row.endpoint, "model": _model(row), "originalModel": row.original_model,
        "routedModel": row.routed_model, "statusCode": row.status_code,
        "responseTime": row.response_time_ms, "timeToFirstByte": row.ttfb_ms, "usage": usage(row),
        "conversationHash": row.conversation_hash, "messageCount": row.message_count,
        "stopReason": row.stop_reason, "outcome": row.outcome, "isStreaming": row.is_streaming,
        "organizationId": row.organization_id, "sessionId": row.session_id,
    }


def _json(text):
    """Stored JSON text back to JSON; other text (an SSE stream, a non-JSON body) stays a string."""
    if text is None or text == "":
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
