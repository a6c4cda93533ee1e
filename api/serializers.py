"""JSON field names of the dashboard API, chosen here once: each shape in its own headed section."""
import datetime
import heapq

from api.json_fragments import fragment
from api.params import iso
from models.costs import Spend
from models.pricing import Cost
from models.quota import BY
from models import bounded_json
from models.settings import BODY_CAPTURE, BODY_MAX_BYTES, REQUEST_HEADER_RULES, RESPONSE_HEADER_RULES

# ── Settings: the contract's ProxySettings and HeaderRule, plus body capture ──────────────────

# JSON field -> saved setting key
HEADER_RULE_FIELDS = {"requestHeaderRules": REQUEST_HEADER_RULES, "responseHeaderRules": RESPONSE_HEADER_RULES}
CAPTURE_FIELDS = {"bodyCapture": BODY_CAPTURE, "bodyMaxBytes": BODY_MAX_BYTES}
SETTINGS_FIELDS = {**HEADER_RULE_FIELDS, **CAPTURE_FIELDS}


def settings_json(saved: dict) -> dict:
    """ProxySettings from the saved settings; every rule has all five fields."""
    result = {field: [_rule_json(rule) for rule in saved.get(key, [])]
              for field, key in HEADER_RULE_FIELDS.items()}
    result.update({field: saved.get(key) for field, key in CAPTURE_FIELDS.items()})
    return result


def _rule_json(rule: dict) -> dict:
    return {"header": rule.get("header", ""), "action": rule.get("action", ""), "value": rule.get("value", ""),
            "find": rule.get("find", ""), "enabled": rule.get("enabled", True)}


# ── Records: the contract's RequestLog, ResponseLog, RateLimitInfo, RequestSummary ───────────

RATE_LIMIT_FIELDS = {
    "organizationId": "organization_id", "requestsLimit": "requests_limit",
    "requestsRemaining": "requests_remaining", "requestsReset": "requests_reset",
    "tokensLimit": "tokens_limit", "tokensRemaining": "tokens_remaining", "tokensReset": "tokens_reset",
    "unifiedStatus": "unified_status", "unifiedUtilization5h": "unified_5h_utilization",
    "unifiedReset5h": "unified_5h_reset", "unifiedUtilization7d": "unified_7d_utilization",
    "unifiedReset7d": "unified_7d_reset",
}


def usage(row) -> dict:
    """AnthropicUsage of a record, with the detail pricing reads (`cache_creation` is null on records
    made before the split was recorded)."""
    split = None
    if row.cache_write_1h_tokens is not None:
        split = {"ephemeral_5m_input_tokens": row.cache_write_5m_tokens,
                 "ephemeral_1h_input_tokens": row.cache_write_1h_tokens}
    return {"input_tokens": row.input_tokens, "output_tokens": row.output_tokens,
            "cache_creation_input_tokens": row.cache_creation_input_tokens,
            "cache_read_input_tokens": row.cache_read_input_tokens, "service_tier": row.service_tier,
            "cache_creation": split,
            "server_tool_use": {"web_search_requests": row.web_search_requests,
                                "web_fetch_requests": row.web_fetch_requests},
            "inference_geo": row.inference_geo, "speed": row.speed,
            "iterations": _json(row.iterations) if row.iterations else None}


def _model(row) -> str | None:
    return row.routed_model or row.original_model


def request_log(row, body=None, priced=None) -> dict:
    """A RequestLog: contract fields, plus outcome, usage, timings, session, (with `priced`, a Cost) its
    cost and (with `body`) the bodies."""
    response = {
        "statusCode": row.status_code, "responseTime": row.response_time_ms,
        "timeToFirstByte": row.ttfb_ms, "isStreaming": row.is_streaming,
        "completedAt": iso(row.completed_at_ms), "streamError": row.stream_error,
        "outcome": row.outcome, "stopReason": row.stop_reason, "usage": usage(row),
        "upstreamRequestId": row.upstream_request_id, "bytes": row.response_bytes,
        "bodyTruncated": row.response_body_truncated,
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
        "requestBodyTruncated": row.request_body_truncated, "bodiesOmitted": row.bodies_omitted,
        "response": response,
    }
    if priced is not None:
        result["cost"] = cost(priced)
    if body is not None:  # a models.record_bodies.RecordBody; the answer goes through json_response
        result["headers"] = _stored_json(body, "request_headers")
        result["body"] = _stored_json(body, "request_body")
        response["headers"] = _stored_json(body, "response_headers")
        response["body"] = _stored_json(body, "response_body")
        response["message"] = _stored_json(body, "response_message")
    return result


def request_summary(row, priced=None) -> dict:
    """A RequestSummary: what a list row shows (with `priced`, a Cost, its cost)."""
    result = {
        "requestId": row.id, "timestamp": iso(row.timestamp_ms), "method": row.method,
        "endpoint": row.endpoint, "model": _model(row), "originalModel": row.original_model,
        "routedModel": row.routed_model, "statusCode": row.status_code,
        "responseTime": row.response_time_ms, "timeToFirstByte": row.ttfb_ms, "usage": usage(row),
        "conversationHash": row.conversation_hash, "messageCount": row.message_count,
        "stopReason": row.stop_reason, "outcome": row.outcome, "isStreaming": row.is_streaming,
        "organizationId": row.organization_id, "sessionId": row.session_id, "provider": row.provider,
        "agentId": row.agent_id, "apiKeyFingerprint": row.api_key_fingerprint,
    }
    if priced is not None:
        result["cost"] = cost(priced)
    return result


# ── Cost: money by token kind and how sure it is (CostBreakdown) ──────────────────────────────

def cost(value) -> dict:
    """A CostBreakdown of a models.pricing.Cost: US dollars by token kind, and what is estimated or unpriced."""
    return {"total": _usd(value.total), "input": _usd(value.input), "output": _usd(value.output),
            "cacheRead": _usd(value.cache_read), "cacheWrite5m": _usd(value.cache_write_5m),
            "cacheWrite1h": _usd(value.cache_write_1h), "webSearch": _usd(value.web_search),
            "priced": value.priced, "unpricedRequests": value.unpriced_requests,
            "unpricedTokens": value.unpriced_tokens, "unpricedModels": sorted(value.unpriced_models),
            "estimatedRequests": value.estimated_requests, "longContextRequests": value.long_context_requests}


def _usd(amount: float) -> float:
    return round(amount, 6)


_EMPTY_COST = Cost()
_EMPTY_SPEND = Spend()


# ── Cache economics: hit rate, savings, write cost; cache breaks (CacheEconomics, CacheBreak) ─

SESSIONS_SHOWN = 100
BREAKS_SHOWN = 500


def cache_health(value) -> dict:
    """CacheHealth of a Spend: hit rate, tokens read and written, what writes cost and reads saved."""
    tokens, priced = value.tokens, value.cost
    return {"requests": priced.requests, "hitRate": round(tokens.cache_read / tokens.prompt, 4) if tokens.prompt else None,
            "inputTokens": tokens.input, "cacheReadTokens": tokens.cache_read,
            "cacheWrite5mTokens": tokens.cache_write_5m, "cacheWrite1hTokens": tokens.cache_write_1h,
            "writeCost": _usd(priced.cache_write_5m + priced.cache_write_1h), "readCost": _usd(priced.cache_read),
            "savings": _usd(priced.cache_savings), "priced": priced.priced,
            "estimatedRequests": priced.estimated_requests}


def cache_break(found) -> dict:
    """A CacheBreak: the request, the one before it with the warm prefix, the probable cause, the cost."""
    return {"requestId": found.turn.request_id, "previousRequestId": found.previous.request_id,
            "timestamp": iso(found.turn.at_ms), "agentId": found.turn.agent, "model": found.turn.model,
            "servedModel": found.turn.served_model, "previousServedModel": found.previous.served_model,
            "cause": found.cause, "gapSeconds": round((found.turn.at_ms - found.previous.at_ms) / 1000),
            "lostTokens": found.lost_tokens, "cost": None if found.cost is None else _usd(found.cost)}


def cache_economics(days, by_day: dict, by_model: dict, by_session: dict, breaks, cut: bool) -> dict:
    """CacheEconomics: health per day, model and session (the most written first), and the breaks, newest first."""
    sessions = sorted(by_session.items(), key=lambda item: -(item[1].cost.cache_write_5m + item[1].cost.cache_write_1h))
    return {
        "byDay": [{"date": day.isoformat(), **cache_health(by_day.get(index, _EMPTY_SPEND))}
                  for index, day in enumerate(days)],
        "byModel": [{"model": model or "unknown", **cache_health(value)} for model, value in sorted(
            by_model.items(), key=lambda item: -item[1].tokens.total)],
        "bySession": [{"sessionId": session, **cache_health(value)} for session, value in sessions[:SESSIONS_SHOWN]],
        "breaks": [{"sessionId": session, **cache_break(found)} for session, found in breaks[:BREAKS_SHOWN]],
        "breakCount": len(breaks),
        "breaksCost": _usd(sum(found.cost or 0.0 for _, found in breaks)),
        "breaksCut": cut,
    }


# ── Rate limits: the latest unified windows per organization and their history ────────────────

def rate_limit_latest(row) -> dict:
    """RateLimitInfo of an organization's newest record, with when it was seen."""
    result = {name: getattr(row, column) for name, column in RATE_LIMIT_FIELDS.items()}
    result.update(timestamp=iso(row.timestamp_ms), requestId=row.id)
    return result


def rate_limit_point(row: dict, start: str) -> dict:
    """One bucket of the rate-limit history: the utilisation an organization last reported in it."""
    return {"start": start, "organizationId": row["org"], "unifiedUtilization5h": row["five_hour"],
            "unifiedUtilization7d": row["seven_day"]}


ATTRIBUTED_SHOWN = 200


def window_usage_of(org: str, windows, prediction, cut: bool, projects: dict, show=None) -> dict:
    """One organization's WindowUsage: its windows newest first, with totals, rises and the forecast;
    `projects` maps session ids to working directories; `show(window, make)` may keep what
    `make(window)` gives for a window that no longer changes."""
    show = show or (lambda window, make: make(window))
    newest = len(windows) - 1
    return {"organizationId": org, "reportsCut": cut, "windows": [
        _window(window, prediction, projects) if index == newest else
        show(window, lambda shown: _window(shown, None, projects))
        for index, window in reversed(list(enumerate(windows)))]}


def _window(window, prediction, projects: dict) -> dict:
    rises = window.largest(ATTRIBUTED_SHOWN)
    return {
        "start": iso(window.start_ms), "reset": iso(window.reset_ms), "utilization": window.utilization,
        "attributed": round(window.rise(), 6), "uncertain": round(window.rise(uncertain_only=True), 6),
        "requests": len(window.items),
        **{f"by{by.capitalize()}": [{"key": entry[by], "rise": round(entry["rise"], 6),
                                      "uncertain": round(entry["uncertain"], 6), "requests": entry["requests"]}
                                     for entry in window.totals(by, projects)] for by in BY},
        "rises": [{"requestId": item.report.request_id, "timestamp": iso(item.report.reported_ms),
                   "rise": round(item.rise, 6), "utilization": item.report.utilization,
                   "sessionId": item.report.session, "agentId": item.report.agent, "model": item.report.model,
                   "uncertain": list(item.uncertain)} for item in rises],
        "forecast": None if prediction is None else {
            "utilization": prediction.utilization, "ratePerHour": round(prediction.rate_per_hour, 6),
            "fullAt": iso(prediction.full_at_ms), "beforeReset": prediction.before_reset},
    }


def _json(text):
    """Stored JSON text back to JSON; other text (an SSE stream, a non-JSON body, JSON nested too deep
    to encode again) stays a string."""
    if text is None or text == "":
        return text
    try:
        return bounded_json.loads(text)
    except ValueError:
        return text


def _stored_json(body, name: str):
    """A stored field as `_json` reads its text; JSON is embedded as stored (api.json_fragments)."""
    return fragment(body.raw[name]) or _json(body.text(name))


# ── Stats: the contract's UsageStats, DashboardStats, HourlyStatsResponse, ModelStatsResponse ─────

def usage_stats(spend: dict, start, end) -> dict:
    """UsageStats of per-model spend (model -> models.costs.Spend) over [start, end] (datetimes, or None
    where open), with the cost of each model and of all."""
    by_model = {}
    for model, value in spend.items():
        tokens = value.tokens
        by_model[model or "unknown"] = {
            "request_count": value.cost.requests, "input_tokens": tokens.input, "output_tokens": tokens.output,
            "cache_tokens": tokens.cache_read + tokens.cache_write_5m + tokens.cache_write_1h,
            "cost": cost(value.cost)}
    return {
        "total_requests": sum(m["request_count"] for m in by_model.values()),
        "total_input_tokens": sum(m["input_tokens"] for m in by_model.values()),
        "total_output_tokens": sum(m["output_tokens"] for m in by_model.values()),
        "total_cache_tokens": sum(m["cache_tokens"] for m in by_model.values()),
        "total_cost": cost(_sum_costs(value.cost for value in spend.values())),
        "requests_by_model": by_model,
        "start_date": start.isoformat() if start else None, "end_date": end.isoformat() if end else None}


def daily_stats(days, spend: dict) -> dict:
    """DashboardStats: an entry per local day (dates) from spend per (day index, model), per model too."""
    daily = [{"date": day.isoformat(), "tokens": 0, "requests": 0, "models": {}, "modelCosts": {}} for day in days]
    costs = [[] for _ in days]
    for (bucket, model), value in spend.items():
        if bucket is None:
            continue
        entry, name = daily[int(bucket)], model or "unknown"
        entry["tokens"] += value.tokens.total
        entry["requests"] += value.cost.requests
        entry["models"][name] = entry["models"].get(name, 0) + value.tokens.total
        entry["modelCosts"][name] = _usd(entry["modelCosts"].get(name, 0) + value.cost.total)
        costs[int(bucket)].append(value.cost)
    for entry, day_costs in zip(daily, costs):
        entry["cost"] = cost(_sum_costs(day_costs))
    return {"dailyStats": daily}


def hourly_stats(labels, spend: dict) -> dict:
    """HourlyStatsResponse: an entry per bucket (labelled by its local start) with its tokens, requests
    and cost, the range's totals and mean time; `spend` is per (bucket index, model)."""
    hourly = [{"hour": moment.hour, "label": moment.strftime("%H:%M"), "start": moment.isoformat(),
               "tokens": 0, "requests": 0, "cost": 0.0} for moment in labels]
    for (bucket, _model), value in spend.items():
        if bucket is not None and 0 <= int(bucket) < len(hourly):
            entry = hourly[int(bucket)]
            entry.update(tokens=entry["tokens"] + value.tokens.total, requests=entry["requests"] + value.cost.requests,
                         cost=_usd(entry["cost"] + value.cost.total))
    time_sum, timed = sum(value.time_sum_ms for value in spend.values()), sum(value.timed for value in spend.values())
    return {"hourlyStats": hourly, "todayTokens": sum(h["tokens"] for h in hourly),
            "todayRequests": sum(h["requests"] for h in hourly),
            "todayCost": cost(_sum_costs(value.cost for value in spend.values())),
            "avgResponseTime": round(time_sum / timed) if timed else 0}


def model_stats(spend: dict) -> dict:
    """ModelStatsResponse: tokens, requests and cost per model (model -> Spend), most tokens first."""
    stats = [{"model": model or "unknown", "requests": value.cost.requests, "tokens": value.tokens.total,
              "cost": cost(value.cost)} for model, value in spend.items()]
    return {"modelStats": sorted(stats, key=lambda s: (-s["tokens"], s["model"]))}


def cost_breakdown(by: str, spend: dict, labels: dict | None = None, limit: int | None = None) -> dict:
    """CostBreakdownResponse: spend per key of `by` (key -> Spend), the `limit` most expensive first,
    and the total over every key."""
    labels = labels or {}
    ranked = heapq.nsmallest(limit if limit is not None else len(spend), spend.items(), key=lambda item: (
        -item[1].cost.total, -item[1].tokens.total, str(item[0])))
    rows = [{"key": key, "label": labels.get(key), "requests": value.cost.requests, "tokens": value.tokens.total,
             "cost": cost(value.cost)} for key, value in ranked]
    every = spend.values()
    return {"by": by, "rows": rows, "keyCount": len(spend), "rowsCut": len(rows) < len(spend), "total": {
        "requests": sum(value.cost.requests for value in every), "tokens": sum(value.tokens.total for value in every),
        "cost": cost(_sum_costs(value.cost for value in every))}}


def _sum_costs(costs):
    total = None
    for value in costs:
        total = value if total is None else total + value
    return total if total is not None else _EMPTY_COST


# ── Conversations: the contract's conversation list, one session in full ─────────────────────

def conversation_row(session) -> dict:
    """A conversation list row: the contract's fields, plus its project folder, title and source."""
    return {
        "id": session.id, "requestCount": session.request_count, "startTime": iso(session.start_ms),
        "lastActivity": iso(session.last_ms), "duration": session.duration_ms,
        "firstMessage": session.first_message or "", "projectPath": session.project_path or "",
        "projectName": session.project_name, "model": session.model or "",
        "project": session.project, "models": list(session.models), "title": session.title,
        "subagentCount": session.subagent_count, "skippedLines": session.skipped_lines, "source": session.source,
        "cost": cost(session.cost) if session.cost is not None else None,
    }


def conversation_page(sessions, total: int, page: int, limit: int) -> dict:
    """The getConversations answer."""
    return {"conversations": [conversation_row(s) for s in sessions], "hasMore": page * limit < total,
            "total": total, "page": page, "limit": limit}


def project_conversations(folder: str, sessions) -> dict:
    """The getConversationsByProject answer."""
    rows = [conversation_row(s) for s in sessions]
    path = next((row["projectPath"] for row in rows if row["projectPath"]), "")
    return {"project": folder, "projectPath": path, "projectName": rows[0]["projectName"] if rows else folder,
            "conversations": rows, "total": len(rows)}


def conversation(found, costs: dict | None = None, breaks=()) -> dict:
    """The getConversationByID answer: the row, the thread in order, subagents, usage, record ids and
    (`costs`: agent id, None for the main thread -> Cost) what the session and each subagent cost."""
    records = found.record_by_upstream_id
    thread = found.thread
    result = conversation_row(found.summary)
    result.update({
        "messages": [_thread_entry(entry, records) for entry in thread.entries],
        "events": thread.events,
        "subagents": [_subagent(sub, records) for sub in found.subagents],
        "usage": found.usage, "apiMessageCount": thread.request_count,
        "partialLastLine": thread.partial_tail,
        "requestIds": [ref.id for ref in found.records],
        "records": [{"requestId": ref.id, "timestamp": iso(ref.timestamp_ms), "model": ref.model,
                     "agentId": ref.agent_id, "upstreamRequestId": ref.upstream_request_id, "usage": ref.usage}
                    for ref in found.records],
    })
    if costs:
        result["threadCost"] = cost(costs[None])
        result["cost"] = cost(_sum_costs(costs.values()))
        _add_subagent_costs(result, costs)
    result["cacheBreaks"] = [cache_break(found_break) for found_break in breaks]
    return result


def _add_subagent_costs(node: dict, costs: dict) -> None:
    # Subagents hang on the message that spawned them (or, unmatched, on the conversation).
    for sub in node.get("subagents", ()):
        if sub["agentId"] in costs:
            sub["cost"] = cost(costs[sub["agentId"]])
        _add_subagent_costs(sub, costs)
    for message in node.get("messages", ()):
        _add_subagent_costs(message, costs)


def _thread_entry(entry, records: dict) -> dict:
    result = {
        "type": entry.type, "uuid": entry.uuid, "parentUuid": entry.parent_uuid, "uuids": entry.uuids,
        "timestamp": iso(entry.timestamp_ms), "role": entry.role, "content": entry.content,
        "isMeta": entry.is_meta, "isSidechain": entry.is_sidechain,
    }
    if entry.type == "assistant":
        result.update({"model": entry.model, "messageId": entry.message_id, "usage": entry.usage,
                       "stopReason": entry.stop_reason, "upstreamRequestId": entry.upstream_request_id,
                       "requestId": records.get(entry.upstream_request_id)})
    if entry.data is not None:
        result["data"] = entry.data
    if entry.subagents:
        result["subagents"] = [_subagent(sub, records) for sub in entry.subagents]
    return result


def _subagent(thread, records: dict) -> dict:
    return {"agentId": thread.agent_id, "toolUseId": thread.spawned_by, "requestCount": thread.request_count,
            "usage": thread.usage, "skippedLines": thread.skipped,
            "messages": [_thread_entry(entry, records) for entry in thread.entries]}


# ── Prices: the price book in force (PriceBook, PriceRates) ─────────────────────────────────────

def price_book(pricing) -> dict:
    """The price book in force (GET /api/prices)."""
    book = pricing.book
    return {
        "sources": [str(source) for source in book.sources],
        "webSearchPer1000": book.web_search_per_1000,
        "batchMultiplier": book.batch_multiplier,
        "models": [{"family": family, "aliases": list(rows[-1].aliases),
                    "rows": [_price_row(row) for row in rows]} for family, rows in sorted(book.families.items())],
        "providers": [{"provider": name, "kind": declared.kind,
                       "models": [{"model": row.family, **_rates(row.rates)} for row in declared.rows.values()]}
                      for name, declared in sorted(pricing.providers.items())],
    }


def _price_row(row) -> dict:
    result = {"from": datetime.datetime.fromtimestamp(row.from_ms / 1000, datetime.timezone.utc).date().isoformat(),
              **_rates(row.rates), "inferenceGeo": dict(row.inference_geo), "fast": row.fast,
              "webSearchPer1000": row.web_search_per_1000, "longContext": None}
    if row.long_context is not None:
        result["longContext"] = {"above": row.long_context_above, **_rates(row.long_context)}
    return result


def _rates(rates) -> dict:
    return {"input": rates.input, "output": rates.output, "cacheRead": rates.cache_read,
            "cacheWrite5m": rates.cache_write_5m, "cacheWrite1h": rates.cache_write_1h}
