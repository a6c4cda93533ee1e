"""One structured line per proxied request (JSON on the `proxy.access` logger), never a secret."""
import json
import logging

log = logging.getLogger("proxy.access")


def log_exchange(exchange) -> None:
    """Log the finished exchange: id, method, path, models, status, outcome, timings, tokens."""
    if not log.isEnabledFor(logging.INFO):
        return
    usage = exchange.usage
    log.info(json.dumps({
        "id": exchange.id, "method": exchange.method, "path": exchange.endpoint,
        "model": exchange.info.model, "routed_model": exchange.routed_model or exchange.info.model,
        "provider": exchange.provider, "routing_rule": exchange.routing_rule,
        "status": exchange.status_code, "outcome": exchange.outcome,
        "duration_ms": exchange.response_time_ms, "ttfb_ms": exchange.ttfb_ms,
        "stream": exchange.info.stream, "session": exchange.info.session_id,
        "input_tokens": usage.get("input_tokens"), "output_tokens": usage.get("output_tokens"),
        "cache_read_tokens": usage.get("cache_read_input_tokens"),
        "cache_creation_tokens": usage.get("cache_creation_input_tokens"),
        "error": exchange.error,
    }, separators=(",", ":")))
